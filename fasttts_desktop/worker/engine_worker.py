"""The engine's own thread: loads it, then turns speak and save requests into audio.

Lives on a QThread (moved there by SpeechService). Requests arrive as queued slot calls; results leave as
signals carrying plain data (ids, strings, numbers, numpy arrays, the engine's AudioChunk). Cancelling
cannot wait for the event loop, which is busy synthesizing, so the GUI thread sets the wanted request ids
directly and the engine polls them between chunks.

Speech is made at most MAKE_AHEAD_S ahead of what has been heard (the GUI thread posts the audio clock in
`heard`), so a paused or GPU-fast reading of a book holds seconds of audio, not the book. Saving is not
held back: nobody listens to it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from fasttts_desktop.engine.types import SAMPLE_RATE, EngineError, Progress

log = logging.getLogger(__name__)


MAKE_AHEAD_S = 20.0  # audio made but not yet heard before the engine waits for the listener
KEEP_FOR_SAVE_S = 300.0  # an utterance up to this long is kept so Save writes it without making it again
_WAIT_POLL_S = 0.02  # how often a held-back engine looks at the clock and its cancel flag


@dataclass(frozen=True)
class EngineInfo:
    description: str  # the active path, for the status bar
    notice: str  # something the user should know about this setup, or ""
    voices: list[tuple[str, str]]  # (name, label) in display order
    default_voice: str
    weights_source: str = ""  # where the weights came from, one line (Help > About)


@dataclass(frozen=True)
class _Utterance:
    text: str
    voice: str
    speed: float
    audio: np.ndarray


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
    save_progress = Signal(int, int, int)  # request, chunks done, chunks expected
    saved = Signal(int, str)  # request, path
    save_failed = Signal(int, str)  # request, one line for the user ("" when cancelled)
    crashed = Signal(str)  # an unexpected exception (already logged): one line

    def __init__(self, load_engine: Callable[[Progress], object]):
        super().__init__()
        self._load_engine = load_engine
        self._engine = None
        self._load_error = ""
        self._last: _Utterance | None = None
        # Written by the GUI thread, read here between chunks; plain ints are safe to share under the GIL.
        self.wanted_speech = 0
        self.wanted_save = 0
        # (request, utterance samples heard so far), posted by the GUI thread; None heard: nobody listens
        # (no output device), so there is nothing to wait for.
        self.heard: tuple[int, int | None] = (0, 0)
        self._closing = threading.Event()

    def close(self) -> None:
        """Called from the GUI thread: abandon whatever runs and accept no more work."""
        self._closing.set()
        self.wanted_speech = self.wanted_save = -1

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
                weights_source=getattr(engine, "weights_source", ""),
            )
        )

    def _fail_load(self, message: str) -> None:
        self._load_error = message
        log.error("engine failed to load: %s", message)
        self.load_failed.emit(message)

    def _engine_or_error(self):
        if self._engine is None:
            raise EngineError(self._load_error or "The speech engine is not loaded.")
        return self._engine

    @Slot(int, str, str, float, int)
    def speak(self, request: int, text: str, voice: str, speed: float, start: int = 0) -> None:
        if request != self.wanted_speech:
            return  # stopped or replaced while it waited (for instance while the engine was loading)
        try:
            self._speak(request, text, voice, speed, start)
        except EngineError as exc:
            self.speech_failed.emit(request, str(exc))
        except Exception as exc:
            log.exception("speaking failed")
            self.speech_failed.emit(request, f"Speaking failed: {exc}")
            self.crashed.emit(f"Speaking failed: {exc}")

    def _speak(self, request: int, text: str, voice: str, speed: float, start: int) -> None:
        engine = self._engine_or_error()
        voice = engine.voice(voice or None).name

        def cancelled() -> bool:
            return self.wanted_speech != request

        self.speech_started.emit(request, max(1, engine.estimate_chunks(text[start:])))
        # `start` is passed only when used, so an engine without it still speaks from the top.
        where = {"start": start} if start else {}
        keep = start == 0  # only a whole utterance can stand in for Save
        parts, made, synth_s = [], 0, 0.0
        for chunk in engine.stream(text, voice, speed, cancel=cancelled, **where):
            made += len(chunk.audio)
            keep = keep and made <= KEEP_FOR_SAVE_S * SAMPLE_RATE
            if keep:
                parts.append(chunk.audio)
            else:
                parts.clear()  # too long to keep: Save will make it again, memory stays flat
            synth_s += chunk.synth_s
            self.chunk_ready.emit(request, chunk)
            self._wait_for_listener(request, made, cancelled)
        if cancelled():
            self.speech_cancelled.emit(request)
            return
        if keep:
            self._last = _Utterance(text, voice, speed, np.concatenate(parts))
        self.speech_done.emit(request, made / SAMPLE_RATE, synth_s)

    def _wait_for_listener(self, request: int, made: int, cancelled: Callable[[], bool]) -> None:
        """Hold the next chunk back while more than MAKE_AHEAD_S is made but not yet heard."""
        limit = MAKE_AHEAD_S * SAMPLE_RATE
        while not cancelled():
            heard_for, heard = self.heard
            if heard_for == request and heard is None:
                return
            if made - (heard if heard_for == request else 0) <= limit:
                return
            time.sleep(_WAIT_POLL_S)

    @Slot(int, str, str, str, float)
    def save(self, request: int, path: str, text: str, voice: str, speed: float) -> None:
        if request != self.wanted_save:
            return
        try:
            self._save(request, path, text, voice, speed)
        except (EngineError, OSError) as exc:
            log.warning("save to %s failed: %s", path, exc)
            self.save_failed.emit(request, str(exc))
        except Exception as exc:
            log.exception("saving failed")
            self.save_failed.emit(request, f"Saving failed: {exc}")
            self.crashed.emit(f"Saving failed: {exc}")

    def _save(self, request: int, path: str, text: str, voice: str, speed: float) -> None:
        from fasttts_desktop.wavfile import write_wav_atomic

        engine = self._engine_or_error()
        voice = engine.voice(voice or None).name

        def cancelled() -> bool:
            return self.wanted_save != request

        last = self._last
        if last is not None and (last.text, last.voice, last.speed) == (text, voice, speed):
            audio = last.audio  # what was just played, sample for sample
            self.save_progress.emit(request, 1, 1)
        else:
            parts = []
            self.save_progress.emit(request, 0, max(1, engine.estimate_chunks(text)))
            for chunk in engine.stream(text, voice, speed, cancel=cancelled, batch=engine.export_batch):
                parts.append(chunk.audio)
                self.save_progress.emit(request, chunk.index + 1, chunk.total)
            if cancelled():
                self.save_failed.emit(request, "")
                return
            audio = np.concatenate(parts)
            self._last = _Utterance(text, voice, speed, audio)
        if cancelled():
            self.save_failed.emit(request, "")
            return
        write_wav_atomic(path, audio, SAMPLE_RATE)
        log.info("saved %.1f s of audio to %s", len(audio) / SAMPLE_RATE, path)
        self.saved.emit(request, path)
