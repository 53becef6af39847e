"""The GUI thread's side of exports: start one, follow it, cancel it. SpeechService's `exports`: the one way
the window and the tests export.

An export runs beside the reading: Stop stops the reading, not the export; only `cancel` (or closing the
window) ends an export early, and then no file is left behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from fasttts_desktop.worker.engine_worker import EngineWorker
from fasttts_desktop.worker.export_job import ExportProgress, ExportRequest, ExportSummary

if TYPE_CHECKING:
    from fasttts_desktop.engine.text.segments import Reading

__all__ = ["ExportControl", "ExportProgress", "ExportRequest", "ExportSummary"]

log = logging.getLogger(__name__)


class ExportControl(QObject):
    started = Signal(object)  # ExportRequest
    progress = Signal(object)  # ExportProgress
    chunks = Signal(int, int)  # chunks written, chunks expected
    finished = Signal(object)  # ExportSummary: the files are in place
    failed = Signal(str)  # one line for the user; "" when cancelled (no file was written)

    _request = Signal(int, object)

    def __init__(
        self,
        worker: EngineWorker,
        new_request: Callable[[], int],
        reading_for: Callable[[str], Reading | None],
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self._worker = worker
        self._new_request = new_request
        self._reading_for = reading_for  # how the window reads a text (markup, pauses, voices)
        self._current = 0  # the export in progress, 0 when none
        self.request: ExportRequest | None = None
        self._request.connect(worker.save)  # queued: the worker lives on the engine thread
        worker.save_progress.connect(self._on_progress)
        worker.saved.connect(self._on_saved)
        worker.save_failed.connect(self._on_failed)

    @property
    def busy(self) -> bool:
        return self._current != 0

    def start(self, request: ExportRequest) -> int:
        """Export `request`, replacing (cancelling) one in progress; returns its id. A request with no
        reading of its own is read the way the window reads."""
        if request.reading is None:
            request = replace(request, reading=self._reading_for(request.text))
        if self._current:
            self.cancel()
        self._current = self._new_request()
        self.request = request
        self._worker.wanted.save(self._current)
        log.info("export #%d to %s", self._current, request.path)
        self._request.emit(self._current, request)
        self.started.emit(request)
        return self._current

    def save(self, path: str, text: str, voice: str, speed: float, **options) -> int:
        """Export `text` to `path` beside the reading; `options` as ExportRequest's (subtitles, chapters,
        title, format). The format comes from the extension unless `format` names it."""
        return self.start(ExportRequest(path, text, voice, speed, **options))

    def cancel(self) -> None:
        """Abandon the export in progress; its files are never put in place (the writers are atomic)."""
        self._worker.wanted.cancel_save()
        if self._current:
            log.info("export #%d cancelled", self._current)
            self._current = 0
            self.failed.emit("")

    @Slot(int, object)
    def _on_progress(self, request: int, progress: ExportProgress) -> None:
        if request == self._current:
            self.progress.emit(progress)
            self.chunks.emit(progress.chunks_done, progress.chunks_total)

    @Slot(int, object)
    def _on_saved(self, request: int, summary: ExportSummary) -> None:
        if request == self._current:
            self._current = 0
            self.finished.emit(summary)

    @Slot(int, str)
    def _on_failed(self, request: int, message: str) -> None:
        if request == self._current:
            self._current = 0
            self.failed.emit(message)
