"""File > Export Audio…: where to, in which format, with subtitles beside it, with chapter marks.

The format follows the file name's extension as it is typed, and choosing a format changes the extension,
so the two never disagree. Only M4B (and a read-along EPUB) keeps chapters; the box for them is offered
when the text is a document with headings. Loudness and cover: ui/export_options.py. Choices are
remembered (QSettings "export/...").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fasttts_desktop.export import ExportError, check_target
from fasttts_desktop.export.loudness import DEFAULT_LUFS
from fasttts_desktop.ui.export_options import CoverRow, LoudnessRow

# (format name for the writer, label, extension): the formats offered, in the order shown.
FORMATS = (
    ("wav", "WAV (uncompressed)", ".wav"),
    ("flac", "FLAC (lossless)", ".flac"),
    ("mp3", "MP3", ".mp3"),
    ("ogg", "Ogg Vorbis", ".ogg"),
    ("opus", "Opus", ".opus"),
    ("m4b", "M4B audiobook (AAC, chapters)", ".m4b"),
    ("epub", "Read-along EPUB (text with its speech)", ".epub"),
)
_BY_EXTENSION = {ext: name for name, _, ext in FORMATS} | {".oga": "ogg"}
SUBTITLE_FORMATS = (("srt", "SRT"), ("vtt", "WebVTT"))
CHAPTER_FORMATS = ("m4b", "epub")
COVER_FORMATS = ("m4b", "epub")


@dataclass(frozen=True)
class ExportChoice:
    path: str
    format: str
    subtitles: str | None  # the subtitle file's path, beside the audio
    chapters: bool  # mark the document's chapters (M4B; a read-along book's pages)
    loudness: float | None = DEFAULT_LUFS  # normalise to this many LUFS; None: as made
    cover: str | None = None  # a picture for an M4B or read-along book (else an EPUB's own)


class ExportDialog(QDialog):
    def __init__(
        self, settings: QSettings, suggested_name: str, chapters: int, parent: QWidget | None = None
    ):
        super().__init__(parent, objectName="export-dialog")
        self.setWindowTitle("Export Audio")
        self.setAccessibleName("Export audio")
        self.settings = settings
        self._chapters = chapters
        fmt = str(settings.value("export/format", "mp3") or "mp3")
        fmt = fmt if fmt in _BY_EXTENSION.values() else "mp3"
        folder = Path(str(settings.value("export/folder", "") or Path.home()))

        self.path_edit = _named(QLineEdit(objectName="export-path"), "File name", "Where to save the audio")
        self.path_edit.setText(str(folder / f"{suggested_name}{_extension(fmt)}"))
        self.browse_button = _named(
            QPushButton("Browse…", objectName="export-browse"), "Browse", "Choose the folder and file name"
        )
        self.format_box = _named(
            QComboBox(objectName="export-format"), "Format", "Audio format; the file's extension follows it"
        )
        for name, label, _ in FORMATS:
            self.format_box.addItem(label, name)
        self.format_box.setCurrentIndex(self.format_box.findData(fmt))
        self.subtitles_box = _named(
            QCheckBox("&Subtitles beside the audio", objectName="export-subtitles"),
            "Subtitles beside the audio",
            "Also write a subtitle file, one cue per sentence, timed to the speech",
        )
        self.subtitles_box.setChecked(settings.value("export/subtitles", False) in (True, "true"))
        self.subtitle_format = _named(
            QComboBox(objectName="export-subtitle-format"), "Subtitle format", "SRT or WebVTT"
        )
        for name, label in SUBTITLE_FORMATS:
            self.subtitle_format.addItem(label, name)
        self.subtitle_format.setCurrentIndex(
            max(0, self.subtitle_format.findData(settings.value("export/subtitle_format", "srt")))
        )
        self.chapters_box = _named(QCheckBox(objectName="export-chapters"), "Chapter marks")
        self.chapters_box.setChecked(bool(chapters))
        self._want_chapters = bool(chapters)  # the user's choice, kept while a format cannot store marks
        self.chapters_box.toggled.connect(self._chapters_toggled)
        self.loudness = LoudnessRow(settings)
        self.cover = CoverRow()
        self.error_label = _named(QLabel(objectName="export-error", wordWrap=True, visible=False), "Error")
        self.error_label.setStyleSheet("QLabel { color: #8a1c1c; background: #fde8e8; padding: 2px 4px; }")

        file_row = QHBoxLayout()
        file_row.addWidget(self.path_edit, 1)
        file_row.addWidget(self.browse_button)
        subs_row = QHBoxLayout()
        subs_row.addWidget(self.subtitles_box)
        subs_row.addWidget(self.subtitle_format)
        subs_row.addStretch(1)
        form = QFormLayout()
        form.addRow(_label("&File:", self.path_edit), file_row)
        form.addRow(_label("F&ormat:", self.format_box), self.format_box)
        form.addRow(subs_row)
        form.addRow(self.chapters_box)
        form.addRow(_label("&Loudness:", self.loudness.box), self.loudness)
        form.addRow(_label("Co&ver:", self.cover.path_edit), self.cover)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.export_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.export_button.setText("Export")
        self.export_button.setAccessibleName("Export")
        self.export_button.setToolTip("Start the export; reading goes on meanwhile")
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        cancel.setToolTip("Close without exporting")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.resize(520, self.sizeHint().height())

        self.path_edit.textEdited.connect(self._path_edited)
        self.format_box.currentIndexChanged.connect(self._format_chosen)
        self.subtitles_box.toggled.connect(self._update)
        self.browse_button.clicked.connect(self._browse)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        self._update()

    def chosen_format(self) -> str:
        return str(self.format_box.currentData())

    def choice(self) -> ExportChoice:
        path = self.path_edit.text().strip()
        subtitles = None
        if self.subtitles_box.isChecked() and self.subtitles_box.isEnabled():
            subtitles = str(Path(path).with_suffix(f".{self.subtitle_format.currentData()}"))
        chapters = self.chapters_box.isEnabled() and self.chapters_box.isChecked()
        cover = self.cover.path() if self.chosen_format() in COVER_FORMATS else None
        return ExportChoice(path, self.chosen_format(), subtitles, chapters, self.loudness.value(), cover)

    @Slot(str)
    def _path_edited(self, text: str) -> None:
        fmt = _BY_EXTENSION.get(Path(text.strip()).suffix.lower())
        if fmt is not None and fmt != self.chosen_format():
            self.format_box.blockSignals(True)
            self.format_box.setCurrentIndex(self.format_box.findData(fmt))
            self.format_box.blockSignals(False)
        self._update()

    @Slot()
    def _format_chosen(self) -> None:
        text = self.path_edit.text().strip()
        if text:
            path = Path(text)
            if path.suffix.lower() in _BY_EXTENSION or not path.suffix:
                self.path_edit.setText(str(path.with_suffix(_extension(self.chosen_format()))))
        self._update()

    @Slot()
    def _update(self) -> None:
        readalong = self.chosen_format() == "epub"  # its timings are inside it
        self.subtitles_box.setEnabled(not readalong)
        self.subtitle_format.setEnabled(self.subtitles_box.isChecked() and not readalong)
        self.cover.setEnabled(self.chosen_format() in COVER_FORMATS)
        stores = self.chosen_format() in CHAPTER_FORMATS
        n = self._chapters
        counted = f"{n} chapter{'s' * (n != 1)}"
        # What will happen is shown, not only what was chosen: a greyed tick read as "marks will be made".
        box = self.chapters_box
        box.setEnabled(bool(n) and stores)
        box.blockSignals(True)
        box.setChecked(box.isEnabled() and self._want_chapters)
        box.blockSignals(False)
        if not n:
            box.setText("C&hapter marks (the text has no chapters)")
            box.setToolTip("The text has no chapters (open a book or a document with headings)")
        elif not stores:
            box.setText(f"C&hapter marks ({counted}): only M4B and read-along EPUB keep them")
            box.setToolTip("Only M4B files and read-along books keep chapters")
        else:
            box.setText(f"C&hapter marks ({counted})")
            box.setToolTip("Mark each chapter of the document in the audiobook")
        self.error_label.hide()

    @Slot(bool)
    def _chapters_toggled(self, on: bool) -> None:
        self._want_chapters = on

    @Slot()
    def _browse(self) -> None:
        filters = [f"{label} (*{ext})" for name, label, ext in FORMATS]
        current = next(
            f for f, (name, _, _) in zip(filters, FORMATS, strict=True) if name == self.chosen_format()
        )
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export audio as", self.path_edit.text(), ";;".join(filters), current
        )
        if path:
            fmt = next(
                (n for f, (n, _, _) in zip(filters, FORMATS, strict=True) if f == chosen),
                self.chosen_format(),
            )
            if Path(path).suffix.lower() not in _BY_EXTENSION:
                path += _extension(fmt)
            self.path_edit.setText(path)
            self._path_edited(path)

    @Slot()
    def _accept(self) -> None:
        text = self.path_edit.text().strip()
        if not text:
            self._refuse("Give the file a name.")
            return
        path = Path(text).expanduser()
        if path.suffix.lower() not in _BY_EXTENSION:
            path = path.with_name(path.name + _extension(self.chosen_format()))
            self.path_edit.setText(str(path))
        choice = self.choice()
        try:
            for target in (choice.path, choice.subtitles):
                if target:
                    check_target(target)
            self.cover.check()
        except ExportError as exc:
            self._refuse(str(exc))
            return
        s = self.settings
        s.setValue("export/folder", str(path.parent))
        s.setValue("export/format", choice.format)
        s.setValue("export/subtitles", self.subtitles_box.isChecked())
        s.setValue("export/subtitle_format", self.subtitle_format.currentData())
        self.loudness.remember()
        self.accept()

    def _refuse(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()


def _extension(fmt: str) -> str:
    return next(ext for name, _, ext in FORMATS if name == fmt)


def _named(widget, name: str, tip: str = ""):
    widget.setAccessibleName(name)
    if tip:
        widget.setToolTip(tip)
    return widget


def _label(text: str, buddy: QWidget) -> QLabel:
    label = QLabel(text, buddy=buddy)
    label.setAccessibleName(text.replace("&", "").rstrip(":"))
    return label
