"""The window's documents: File > Open, Open Recent, drops and the command line all land in `open_path`;
the parsed document fills the reader and the chapters panel, its remembered position is offered back.

What is remembered is the start of the last sentence heard, saved a moment after it changes (and at once
on stop, on close and when another document is opened), so a crash loses at most a sentence or two.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QMainWindow

from fasttts_desktop.engine.text.documents.web import is_url
from fasttts_desktop.ui.chapters import ChaptersPanel, heading_at
from fasttts_desktop.ui.document_opener import DocumentOpener, OpenedDocument
from fasttts_desktop.ui.info_bar import InfoBar
from fasttts_desktop.ui.positions import PositionStore
from fasttts_desktop.ui.reading import Reader
from fasttts_desktop.ui.recent_files import RecentFiles

log = logging.getLogger(__name__)

SAVE_POSITION_AFTER_MS = 2000
_FALLBACK_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".xhtml", ".epub", ".pdf")


def supported_suffixes() -> tuple[str, ...]:
    try:
        from fasttts_desktop.engine.text.documents import SUPPORTED_SUFFIXES
    except ImportError:  # the dialog still opens; an unsupported file gets its one-line message later
        return _FALLBACK_SUFFIXES
    return tuple(SUPPORTED_SUFFIXES)


class Documents(QObject):
    opened = Signal(object)  # OpenedDocument, now in the reader
    closed = Signal()  # the box holds typed text again
    failed = Signal(str)  # one line for the user; the text in the box stays
    busy_changed = Signal(bool)

    def __init__(
        self,
        window: QMainWindow,
        reader: Reader,
        chapters: ChaptersPanel,
        resume_bar: InfoBar,
        settings: QSettings,
        positions: PositionStore | None = None,
    ):
        super().__init__(window)
        self._window = window
        self.reader = reader
        self.chapters = chapters
        self.resume_bar = resume_bar
        self.settings = settings
        self.positions = positions or PositionStore()
        self.recent = RecentFiles(settings, self)
        self.current: OpenedDocument | None = None
        self.opener = DocumentOpener(self)
        self.opener.opened.connect(self._on_opened)
        self.opener.failed.connect(self._on_failed)
        self.opener.busy_changed.connect(self.busy_changed)
        self._save_timer = QTimer(self, singleShot=True, interval=SAVE_POSITION_AFTER_MS)
        self._save_timer.timeout.connect(self.positions.flush)
        reader.position_changed.connect(self._on_position)
        reader.reached_end.connect(self._on_reached_end)
        chapters.chosen.connect(lambda offset: reader.go_to(offset, top=True))

    # --- opening ---

    def open_dialog(self) -> None:
        folder = str(self.settings.value("open/folder", "") or Path.home())
        patterns = " ".join(f"*{s}" for s in supported_suffixes())
        path, _ = QFileDialog.getOpenFileName(
            self._window, "Open a document to read", folder, f"Documents ({patterns});;All files (*)"
        )
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> None:
        """Parse `path` in the background; the box keeps its text until the document is ready."""
        self.opener.open(path.strip() if is_url(path) else str(Path(path).expanduser().resolve()))

    def close_document(self) -> None:
        """Back to a blank box for typed or pasted text."""
        self.save_position_now()
        self.current = None
        self.resume_bar.hide()
        self.reader.set_text("")
        self._show_chapters(())
        self.closed.emit()

    @Slot(object)
    def _on_opened(self, opened: OpenedDocument) -> None:
        self.save_position_now()
        self.reader.service.stop()
        self.resume_bar.hide()
        remembered = self.positions.get(opened.path, opened.digest) or 0
        if remembered >= len(opened.text):
            remembered = 0
        self.current = opened
        self.reader.set_text(opened.text, opened.index, opened.document.headings)
        if not is_url(opened.path):
            self.settings.setValue("open/folder", str(Path(opened.path).parent))
        self.recent.add(opened.path)
        self._show_chapters(opened.document.headings)
        self.chapters.mark(0)
        self.opened.emit(opened)
        if remembered:
            self.reader.go_to(remembered, top=True)
            self._offer(opened, remembered)

    @Slot(str, str)
    def _on_failed(self, path: str, message: str) -> None:
        if not Path(path).exists():
            self.recent.remove(path)  # gone: not worth offering again
        self.failed.emit(message)

    def _offer(self, opened: OpenedDocument, offset: int) -> None:
        heading = heading_at(opened.document.headings, offset)
        number = opened.index.at(offset) + 1
        where = f"“{heading.title}”" if heading is not None else "where you left off"
        log.info("offering to continue %s from character %d (sentence %d)", opened.path, offset, number)
        self.resume_bar.show_message(
            f"Continue from {where}? (sentence {number:,} of {len(opened.index):,}, "
            f"{int(100 * offset / len(opened.text))}% in)",
            [
                ("Continue", lambda: self.reader.speak_from(self.reader.position)),
                ("Start over", self._start_over),
            ],
        )

    def _start_over(self) -> None:
        self.reader.go_to(0, top=True)
        if self.current is not None:
            self.positions.put(self.current.path, self.current.digest, 0)
            self.save_position_now()

    def _show_chapters(self, headings) -> None:
        self.chapters.set_headings(headings)
        wanted = self.settings.value("view/chapters", True) not in (False, "false")
        shown = bool(headings) and wanted
        if shown and not self.chapters.isVisible():
            self.chapters.show()
            # A side panel, not half the window: about a fifth of it, whatever a previous run left.
            width = max(160, min(240, self._window.width() // 5))
            self._window.resizeDocks([self.chapters], [width], Qt.Orientation.Horizontal)
        self.chapters.setVisible(shown)

    # --- the remembered position ---

    @Slot(int)
    def _on_position(self, offset: int) -> None:
        self.chapters.mark(offset)
        if self.current is not None:
            self.positions.put(self.current.path, self.current.digest, offset)
            if not self._save_timer.isActive():
                self._save_timer.start()

    @Slot()
    def _on_reached_end(self) -> None:
        if self.current is not None:
            self.positions.put(self.current.path, self.current.digest, 0)
            self.save_position_now()

    def save_position_now(self) -> None:
        self._save_timer.stop()
        self.positions.flush()

    def shutdown(self) -> None:
        self.opener.shutdown()
        self.save_position_now()
