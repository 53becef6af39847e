"""What the window talks to: speak, stop, save, shut down. Lives on the GUI thread.

It owns the engine thread (EngineWorker on a QThread) and the Player, routes the engine's chunks to the
player as they come, and turns both sides' reports into one summary per utterance.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, Signal, Slot

from fasttts_desktop.worker.engine_worker import EngineInfo, EngineWorker, Progress
from fasttts_desktop.worker.audio_output import PlaybackStats
from fasttts_desktop.worker.player import Player

log = logging.getLogger(__name__)

# Engine threads (and their workers) that outlived a shutdown wait, a chunk still being made: kept referenced
# until they end, so neither a running QThread nor the object it is running is garbage-collected.
_leftovers: list[tuple[QThread, QObject]] = []


@dataclass(frozen=True)
class UtteranceStats:
    # From Speak (or from the engine becoming ready, when Speak came while it loaded) to the first sample at
    # the speaker; None: nothing was heard.
    first_sound_s: float | None
    audio_s: float
    synth_s: float
    underruns: int  # gaps while more audio was expected
    underrun_s: float
    device_underflows: int
    chunks: int

    @property
    def rtf(self) -> float:
        """Real-time factor: seconds of compute per second of audio (below 1 is faster than real time)."""
        return self.synth_s / self.audio_s if self.audio_s else 0.0


@dataclass
class _Utterance:
    request: int
    pressed: float  # perf_counter() at Speak, moved to when the engine became ready if it was still loading
    chunks: int = 0
    synth: tuple[float, float] | None = None  # (audio seconds, synthesis seconds) once all is made
    playback: PlaybackStats | None = None
    silent: bool = False  # no output device: it finishes when synthesis does


class SpeechService(QObject):
    load_progress = Signal(str, float)
    ready = Signal(object)  # EngineInfo
    load_failed = Signal(str)
    busy_changed = Signal(bool)  # an utterance is being made or played
    progress = Signal(int, int)  # chunks made, chunks expected
    utterance_finished = Signal(object)  # UtteranceStats
    speech_error = Signal(str)
    device_problem = Signal(str)  # "" once sound works again
    save_progress = Signal(int, int)
    saved = Signal(str)
    save_failed = Signal(str)  # "" when cancelled
    crashed = Signal(str)
    chunk_played = Signal(int, object)  # request, AudioChunk: what went to the player (tests and logs)

    _request_load = Signal()
    _request_speak = Signal(int, str, str, float)
    _request_save = Signal(int, str, str, str, float)

    def __init__(self, load_engine: Callable[[Progress], object], player: Player | None = None, parent=None):
        super().__init__(parent)
        self.engine_info: EngineInfo | None = None
        self._next_request = 0
        self._utterance: _Utterance | None = None
        self._save_request = 0  # the save in progress, 0 when none
        self._started = False
        self._shut_down: bool | None = None

        self.player = player or Player(parent=self)
        self.player.finished.connect(self._on_played)
        self.player.device_problem.connect(self.device_problem)

        self._thread = QThread()
        self._thread.setObjectName("engine")
        self._worker = EngineWorker(load_engine)
        self._worker.moveToThread(self._thread)
        self._request_load.connect(self._worker.load)
        self._request_speak.connect(self._worker.speak)
        self._request_save.connect(self._worker.save)
        w = self._worker
        w.load_progress.connect(self.load_progress)
        w.loaded.connect(self._on_loaded)
        w.load_failed.connect(self.load_failed)
        w.speech_started.connect(self._on_started)
        w.chunk_ready.connect(self._on_chunk)
        w.speech_done.connect(self._on_made)
        w.speech_cancelled.connect(self._on_cancelled)
        w.speech_failed.connect(self._on_failed)
        w.save_progress.connect(self._on_save_progress)
        w.saved.connect(self._on_saved)
        w.save_failed.connect(self._on_save_failed)
        w.crashed.connect(self.crashed)

    def start(self) -> None:
        """Start the engine thread and begin loading; returns at once."""
        self._started = True
        self._thread.start()
        self._request_load.emit()

    @property
    def is_ready(self) -> bool:
        return self.engine_info is not None

    @property
    def busy(self) -> bool:
        return self._utterance is not None

    def _new_request(self) -> int:
        self._next_request += 1
        return self._next_request

    def speak(self, text: str, voice: str, speed: float) -> int:
        """Replace whatever is being said with `text`. Before the engine is ready it waits its turn."""
        self.player.stop()
        request = self._new_request()
        self._worker.wanted_speech = request  # the old utterance's synthesis ends at its next chunk
        self._utterance = _Utterance(request, time.perf_counter())
        log.info(
            "speak #%d: %d characters, voice %s, speed %.2f", request, len(text), voice or "default", speed
        )
        self._request_speak.emit(request, text, voice, speed)
        self.busy_changed.emit(True)
        return request

    def stop(self) -> None:
        """Silence at once and drop the rest of the utterance and any save in progress."""
        self._worker.wanted_speech = 0
        self.cancel_save()
        stats = self.player.stop()
        if self._utterance is not None:
            log.info("stop #%d (%.1f s played)", self._utterance.request, stats.played_s if stats else 0.0)
            self._utterance = None
            self.busy_changed.emit(False)

    def save(self, path: str, text: str, voice: str, speed: float) -> None:
        self._save_request = self._new_request()
        self._worker.wanted_save = self._save_request
        log.info("save #%d to %s", self._save_request, path)
        self._request_save.emit(self._save_request, path, text, voice, speed)

    @property
    def saving(self) -> bool:
        return self._save_request != 0

    def cancel_save(self) -> None:
        """Abandon the save in progress; its file is never written (the writer is atomic)."""
        self._worker.wanted_save = 0
        if self._save_request:
            log.info("save #%d cancelled", self._save_request)
            self._save_request = 0
            self.save_failed.emit("")

    def shutdown(self, wait_s: float = 3.0) -> bool:
        """Stop sound and the engine thread. False if a chunk was still being made after `wait_s`."""
        if self._shut_down is not None:
            return self._shut_down
        self._shut_down = self._shutdown(wait_s)
        return self._shut_down

    def _shutdown(self, wait_s: float) -> bool:
        self.player.stop()
        self._worker.close()
        self._utterance = None
        if not self._started:
            return True
        self._thread.quit()
        if self._thread.wait(int(wait_s * 1000)):
            return True
        log.warning("engine thread still busy after %.1f s; leaving it to finish its chunk", wait_s)
        leftover = (self._thread, self._worker)
        _leftovers.append(leftover)
        self._thread.finished.connect(lambda: _leftovers.remove(leftover))
        return False

    # --- reports from the engine thread and the player ---

    def _current(self, request: int) -> _Utterance | None:
        u = self._utterance
        return u if u is not None and u.request == request else None

    @Slot(object)
    def _on_loaded(self, info: EngineInfo) -> None:
        self.engine_info = info
        if self._utterance is not None:
            # Waiting for the load is not speech latency; the status bar would report the load time.
            self._utterance.pressed = time.perf_counter()
        self.ready.emit(info)

    @Slot(int, int)
    def _on_started(self, request: int, expected: int) -> None:
        if self._current(request):
            self.progress.emit(0, expected)

    @Slot(int, object)
    def _on_chunk(self, request: int, chunk) -> None:
        u = self._current(request)
        if u is None:
            return  # the tail of a stopped or replaced utterance
        u.chunks += 1
        self.progress.emit(chunk.index + 1, chunk.total)
        self.chunk_played.emit(request, chunk)
        if not u.silent and not self.player.play(request, chunk.audio):
            u.silent = True

    @Slot(int, float, float)
    def _on_made(self, request: int, audio_s: float, synth_s: float) -> None:
        u = self._current(request)
        if u is None:
            return
        u.synth = (audio_s, synth_s)
        self.player.end(request)
        self._maybe_finish(u)

    @Slot(int, object)
    def _on_played(self, request: int, stats: PlaybackStats) -> None:
        u = self._current(request)
        if u is not None:
            u.playback = stats
            self._maybe_finish(u)

    def _maybe_finish(self, u: _Utterance) -> None:
        if u.synth is None or (u.playback is None and not u.silent):
            return
        audio_s, synth_s = u.synth
        pb = u.playback
        first = pb.first_sound - u.pressed if pb is not None and pb.first_sound is not None else None
        stats = UtteranceStats(
            first_sound_s=first,
            audio_s=audio_s,
            synth_s=synth_s,
            underruns=pb.underruns if pb else 0,
            underrun_s=pb.underrun_s if pb else 0.0,
            device_underflows=pb.device_underflows if pb else 0,
            chunks=u.chunks,
        )
        log.info(
            "utterance #%d finished: first sound %s, %.2f s of audio in %d chunks, RTF %.3f, "
            "%d underruns (%.2f s), %d device underflows",
            u.request,
            f"{first:.3f} s" if first is not None else "none",
            audio_s,
            u.chunks,
            stats.rtf,
            stats.underruns,
            stats.underrun_s,
            stats.device_underflows,
        )
        self._utterance = None
        self.busy_changed.emit(False)
        self.utterance_finished.emit(stats)

    @Slot(int)
    def _on_cancelled(self, request: int) -> None:
        if self._current(request):  # cancelled without Stop: only a shutdown does that
            self._utterance = None
            self.busy_changed.emit(False)

    @Slot(int, str)
    def _on_failed(self, request: int, message: str) -> None:
        if self._current(request) is None:
            return
        log.warning("speak #%d failed: %s", request, message)
        self.player.stop()
        self._utterance = None
        self.busy_changed.emit(False)
        self.speech_error.emit(message)

    @Slot(int, int, int)
    def _on_save_progress(self, request: int, done: int, total: int) -> None:
        if request == self._save_request:
            self.save_progress.emit(done, total)

    @Slot(int, str)
    def _on_saved(self, request: int, path: str) -> None:
        if request == self._save_request:
            self._save_request = 0
            self.saved.emit(path)

    @Slot(int, str)
    def _on_save_failed(self, request: int, message: str) -> None:
        if request == self._save_request:
            self._save_request = 0
            self.save_failed.emit(message)
