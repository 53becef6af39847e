"""An export being written: the engine thread makes the chunks, a thread of its own encodes them.

Encoding MP3/AAC/Opus costs 20-40 s of CPU per hour of audio; done on the engine thread it would hold up
the GPU (and the reading) for that long. So the engine thread only puts each chunk on a queue and goes
on; the encoder thread runs export_utterance over what comes out of it. The queue is bounded by audio
length (MAX_BACKLOG_S): when the encoder is that far behind, the engine thread makes speech or nothing
until it catches up, rather than block (its speech must stay responsive) or hold a book in memory.

No Qt here: the owner gets plain callbacks, called on the encoder thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fasttts_desktop.engine.types import SAMPLE_RATE, AudioChunk, Cancelled, EngineError
from fasttts_desktop.export import check_target, export_utterance, format_for, subtitle_format_for
from fasttts_desktop.export.loudness import DEFAULT_LUFS
from fasttts_desktop.export.tags import gather_info

if TYPE_CHECKING:
    from fasttts_desktop.engine.text.segments import Reading

log = logging.getLogger(__name__)

MAX_BACKLOG_S = 120.0  # audio made but not yet encoded before the engine stops making more (~11 MB)
_PROGRESS_EVERY_S = 0.2  # progress reports at most this often (a GPU makes chunks faster than a bar moves)
_ETA_AFTER_S = 2.0  # an estimate of the time left only once this much was measured
_POLL_S = 0.1  # how often a waiting encoder looks at its cancel flag
_END = object()


@dataclass(frozen=True)
class ExportRequest:
    path: str
    text: str
    voice: str
    speed: float
    subtitles: str | None = None  # path of an SRT or WebVTT file beside the audio
    chapters: tuple[tuple[int, str], ...] = ()  # (character offset, title), stored in M4B/M4A
    title: str | None = None
    format: str | None = None  # None: by the extension of `path`; "epub": a read-along book
    loudness: float | None = DEFAULT_LUFS  # LUFS the file is normalised to; None: as made
    cover: str | None = None  # a picture for M4B/M4A and read-along books (else an EPUB source's own)
    source: str | None = None  # the document read, whose author (and cover) tag the file
    reading: Reading | None = None  # markup, pauses, voices per chapter (engine/text/segments.py)
    lang_code: str = "a"  # the voice's language (a read-along book's language), set by the engine worker

    @property
    def readalong(self) -> bool:
        from fasttts_desktop.export.readalong import is_readalong  # see _run

        return self.format == "epub" or (not self.format and is_readalong(self.path))

    def check(self) -> None:
        """ExportError (one line) now, before any audio is made, for a place or format that cannot work."""
        if not self.readalong:
            format_for(self.path, self.format)
        check_target(self.path)
        if self.subtitles:
            subtitle_format_for(self.subtitles)
            check_target(self.subtitles)


@dataclass(frozen=True)
class ExportProgress:
    chunks_done: int
    chunks_total: int
    fraction: float  # of the text's characters written
    audio_s: float  # audio written so far
    elapsed_s: float
    eta_s: float | None  # time left at the rate measured so far; None until measured


@dataclass(frozen=True)
class ExportSummary:
    audio_path: str
    subtitles_path: str | None
    audio_s: float
    elapsed_s: float
    chapters: int  # chapter marks made (stored in the file for M4B/M4A)
    failed_parts: int  # chunks the engine could not make (left out of the audio)
    reused: bool  # written from the utterance just played, not made again


class Encoder:
    """Takes chunks from the engine thread (`put`, then `finish`) and writes them on a thread of its own.

    `on_progress(ExportProgress)` and `on_done(summary or None, message)` are called on that thread;
    message is "" when cancelled. `cancelled()` is polled there too: once it is true nothing is left
    behind, even if the stream was complete.
    """

    def __init__(
        self,
        request: ExportRequest,
        cancelled: Callable[[], bool],
        on_progress: Callable[[ExportProgress], None],
        on_done: Callable[[ExportSummary | None, str], None],
        reused: bool = False,
    ):
        self.request = request
        self._cancelled = cancelled
        self._on_progress = on_progress
        self._on_done = on_done
        self._reused = reused
        self._queue: queue.Queue = queue.Queue()
        self._put_samples = 0  # written by the engine thread
        self._taken_samples = 0  # written by the encoder thread
        self._failed_parts = 0
        self._last: AudioChunk | None = None  # the chunk the writer has just been given
        self._started = time.perf_counter()
        self._reported = 0.0
        self.ended = threading.Event()  # set when the files are in place, or abandoned
        self._thread = threading.Thread(target=self._run, name="export-encoder", daemon=True)
        self._thread.start()

    @property
    def backlog_s(self) -> float:
        """Audio handed over but not yet taken by the encoder."""
        return max(0, self._put_samples - self._taken_samples) / SAMPLE_RATE

    def put(self, chunk: AudioChunk) -> None:
        self._put_samples += len(chunk.audio)
        self._queue.put(chunk)

    def finish(self) -> None:
        """The stream is complete: close the files once all is written."""
        self._queue.put(_END)

    def fail(self, exc: BaseException) -> None:
        """The engine could not go on: abandon the files and report `exc`."""
        self._queue.put(exc)

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # --- the encoder thread ---

    def _chunks(self):
        while True:
            try:
                item = self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                if self._cancelled():
                    return  # export_utterance sees the cancel and leaves nothing
                continue
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            self._taken_samples += len(item.audio)
            if getattr(item, "failed", ""):
                self._failed_parts += 1
            self._last = item
            yield item

    def _progress(self, _what: str, _fraction: float) -> None:
        chunk = self._last
        if chunk is None:  # never: export_utterance reports after each chunk it took from here
            return
        now = time.perf_counter()
        done = chunk.index + 1 >= chunk.total
        if now - self._reported < _PROGRESS_EVERY_S and not done:
            return
        self._reported = now
        text_len = max(1, len(self.request.text))
        fraction = min(1.0, chunk.chunk.end / text_len)
        elapsed = now - self._started
        eta = elapsed * (1 - fraction) / fraction if elapsed >= _ETA_AFTER_S and fraction > 0 else None
        self._on_progress(
            ExportProgress(
                chunk.index + 1,
                max(chunk.total, chunk.index + 1),
                fraction,
                self._taken_samples / SAMPLE_RATE,
                elapsed,
                eta,
            )
        )

    def _run(self) -> None:
        r = self.request
        try:
            info = gather_info(r.title, cover_path=r.cover, source=r.source, narrator=r.voice or None)
            if r.readalong:
                # imported here: with its XML and zip modules it costs ~25 ms of the window's start
                from fasttts_desktop.export.readalong import ReadAlongWriter, export_readalong

                book = ReadAlongWriter(
                    r.path, r.text, chapters=r.chapters, info=info, lang_code=r.lang_code, loudness=r.loudness
                )
                result = export_readalong(
                    self._chunks(), book, progress=self._progress, cancel=self._cancelled
                )
            else:
                result = export_utterance(
                    self._chunks(),
                    r.path,
                    subtitles_path=r.subtitles,
                    chapters=r.chapters,
                    format=r.format,
                    title=r.title,
                    loudness=r.loudness,
                    info=info,
                    progress=self._progress,
                    cancel=self._cancelled,
                )
        except Cancelled:
            log.info("export to %s cancelled; nothing was written", r.path)
            self._done(None, "")
            return
        except EngineError as exc:
            log.warning("export to %s failed: %s", r.path, exc)
            self._done(None, str(exc))
            return
        except Exception as exc:  # an encoder's own failure: one line, logged in full
            log.exception("export to %s failed", r.path)
            self._done(None, f"Export failed: {exc}")
            return
        if self._cancelled():
            # Cancel came while the files were being closed: the user was told nothing would be written.
            for path in (result.audio_path, result.subtitles_path):
                if path is not None:
                    Path(path).unlink(missing_ok=True)
            self._done(None, "")
            return
        elapsed = time.perf_counter() - self._started
        log.info(
            "exported %.1f s of audio to %s in %.1f s (%.0fx real time)%s",
            result.seconds,
            result.audio_path,
            elapsed,
            result.seconds / max(elapsed, 1e-6),
            " from what was just played" if self._reused else "",
        )
        self._done(
            ExportSummary(
                str(result.audio_path),
                str(result.subtitles_path) if result.subtitles_path else None,
                result.seconds,
                elapsed,
                len(result.chapters),
                self._failed_parts,
                self._reused,
            ),
            "",
        )

    def _done(self, summary: ExportSummary | None, message: str) -> None:
        self.ended.set()
        self._on_done(summary, message)
