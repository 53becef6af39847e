"""The engine's own thread: loads it, then turns speak and save requests into audio.

Lives on a QThread (moved there by SpeechService). Requests arrive as queued slot calls; results leave as
signals carrying plain data (ids, strings, numbers, numpy arrays, the engine's AudioChunk). Cancelling
cannot wait for the event loop, which is busy synthesizing, so the GUI thread sets the wanted request ids
directly and the engine polls them between chunks.
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



@dataclass(frozen=True)
class EngineInfo:
    description: str  # the active path, for the status bar
    notice: str  # something the user should know about this setup, or ""
    voices: list[tuple[str, str]]  # (name, label) in display order
    default_voice: str


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

    @Slot(int, str, str, float)
    def speak(self, request: int, text: str, voice: str, speed: float) -> None:
        if request != self.wanted_speech:
            return  # stopped or replaced while it waited (for instance while the engine was loading)
        try:
            self._speak(request, text, voice, speed)
        except EngineError as exc:
            self.speech_failed.emit(request, str(exc))
        except Exception as exc:
            log.exception("speaking failed")
            self.speech_failed.emit(request, f"Speaking failed: {exc}")
            self.crashed.emit(f"Speaking failed: {exc}")

    def _speak(self, request: int, text: str, voice: str, speed: float) -> None:
        engine = self._engine_or_error()
        voice = engine.voice(voice or None).name

        def cancelled() -> bool:
            return self.wanted_speech != request

        self.speech_started.emit(request, max(1, engine.estimate_chunks(text)))
        parts, synth_s = [], 0.0
        for chunk in engine.stream(text, voice, speed, cancel=cancelled):
            parts.append(chunk.audio)
            synth_s += chunk.synth_s
            self.chunk_ready.emit(request, chunk)
        if cancelled():
            self.speech_cancelled.emit(request)
            return
        audio = np.concatenate(parts)
        self._last = _Utterance(text, voice, speed, audio)
        self.speech_done.emit(request, len(audio) / SAMPLE_RATE, synth_s)

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
