"""The window: the reader (text box), voice and speed, playback buttons, menus, the chapters panel and the
status bar. It only shows and asks; SpeechService does the work, Reader decides where reading starts.

The text box is editable only for typed or pasted text while nothing is being read. An opened document is
read-only (edits would move its chapters and its remembered position; File > New Text gives a blank box),
and so is any text while it is being read, since the heard-word offsets refer to the text as sent.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QFont, QIcon
from PySide6.QtWidgets import QMainWindow, QWidget

from fasttts_desktop.engine.text.languages import lang_of_voice
from fasttts_desktop.engine.text.writing_systems import script_warning
from fasttts_desktop.engine.types import MAX_SPEED, MIN_SPEED, AudioChunk
from fasttts_desktop.ui.about import AboutDialog
from fasttts_desktop.ui.actions import build_actions
from fasttts_desktop.ui.bookmarks import Bookmarks
from fasttts_desktop.ui.clipboard_tray import ClipboardAndTray
from fasttts_desktop.ui.desktop_menu import DesktopEntryMenu
from fasttts_desktop.ui.document_opener import OpenedDocument
from fasttts_desktop.ui.engine_reports import EngineReports
from fasttts_desktop.ui.exporting import Exporter
from fasttts_desktop.ui.find_bar import FindBar
from fasttts_desktop.ui.layout import build_widgets
from fasttts_desktop.ui.media_controls import MediaControls
from fasttts_desktop.ui.opening import Documents
from fasttts_desktop.ui.output_menu import OutputMenu
from fasttts_desktop.ui.positions import PositionStore
from fasttts_desktop.ui.reader_view import local_files
from fasttts_desktop.ui.reading import Reader
from fasttts_desktop.ui.reading_options import ReadingOptions
from fasttts_desktop.ui.sleep_timer import SleepTimer
from fasttts_desktop.ui.status_text import (
    describe_failed,
    describe_progress,
    describe_unspoken,
    describe_utterance,
    summarise_utterance,
    unspoken_in,
)
from fasttts_desktop.ui.theme import ColourScheme
from fasttts_desktop.ui.voice_dialogs import VoiceDialogs
from fasttts_desktop.ui.web_page import WebPages
from fasttts_desktop.worker.speech import SpeechService, UtteranceStats

log = logging.getLogger(__name__)

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
TITLE = "FastTTS — text to speech"
_RESTART_AFTER_MS = 400  # a voice or speed change while reading restarts the sentence once it settles


class MainWindow(EngineReports, QMainWindow):
    def __init__(
        self,
        service: SpeechService,
        settings: QSettings,
        parent: QWidget | None = None,
        positions: PositionStore | None = None,
    ):
        super().__init__(parent)
        self.service = service
        self.settings = settings
        self._notices: dict[
            str, str
        ] = {}  # banner lines by source: engine, sound device, load failure, document
        self._saved_voice = str(settings.value("voice", "") or "")
        self._chunks = (0, 0)  # chunks made, expected, of the current utterance
        # By chunk start (a sentence read twice counts once): what this reading could not say, and the
        # parts the engine could not make at all (text, reason).
        self._unspoken: dict[int, list[str]] = {}
        self._failed: dict[int, tuple[str, str]] = {}
        self.setWindowTitle(TITLE)
        self.setWindowIcon(QIcon(str(RESOURCES / "icon.svg")))
        self.setAcceptDrops(True)

        self.commands = build_actions(self)  # not `actions`: QWidget.actions() is taken
        build_widgets(self, self.commands, self._saved_voice, _speed(settings.value("speed", 1.0), 1.0))
        self.reader = Reader(service, self.text_edit, lambda: (self.voice(), self.speed()), self)
        self.documents = Documents(self, self.reader, self.chapters, self.resume_bar, settings, positions)
        self._restart_timer = QTimer(self, singleShot=True, interval=_RESTART_AFTER_MS)
        self._restart_timer.timeout.connect(self.reader.restart)
        # Each feature wires its own actions and widgets (exporting.py, output_menu.py, clipboard_tray.py,
        # voice_dialogs.py, desktop_menu.py, media_controls.py).
        self.exporter = Exporter(self)
        self.outputs = OutputMenu(
            self.commands.output_menu, self.service.player, self.settings, self.status_label, self
        )
        self.clipboard_tray = ClipboardAndTray(self)
        self.voice_dialogs = VoiceDialogs(self)
        self.desktop_entry = DesktopEntryMenu(self)
        self.web_pages = WebPages(self)
        self.sleep_timer = SleepTimer(self)
        self.bookmarks = Bookmarks(self)
        self.find_bar = FindBar(self)
        self.colours = ColourScheme(self)
        self.reading_options = ReadingOptions(self)
        self._connect()
        self.media_controls = MediaControls(self)  # after _connect: it reads what the window shows
        self._restore()
        self.text_edit.setFocus()

    def _connect(self) -> None:
        a, s, r, d = self.commands, self.service, self.reader, self.documents
        a.open.triggered.connect(d.open_dialog)
        a.new_text.triggered.connect(self.new_text)
        a.clear_recent.triggered.connect(d.recent.clear)
        a.quit.triggered.connect(self.close)
        a.speak.triggered.connect(self.speak)
        a.pause.triggered.connect(self.toggle_pause)
        a.pause_only.triggered.connect(s.pause)
        a.stop.triggered.connect(self.stop)
        a.previous_sentence.triggered.connect(lambda: r.skip_sentences(-1))
        a.next_sentence.triggered.connect(lambda: r.skip_sentences(1))
        a.previous_paragraph.triggered.connect(lambda: r.skip_paragraphs(-1))
        a.next_paragraph.triggered.connect(lambda: r.skip_paragraphs(1))
        a.follow.toggled.connect(self._follow_toggled)
        a.larger.triggered.connect(lambda: self._zoom(1))
        a.smaller.triggered.connect(lambda: self._zoom(-1))
        a.about.triggered.connect(self.show_about)
        a.recent_menu.aboutToShow.connect(self._fill_recent)
        a.chapters_menu.aboutToShow.connect(lambda: self.chapters.fill_menu(a.chapters_menu))
        self.chapters.toggleViewAction().triggered.connect(
            lambda on: self.settings.setValue("view/chapters", on)
        )

        self.speak_button.clicked.connect(a.speak.trigger)
        self.pause_button.clicked.connect(a.pause.trigger)
        self.stop_button.clicked.connect(a.stop.trigger)
        self.voice_box.currentIndexChanged.connect(self._voice_chosen)
        self.speed_box.valueChanged.connect(self._speed_chosen)
        self.text_edit.files_dropped.connect(self._files_dropped)
        self.text_edit.following_changed.connect(self._following_changed)

        r.progress_changed.connect(lambda p: self.position_label.setText(describe_progress(p)))
        d.opened.connect(self._on_document)
        d.closed.connect(self._on_document_closed)
        d.failed.connect(self._on_open_failed)
        d.busy_changed.connect(self._on_opening)

        s.load_progress.connect(self._on_load_progress)
        s.ready.connect(self._on_ready)
        s.load_failed.connect(self._on_load_failed)
        s.busy_changed.connect(self._on_busy)
        s.paused_changed.connect(self._on_paused)
        s.progress.connect(self._on_progress)
        s.ahead_changed.connect(self._on_ahead)
        s.chunk_played.connect(self._on_chunk)
        s.utterance_finished.connect(self._on_finished)
        s.speech_error.connect(self._on_speech_error)
        s.device_problem.connect(lambda message: self.set_notice("device", message))

    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(860, 520)
        state = self.settings.value("window/state")
        if state is not None:
            self.restoreState(state)
        self.chapters.hide()  # shown when a document with chapters is opened
        size = _float(self.settings.value("view/font_size"), 0.0)
        if size > 0:
            font = QFont(self.text_edit.font())
            font.setPointSizeF(size)
            self.text_edit.setFont(font)
        self._update_editable()

    # --- what the user asks for ---

    def voice(self) -> str:
        return str(self.voice_box.currentData() or "")

    def speed(self) -> float:
        return round(self.speed_box.value(), 2)

    @Slot()
    def speak(self) -> None:
        self.show_error("")
        self.notice_bar.hide()
        self._unspoken.clear()
        self._failed.clear()
        if not self.reader.speak():
            self.show_error("There is no text to speak: type or paste some first.")
            return
        # Text in a script the front end cannot read would be spelled out: say so, but read it anyway.
        text = self.reader.snapshot()[0]
        self.set_notice("script", script_warning(text, lang_of_voice(self.voice())) or "")
        if self.service.is_ready:
            self.status_label.setText("Speaking…")
        else:
            self.status_label.setText("Will speak as soon as the engine has loaded…")

    @Slot()
    def toggle_pause(self) -> None:
        """Play/Pause (the menu, Ctrl+Space, the media key, the tray): the one pause path. With nothing being
        read, read."""
        if not self.service.busy:
            self.speak()
        elif self.service.paused:
            self.reader.resume()
        else:
            self.service.pause()

    @Slot()
    def stop(self) -> None:
        was_busy = self.service.busy
        self.service.stop()
        if was_busy:
            self.status_label.setText("Stopped.")

    def open_path(self, path: str) -> None:
        self.show_error("")
        self.status_label.setText(f"Opening {Path(path).name or path}…")
        self.documents.open_path(path)

    @Slot()
    def new_text(self) -> None:
        self.service.stop()
        self.documents.close_document()
        self.text_edit.setFocus()

    def show_about(self) -> AboutDialog:
        info = self.service.engine_info
        engine = info.description if info else "not loaded yet"
        weights = (getattr(info, "weights_source", "") if info else "") or "not loaded yet"
        dialog = AboutDialog(engine, weights, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    # --- documents ---

    @Slot(list)
    def _files_dropped(self, paths: list[str]) -> None:
        self.open_path(paths[0])
        if len(paths) > 1:
            self.status_label.setText(f"Opening {Path(paths[0]).name} (one document at a time)…")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_files(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = local_files(event.mimeData())
        if files:
            event.acceptProposedAction()
            self._files_dropped(files)

    @Slot(bool)
    def _on_opening(self, busy: bool) -> None:
        self.open_progress.setVisible(busy)

    @Slot(object)
    def _on_document(self, opened: OpenedDocument) -> None:
        doc = opened.document
        self.setWindowTitle(f"{doc.title or Path(opened.path).name} — FastTTS")
        self.set_notice("document", " ".join(doc.notices))
        self._update_editable()
        self.status_label.setText(
            f"Opened {Path(opened.path).name}: {len(opened.index):,} sentences, {len(doc.headings)} chapters"
        )
        self.status_label.setToolTip(f"{opened.path}: {len(opened.text):,} characters")
        self.text_edit.setFocus()

    @Slot()
    def _on_document_closed(self) -> None:
        self.setWindowTitle(TITLE)
        self.set_notice("document", "")
        self.position_label.clear()
        self._update_editable()

    @Slot(str)
    def _on_open_failed(self, message: str) -> None:
        self.show_error(message)
        self.status_label.setText("Could not open the document; the text is as it was.")

    @Slot()
    def _fill_recent(self) -> None:
        menu = self.commands.recent_menu
        menu.clear()
        paths = self.documents.recent.paths()
        for path in paths:
            menu.addAction(Path(path).name or path, functools.partial(self.open_path, path)).setToolTip(path)
        if not paths:
            menu.addAction("(none yet)").setEnabled(False)
        menu.addSeparator()
        menu.addAction(self.commands.clear_recent)
        self.commands.clear_recent.setEnabled(bool(paths))

    # --- what the service reports ---

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        self.stop_button.setEnabled(busy)
        self.pause_button.setEnabled(busy)
        self._update_editable()
        if busy:
            self._chunks = (0, 0)
            if self.service.is_ready:
                self.progress.setRange(0, 0)
                self.progress.setFormat("")
                self.progress.show()
        else:
            if self.service.is_ready:
                self.progress.hide()
            self._show_unspoken()

    @Slot(bool)
    def _on_paused(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.commands.pause.setText("&Resume" if paused else "&Pause")
        if self.service.busy:
            self.status_label.setText("Paused." if paused else "Speaking…")

    @Slot(int, object)
    def _on_chunk(self, _request: int, chunk: AudioChunk) -> None:
        chars = unspoken_in(chunk)
        if chars:
            self._unspoken[chunk.chunk.start] = chars
        if getattr(chunk, "failed", ""):
            self._failed[chunk.chunk.start] = (chunk.chunk.text, chunk.failed)

    def _show_unspoken(self) -> None:
        lines = [
            describe_unspoken(c for _, chars in sorted(self._unspoken.items()) for c in chars),
            describe_failed([failure for _, failure in sorted(self._failed.items())]),
        ]
        message = "\n".join(line for line in lines if line)
        if message:
            self.notice_bar.show_message(message)

    @Slot(object)
    def _on_finished(self, stats: UtteranceStats) -> None:
        self.status_label.setText(summarise_utterance(stats))
        self.status_label.setToolTip(describe_utterance(stats))

    @Slot(str)
    def _on_speech_error(self, message: str) -> None:
        self.show_error(message)
        self.status_label.setText("Could not speak.")

    # --- helpers ---

    def _update_editable(self) -> None:
        self.text_edit.set_reading_only(self.service.busy or self.documents.current is not None)

    @Slot(int)
    def _voice_chosen(self, index: int) -> None:
        name = self.voice_box.itemData(index)
        if name:
            self._saved_voice = name
            self.settings.setValue("voice", name)
            self._restart_soon()

    @Slot(float)
    def _speed_chosen(self, value: float) -> None:
        self.settings.setValue("speed", float(value))
        self._restart_soon()

    def _restart_soon(self) -> None:
        if self.service.busy:
            self._restart_timer.start()

    @Slot(bool)
    def _follow_toggled(self, on: bool) -> None:
        self.text_edit.set_following(on)
        if on:
            self.reader.poll()

    @Slot(bool)
    def _following_changed(self, on: bool) -> None:
        self.commands.follow.blockSignals(True)
        self.commands.follow.setChecked(on)
        self.commands.follow.blockSignals(False)
        if not on and self.service.busy:
            self.status_label.setText(
                "Not following the reading while you look around: Ctrl+L follows again."
            )

    def _zoom(self, steps: int) -> None:
        self.text_edit.zoomIn(steps)
        self.settings.setValue("view/font_size", self.text_edit.font().pointSizeF())

    def set_notice(self, source: str, message: str) -> None:
        if message:
            self._notices[source] = message
        else:
            self._notices.pop(source, None)
        self.banner.setText("\n".join(self._notices.values()))
        self.banner.setVisible(bool(self._notices))

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    def closeEvent(self, event: QCloseEvent) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()
        self.hide()  # gone at once, even if the engine needs a moment to finish its chunk
        self.service.shutdown()
        self.documents.shutdown()
        super().closeEvent(event)


def _float(value, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _speed(value, default: float) -> float:
    return min(MAX_SPEED, max(MIN_SPEED, _float(value, default)))
