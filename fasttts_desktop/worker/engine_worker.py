"""The engine's own thread: loads it, then turns speak and save requests into audio.

Lives on a QThread (moved there by SpeechService). Requests arrive as queued slot calls; results leave as
signals carrying plain data (ids, strings, numbers, numpy arrays, the engine's AudioChunk). Cancelling
cannot wait for the event loop, which is busy making a chunk, so the GUI thread says what it still wants
through the worker's `wanted` (a small thread-safe object: the one thing both threads touch) and the engine
polls it (between chunks, and inside a chunk where the backend can).

A speech and an export are jobs made one chunk per step, with the event loop turning in between, so a new
request is taken at the next chunk boundary. Speech goes first, but only while less than MAKE_AHEAD_S is
made and not yet heard (the GUI thread posts the audio clock to `wanted`): a paused or GPU-fast reading of a
book holds seconds of audio, not the book, and an export made meanwhile uses the engine's idle time. An
export is never held back for a listener (nobody listens to it); its chunks go to an encoder on a thread of
its own (export_job.py), and only when that is MAX_BACKLOG_S behind does the engine wait for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from fasttts_desktop.engine.types import SAMPLE_RATE, AudioChunk, EngineError, Progress
from fasttts_desktop.worker.engine_tools import EngineTools
from fasttts_desktop.worker.export_job import MAX_BACKLOG_S, Encoder, ExportRequest, ExportSummary

if TYPE_CHECKING:  # the engine's modules import torch: loaded on the engine thread, not with the window
    from fasttts_desktop.engine.engine_like import EngineLike
    from fasttts_desktop.engine.text.segments import Reading

log = logging.getLogger(__name__)


MAKE_AHEAD_S = 20.0  # audio made but not yet heard before the engine waits for the listener
KEEP_FOR_SAVE_S = 300.0  # an utterance up to this long is kept so Save writes it without making it again
_HELD_BACK_POLL_MS = 20  # how often held-back speech looks at the clock and its cancel flag


@dataclass(frozen=True)
class EngineInfo:
    description: str  # the active path, for the status bar
    notice: str  # something the user should know about this setup, or ""
    voices: list[tuple[str, str]]  # (name, label) in display order
    default_voice: str
    weights_source: str = ""  # where the weights came from, one line (Help > About)
    voice_groups: dict[str, str] = field(
        default_factory=dict
    )  # voice name -> its language (the picker's heading)


@dataclass(frozen=True)
class _Utterance:
    text: str
    voice: str
    speed: float
    chunks: list[AudioChunk]
    reading: Reading | None = None


@dataclass
class _Job:
    """A speech or an export being made: its chunks come one per step."""

    request: int
    text: str
    voice: str
    speed: float
    chunks: Iterator[AudioChunk]
    keep: bool  # collect the chunks (a speech while short enough to stand in for an export)
    encoder: Encoder | None = None  # an export's
    parts: list[AudioChunk] = field(default_factory=list)
    made: int = 0  # samples
    synth_s: float = 0.0
    reading: Reading | None = None


class Wanted:
    """What the GUI thread wants of the engine thread, read by the engine between chunks: the speech and the
    export still wanted (request ids; 0 none, -1 closed) and how much of the speech has been heard. The GUI
    thread changes it only through these methods; each read and write is whole (a lock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._speech = 0
        self._save = 0
        # (request, utterance samples heard so far); None heard: nobody listens (no output device), so
        # there is nothing to wait for
        self._heard: tuple[int, int | None] = (0, 0)

    def speak(self, request: int) -> None:
        """`request` replaces any speech: the old one's synthesis ends at its next chunk."""
        with self._lock:
            if self._speech >= 0:
                self._speech, self._heard = request, (request, 0)

    def stop_speech(self) -> None:
        with self._lock:
            self._speech = min(self._speech, 0)

    def save(self, request: int) -> None:
        with self._lock:
            if self._save >= 0:
                self._save = request

    def cancel_save(self) -> None:
        with self._lock:
            self._save = min(self._save, 0)

    def hear(self, request: int, samples: int | None) -> None:
        """The audio clock of `request`: samples heard so far; None: nobody listens."""
        with self._lock:
            self._heard = (request, samples)

    def close(self) -> None:
        """Nothing more is wanted, ever."""
        with self._lock:
            self._speech = self._save = -1

    @property
    def speech(self) -> int:
        with self._lock:
            return self._speech

    @property
    def export(self) -> int:
        with self._lock:
            return self._save

    @property
    def heard(self) -> tuple[int, int | None]:
        with self._lock:
            return self._heard


class _ShuttingDown(Exception):
    """Raised from the load progress callback to abandon loading when the window closes."""


class EngineWorker(QObject):
    load_progress = Signal(str, float)  # message, fraction 0..1 (negative: unknown)
    loaded = Signal(object)  # EngineInfo
    load_failed = Signal(str)
    speech_started = Signal(int, int)  # request, estimated number of chunks
    chunk_ready = Signal(int, object)  # request, AudioChunk
    speech_done = Signal(int, float, float)  # request, seconds of audio, seconds spent synthesizing
    speech_cancelled = Signal(int)
    speech_failed = Signal(int, str)  # request, one line for the user
    # An export's reports come from its encoder thread (queued to the receivers like the others).
    save_progress = Signal(int, object)  # request, ExportProgress (of what is written)
    saved = Signal(int, object)  # request, ExportSummary
    save_failed = Signal(int, str)  # request, one line for the user ("" when cancelled)
    crashed = Signal(str)  # an unexpected exception (already logged): one line

    def __init__(self, load_engine: Callable[[Progress], EngineLike]):
        super().__init__()
        self._load_engine = load_engine
        self._engine: EngineLike | None = None
        self._load_error = ""
        self._last: _Utterance | None = None
        self.wanted = Wanted()  # the GUI thread's side of the contract; read here between chunks
        self._closing = threading.Event()
        self._speech: _Job | None = None
        self._save: _Job | None = None
        self.encoder: Encoder | None = None  # the latest export's, until it has ended
        self._step_timer = QTimer(self)  # moves to the engine thread with its parent
        self._step_timer.setSingleShot(True)
        self._step_timer.timeout.connect(self._step)
        self.tools = EngineTools(self)  # questions that make no audio; moves with its parent, too

    def close(self, wait_s: float = 2.0) -> None:
        """Called from the GUI thread: abandon whatever runs and accept no more work; an export's
        encoder removes its unfinished files (waited for up to `wait_s`)."""
        self._closing.set()
        self.wanted.close()
        encoder = self.encoder
        if encoder is not None and not encoder.join(wait_s):
            log.warning("the export encoder is still busy after %.1f s", wait_s)

    @Slot()
    def halt(self) -> None:
        """Called on the engine thread as it finishes: leave no step pending on a thread that is gone."""
        self._step_timer.stop()

    @Slot()
    def load(self) -> None:
        def progress(message: str, fraction: float) -> None:
            if self._closing.is_set():
                raise _ShuttingDown
            self.load_progress.emit(message, float(fraction))

        t0 = time.perf_counter()
        self.load_progress.emit("Starting the speech engine", -1.0)
        try:
            engine = self._load_engine(progress)
        except _ShuttingDown:
            log.info("engine loading abandoned: the window closed")
            return
        except EngineError as exc:
            self._fail_load(str(exc))
            return
        except Exception as exc:
            log.exception("engine failed to load")
            self._fail_load(f"The speech engine failed to load: {exc}")
            self.crashed.emit(f"The speech engine failed to load: {exc}")
            return
        self._engine = engine
        log.info("engine ready in %.1f s: %s", time.perf_counter() - t0, engine.description)
        self.loaded.emit(
            EngineInfo(
                description=engine.description,
                notice=engine.notice,
                voices=[(v.name, v.label) for v in engine.voices],
                default_voice=engine.default_voice,
                weights_source=engine.weights_source,
                voice_groups={v.name: v.language for v in engine.voices if not v.blend},
            )
        )

    def _fail_load(self, message: str) -> None:
        self._load_error = message
        log.error("engine failed to load: %s", message)
        self.load_failed.emit(message)

    @property
    def is_loaded(self) -> bool:
        return self._engine is not None

    def engine_or_error(self) -> EngineLike:
        """The loaded engine (engine thread only), else EngineError saying why there is none."""
        if self._engine is None:
            raise EngineError(self._load_error or "The speech engine is not loaded.")
        return self._engine

    @Slot(int, str, str, float, int, object)
    def speak(
        self,
        request: int,
        text: str,
        voice: str,
        speed: float,
        start: int = 0,
        reading: Reading | None = None,
    ) -> None:
        if request != self.wanted.speech:
            return  # stopped or replaced while it waited (for instance while the engine was loading)
        self._drop_cancelled()
        try:
            engine = self.engine_or_error()
            voice = engine.voice(voice or None).name
            self.speech_started.emit(request, max(1, engine.estimate_chunks(text[start:])))
            chunks = engine.stream(
                text,
                voice,
                speed,
                cancel=lambda: self.wanted.speech != request,
                start=start,
                reading=reading,
            )
        except Exception as exc:  # noqa: BLE001 - reported as the request's failure, crashes as such
            self._speech_failed(request, exc)
            return
        # Only a whole utterance can stand in for Save.
        self._speech = _Job(request, text, voice, speed, iter(chunks), keep=start == 0, reading=reading)
        self._step_timer.start(0)

    @Slot(int, object)
    def save(self, request: int, export: ExportRequest) -> None:
        """Export `export.text` to its files as a job beside the speech (one export at a time)."""
        if request != self.wanted.export:
            return
        self._drop_cancelled()
        try:
            export.check()
            engine = self.engine_or_error()
            voice = engine.voice(export.voice or None).name
            # the narrator's name and a read-along book's language are the voice's
            export = replace(export, voice=voice, lang_code=engine.language(voice))
            last = self._last
            wanted = (export.text, voice, export.speed, export.reading)
            reused = (
                last.chunks
                if last is not None and (last.text, last.voice, last.speed, last.reading) == wanted
                else None
            )
            if reused is None:
                chunks = engine.stream(
                    export.text,
                    voice,
                    export.speed,
                    cancel=lambda: self.wanted.export != request,
                    batch=engine.export_batch,
                    reading=export.reading,
                )
        except Exception as exc:  # noqa: BLE001 - reported as the request's failure, crashes as such
            self._save_failed(request, export.path, exc)
            return
        self.encoder = encoder = Encoder(
            export,
            lambda: self.wanted.export != request,
            lambda progress: self.save_progress.emit(request, progress),
            lambda summary, message: self._export_ended(request, summary, message),
            reused=reused is not None,
        )
        if reused is not None:  # what was just played, chunk for chunk: nothing to make
            for chunk in reused:
                encoder.put(chunk)
            encoder.finish()
            return
        self._save = _Job(request, export.text, voice, export.speed, iter(chunks), False, encoder)
        self._step_timer.start(0)

    def _export_ended(self, request: int, summary: ExportSummary | None, message: str) -> None:
        """On the encoder thread: the files are in place, or abandoned."""
        if summary is not None:
            self.saved.emit(request, summary)
        else:
            self.save_failed.emit(request, message)

    def _drop_cancelled(self) -> None:
        if self._speech is not None and self._speech.request != self.wanted.speech:
            self.speech_cancelled.emit(self._speech.request)
            self._speech = None
        if self._save is not None and self._save.request != self.wanted.export:
            self._save = None  # its encoder sees the cancel too, removes its files and reports it

    def _held_back(self, job: _Job) -> bool:
        """More than MAKE_AHEAD_S is made but not yet heard."""
        heard_for, heard = self.wanted.heard
        if heard_for != job.request:
            heard = 0
        elif heard is None:
            return False  # nobody listens (no output device): nothing to wait for
        return job.made - heard > MAKE_AHEAD_S * SAMPLE_RATE

    @Slot()
    def _step(self) -> None:
        """Make one chunk: of the speech unless it is far enough ahead, else of the export unless its
        encoder is far behind."""
        self._drop_cancelled()
        speech, save = self._speech, self._save
        encoder = save.encoder if save is not None else None  # an export's job always has one
        if speech is not None and not self._held_back(speech):
            self._speech_step(speech)
        elif save is not None and encoder is not None and encoder.backlog_s < MAX_BACKLOG_S:
            self._save_step(save, encoder)
        elif speech is not None or save is not None:
            self._step_timer.start(_HELD_BACK_POLL_MS)
            return
        if self._speech is not None or self._save is not None:
            self._step_timer.start(0)

    def _speech_step(self, job: _Job) -> None:
        try:
            chunk = next(job.chunks, None)
        except Exception as exc:  # noqa: BLE001 - reported as the request's failure, crashes as such
            self._speech = None
            self._speech_failed(job.request, exc)
            return
        if chunk is None:
            self._speech = None
            if job.request != self.wanted.speech:
                self.speech_cancelled.emit(job.request)
                return
            if job.keep:
                self._last = _Utterance(job.text, job.voice, job.speed, job.parts, job.reading)
            self.speech_done.emit(job.request, job.made / SAMPLE_RATE, job.synth_s)
            return
        job.made += len(chunk.audio)
        job.synth_s += chunk.synth_s
        job.keep = job.keep and job.made <= KEEP_FOR_SAVE_S * SAMPLE_RATE
        if job.keep:
            job.parts.append(chunk)
        else:
            job.parts.clear()  # too long to keep: an export makes it again, and memory stays flat
        self.chunk_ready.emit(job.request, chunk)

    def _save_step(self, job: _Job, encoder: Encoder) -> None:
        try:
            chunk = next(job.chunks, None)
        except Exception as exc:  # the encoder reports it (one line) and removes its files
            self._save = None
            if not isinstance(exc, EngineError):
                log.exception("exporting failed")
                self.crashed.emit(f"Exporting failed: {exc}")
                exc = EngineError(f"Exporting failed: {exc}")
            encoder.fail(exc)
            return
        if chunk is None:
            self._save = None
            encoder.finish()  # a stream cut short by a cancel is not taken for a whole one there
            return
        job.made += len(chunk.audio)
        encoder.put(chunk)

    def _speech_failed(self, request: int, exc: Exception) -> None:
        if isinstance(exc, EngineError):
            self.speech_failed.emit(request, str(exc))
            return
        log.error("speaking failed", exc_info=exc)
        self.speech_failed.emit(request, f"Speaking failed: {exc}")
        self.crashed.emit(f"Speaking failed: {exc}")

    def _save_failed(self, request: int, path: str, exc: Exception) -> None:
        if isinstance(exc, (EngineError, OSError)):  # ExportError is an EngineError
            log.warning("save to %s failed: %s", path, exc)
            self.save_failed.emit(request, str(exc))
            return
        log.error("saving failed", exc_info=exc)
        self.save_failed.emit(request, f"Saving failed: {exc}")
        self.crashed.emit(f"Saving failed: {exc}")
