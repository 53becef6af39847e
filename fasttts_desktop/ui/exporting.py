"""Export as a job: File > Export Audio… (Ctrl+S) asks where and how, then the export runs beside the
reading with its progress, time left and a Cancel button in the status bar; no dialog stays open.

The window only asks: SpeechService.exports makes and writes the audio (engine thread + encoder thread).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from fasttts_desktop.engine.text.documents import chapter_marks
from fasttts_desktop.ui.export_dialog import ExportChoice, ExportDialog
from fasttts_desktop.ui.export_options import remembered_loudness
from fasttts_desktop.worker.export_control import ExportProgress, ExportRequest, ExportSummary

if TYPE_CHECKING:  # main_window.py imports this module
    from fasttts_desktop.ui.main_window import MainWindow


def clock(seconds: float) -> str:
    """1:05 or 2:03:09."""
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ExportPanel(QWidget):
    """In the status bar while an export runs: what is exported, a bar with the time left, Cancel."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, objectName="export-panel", visible=False)
        self.setAccessibleName("Export")
        self.label = QLabel(objectName="export-label")
        self.label.setAccessibleName("Exporting")
        self.bar = QProgressBar(objectName="save-progress", maximumWidth=200, minimum=0, maximum=0)
        self.bar.setMinimumWidth(150)
        self.bar.setAccessibleName("Export progress")
        self.cancel_button = QToolButton(text="Cancel", objectName="export-cancel", autoRaise=True)
        self.cancel_button.setAccessibleName("Cancel export")
        self.cancel_button.setToolTip("Stop exporting; no file is written")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.label, self.bar, self.cancel_button):
            layout.addWidget(widget)

    def show_progress(self, progress: ExportProgress) -> None:
        self.bar.setRange(0, 1000)
        self.bar.setValue(round(progress.fraction * 1000))
        left = f" · {clock(progress.eta_s)} left" if progress.eta_s is not None else ""
        self.bar.setFormat(f"{progress.fraction:.0%}{left}")
        self.bar.setToolTip(
            f"{clock(progress.audio_s)} of audio written in {clock(progress.elapsed_s)}"
            f" (part {progress.chunks_done} of about {progress.chunks_total})"
        )


class Exporter(QObject):
    """Wires Export Audio… and the export panel into the window (`window.exporter`)."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = w = window
        self.panel = ExportPanel()
        w.save_progress = self.panel.bar  # the name the rest of the window and its tests know
        # Permanent: a menu's status tip (a temporary message) would otherwise hide it while it runs.
        # before the engine's label: permanent widgets sit after the others, in the order added
        bar = w.statusBar()
        bar.removeWidget(w.engine_label)
        bar.addPermanentWidget(self.panel)
        bar.addPermanentWidget(w.engine_label)
        w.engine_label.show()
        self.dialog: ExportDialog | None = None
        self.action = w.commands.export_audio
        self.action.triggered.connect(self.ask)
        w.save_button.clicked.connect(self.action.trigger)
        self.panel.cancel_button.clicked.connect(w.service.exports.cancel)
        exports = w.service.exports
        exports.started.connect(self._on_started)
        exports.progress.connect(self.panel.show_progress)
        exports.finished.connect(self._on_finished)
        exports.failed.connect(self._on_failed)

    # --- asking ---

    @Slot()
    def ask(self) -> ExportDialog | None:
        """Open the export dialog (not modal while the export runs: it closes when the export starts)."""
        if not self._text().strip():
            self.window.show_error("There is no text to export: type or paste some first.")
            return None
        opened = self.window.documents.current
        marks = chapter_marks(opened.document.headings) if opened is not None else ()
        self.dialog = dialog = ExportDialog(self.window.settings, self._name(), len(marks), self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.export(dialog.choice()))
        dialog.finished.connect(lambda _result: setattr(self, "dialog", None))
        dialog.open()
        return dialog

    def export(self, choice: ExportChoice) -> None:
        text = self._text()
        self.window.show_error("")
        if not text.strip():
            self.window.show_error("There is no text to export: type or paste some first.")
            return
        opened = self.window.documents.current
        chapters = chapter_marks(opened.document.headings) if opened is not None and choice.chapters else ()
        self.window.service.exports.save(
            choice.path,
            text,
            self.window.voice(),
            self.window.speed(),
            subtitles=choice.subtitles,
            chapters=chapters,
            title=self._title(),
            format=choice.format,
            loudness=choice.loudness,
            cover=choice.cover,
            source=str(opened.path) if opened is not None else None,
        )

    def export_to(self, path: str) -> None:
        """Export with the format its extension names, no subtitles, chapters where the format has them and
        the loudness last chosen in the dialog."""
        suffix = Path(path).suffix.lower()
        if not suffix:
            path, suffix = path + ".wav", ".wav"
        loudness = remembered_loudness(self.window.settings)
        self.export(ExportChoice(path, suffix.lstrip("."), None, suffix in (".m4b", ".epub"), loudness))

    def _text(self) -> str:
        return self.window.reader.snapshot()[0]

    def _name(self) -> str:
        opened = self.window.documents.current
        if opened is None:
            return "speech"
        name = opened.document.title or Path(opened.path).stem
        return "".join(c if c.isalnum() or c in " -_.,()" else "_" for c in name).strip() or "speech"

    def _title(self) -> str | None:
        opened = self.window.documents.current
        return (opened.document.title or Path(opened.path).stem) if opened is not None else None

    # --- the job ---

    @Slot(object)
    def _on_started(self, request: ExportRequest) -> None:
        name = Path(request.path).name
        # The status bar is shared with the reading's position: a long name is shortened in its middle
        # (whole in the tooltip) rather than cut off at the right.
        label = self.panel.label
        label.setText(label.fontMetrics().elidedText(f"Exporting {name}", Qt.TextElideMode.ElideMiddle, 220))
        label.setToolTip(f"Exporting {request.path}")
        self.panel.bar.setRange(0, 0)
        self.panel.bar.setFormat("")
        self.panel.bar.setToolTip("")
        self.panel.show()
        self.action.setEnabled(False)
        self.action.setToolTip(f"Exporting {name}: cancel it in the status bar first")
        self.window.save_button.setEnabled(False)
        self.window.status_label.setText(f"Exporting {name}… (reading goes on meanwhile)")

    @Slot(object)
    def _on_finished(self, summary: ExportSummary) -> None:
        self._ended()
        parts = [f"{clock(summary.audio_s)} of audio"]
        if summary.chapters and Path(summary.audio_path).suffix.lower() in (".m4b", ".m4a"):
            parts.append(f"{summary.chapters} chapters")
        if summary.reused:
            parts.append("from what was just played")
        if summary.failed_parts:
            parts.append(f"{summary.failed_parts} parts could not be made and are left out")
        subtitles = f" and {Path(summary.subtitles_path).name}" if summary.subtitles_path else ""
        self.window.status_label.setText(
            f"Exported {Path(summary.audio_path).name}{subtitles} ({', '.join(parts)}) "
            f"in {clock(summary.elapsed_s)}."
        )  # the name, not the whole path: the line shares the status bar; the path is in the tooltip
        self.window.status_label.setToolTip(summary.audio_path)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._ended()
        if message:
            self.window.show_error(message)
            self.window.status_label.setText("Could not export.")
        else:
            self.window.status_label.setText("Export cancelled; no file was written.")

    def _ended(self) -> None:
        self.panel.hide()
        self.action.setEnabled(True)
        self.action.setToolTip("Save the text's speech as an audio file (Ctrl+S)")
        self.window.save_button.setEnabled(True)
