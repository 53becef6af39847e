"""Opening a document off the GUI thread: parse it, index its sentences and hash its text in a pool thread.

A big book takes about a second to parse; the window keeps drawing meanwhile and shows a busy bar. Only
the latest request counts: a document that finishes after another was asked for is dropped.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from fasttts_desktop.engine.types import EngineError
from fasttts_desktop.ui.navigation import SentenceIndex
from fasttts_desktop.ui.positions import text_digest

if TYPE_CHECKING:  # the importers are loaded on the pool thread, when a document is opened
    from fasttts_desktop.engine.text.documents import Document

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpenedDocument:
    path: str  # absolute
    document: Document
    index: SentenceIndex
    digest: str  # sha256 of the text: with the path, the key of the remembered position
    seconds: float  # wall time to parse, index and hash

    @property
    def text(self) -> str:
        return self.document.text


def open_document(path: str) -> OpenedDocument:
    """Parse, index and hash; EngineError (one line) when the file cannot be read as a document."""
    from fasttts_desktop.engine.text.documents import load_document
    from fasttts_desktop.engine.text.documents.web import fetch_page, is_url

    t0 = time.perf_counter()
    web = is_url(path)  # File > Open Web Page…: the one network use, on this pool thread
    document = fetch_page(path) if web else load_document(path)
    index = SentenceIndex(document.text)
    digest = text_digest(document.text)
    where = path if web else str(Path(path).resolve())
    return OpenedDocument(where, document, index, digest, time.perf_counter() - t0)


class _Reports(QObject):
    # Emitted from the pool thread; the receivers live on the GUI thread, so these arrive queued.
    opened = Signal(int, object)
    failed = Signal(int, str, str)


class _Job(QRunnable):
    def __init__(self, token: int, path: str, reports: _Reports):
        super().__init__()
        self.setAutoDelete(True)
        self.token, self.path, self.reports = token, path, reports

    def run(self) -> None:
        try:
            opened = open_document(self.path)
        except EngineError as exc:
            self.reports.failed.emit(self.token, self.path, str(exc))
        except Exception as exc:  # a bug in an importer must not take the window down; the log has it
            log.exception("opening %s failed", self.path)
            name = Path(self.path).name or self.path
            self.reports.failed.emit(self.token, self.path, f"{name} could not be opened: {exc}")
        else:
            self.reports.opened.emit(self.token, opened)


class DocumentOpener(QObject):
    opened = Signal(object)  # OpenedDocument
    failed = Signal(str, str)  # path, one line for the user
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._reports = _Reports(self)
        self._reports.opened.connect(self._on_opened)
        self._reports.failed.connect(self._on_failed)
        self._token = 0
        self._pending = 0  # the token being waited for, 0 when none

    @property
    def busy(self) -> bool:
        return self._pending != 0

    def open(self, path: str) -> None:
        self._token += 1
        self._pool.clear()  # an older request not yet started is not worth parsing
        was_busy = self.busy
        self._pending = self._token
        self._pool.start(_Job(self._token, os.fspath(path), self._reports))
        if not was_busy:
            self.busy_changed.emit(True)

    def cancel(self) -> None:
        if self.busy:
            self._pending = 0
            self.busy_changed.emit(False)

    def shutdown(self, wait_ms: int = 3000) -> None:
        self._pending = 0
        self._pool.clear()
        self._pool.waitForDone(wait_ms)

    @Slot(int, object)
    def _on_opened(self, token: int, opened: OpenedDocument) -> None:
        if token != self._pending:
            return
        self._pending = 0
        log.info(
            "opened %s: %d characters, %d sentences, %d headings in %.2f s",
            opened.path,
            len(opened.text),
            len(opened.index),
            len(opened.document.headings),
            opened.seconds,
        )
        self.busy_changed.emit(False)
        self.opened.emit(opened)

    @Slot(int, str, str)
    def _on_failed(self, token: int, path: str, message: str) -> None:
        if token != self._pending:
            return
        self._pending = 0
        log.info("could not open %s: %s", path, message)
        self.busy_changed.emit(False)
        self.failed.emit(path, message)
