"""What the window talks to: speak, pause, resume, stop, what is heard now, export, shut down. GUI thread.
Exports have their own control (`exports`), and so do questions that make no audio (`tools`).

It owns the engine thread (EngineWorker on a QThread) and the Player, routes the engine's chunks to the
player as they come, places them on the utterance's timeline for the follow-along highlight, posts the
audio clock to the engine thread (which makes audio only so far ahead of it), and turns both sides'
reports into one summary per utterance.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from fasttts_desktop.engine.types import SAMPLE_RATE, AudioChunk
from fasttts_desktop.worker.engine_tools import ToolsControl
from fasttts_desktop.worker.engine_worker import MAKE_AHEAD_S, EngineInfo, EngineWorker, Progress
from fasttts_desktop.worker.export_control import ExportControl
from fasttts_desktop.worker.follow import Heard, Timeline
from fasttts_desktop.worker.player import Player

__all__ = ["MAKE_AHEAD_S", "Heard", "SpeechService", "UtteranceStats"]

# The engine's modules import torch, playback's numpy: loaded when used, after the window is up.
if TYPE_CHECKING:
    from fasttts_desktop.engine.engine_like import EngineLike
    from fasttts_desktop.engine.text.segments import Reading
    from fasttts_desktop.playback.audio_output import PlaybackStats

log = logging.getLogger(__name__)

# Engine threads (and their workers) that outlived a shutdown wait, a chunk still being made: kept referenced
# until they end, so neither a running QThread nor the object it is running is garbage-collected.
_leftovers: list[tuple[QThread, QObject]] = []

_CLOCK_POST_MS = 50  # how often the audio clock goes to the engine thread and `ahead_changed` is updated


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
    timeline: Timeline
    chunks: int = 0
    paused_at: float | None = None  # perf_counter() at Pause, while paused
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
    crashed = Signal(str)
    chunk_played = Signal(int, object)  # request, AudioChunk: what went to the player (tests and logs)
    paused_changed = Signal(bool)
    ahead_changed = Signal(float)  # seconds of audio made but not yet heard (at most ~MAKE_AHEAD_S + a chunk)

    _request_load = Signal()
    _request_speak = Signal(int, str, str, float, int, object)  # ..., start, Reading or None

    def __init__(
        self,
        load_engine: Callable[[Progress], EngineLike],
        player: Player | None = None,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.engine_info: EngineInfo | None = None
        self._next_request = 0
        # How a text is read beyond voice and speed (ui/reading_options.py sets it); None: as written.
        self.reading_for: Callable[[str], Reading | None] | None = None
        self._utterance: _Utterance | None = None
        self._started = False
        self._shut_down: bool | None = None
        self._paused = False
        self._ahead_shown = 0.0
        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(_CLOCK_POST_MS)
        self._clock_timer.timeout.connect(self._post_clock)

        self.player = player or Player(parent=self)
        self.player.finished.connect(self._on_played)
        self.player.device_problem.connect(self.device_problem)

        self._thread = QThread()
        self._thread.setObjectName("engine")
        self._worker = EngineWorker(load_engine)
        self._worker.moveToThread(self._thread)
        # Direct: `finished` is emitted on the engine thread, where the worker's step timer must be stopped.
        self._thread.finished.connect(self._worker.halt, Qt.ConnectionType.DirectConnection)
        self._request_load.connect(self._worker.load)
        self._request_speak.connect(self._worker.speak)
        self.exports = ExportControl(self._worker, self._new_request, self._reading, self)
        self.tools = ToolsControl(self._worker.tools, self)  # voices read again, phonemes, the lexicon
        w = self._worker
        w.load_progress.connect(self.load_progress)
        w.loaded.connect(self._on_loaded)
        w.load_failed.connect(self.load_failed)
        w.speech_started.connect(self._on_started)
        w.chunk_ready.connect(self._on_chunk)
        w.speech_done.connect(self._on_made)
        w.speech_cancelled.connect(self._on_cancelled)
        w.speech_failed.connect(self._on_failed)
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

    def _reading(self, text: str) -> Reading | None:
        return self.reading_for(text) if self.reading_for else None

    def _new_request(self) -> int:
        self._next_request += 1
        return self._next_request

    def speak(self, text: str, voice: str, speed: float, start: int = 0) -> int:
        """Replace whatever is being said (and a pause) with `text` read from character `start` on.

        Chunk and word offsets stay in the coordinates of the whole `text`, so skipping is speaking the
        same text from the next sentence's offset. Before the engine is ready it waits its turn.
        """
        self.player.stop()
        request = self._new_request()
        self._worker.wanted.speak(request)  # the old utterance's synthesis ends at its next chunk
        self._utterance = _Utterance(request, time.perf_counter(), Timeline(request))
        self._set_paused(False)
        where = f"{len(text)} characters from {start}, voice {voice or 'default'}, speed {speed:.2f}"
        log.info("speak #%d: %s", request, where)
        self._request_speak.emit(request, text, voice, speed, start, self._reading(text))
        self._clock_timer.start()
        self.busy_changed.emit(True)
        return request

    def stop(self) -> None:
        """Fade out (~20 ms, silent within 100 ms) and drop the rest of the utterance (not an export:
        that goes on beside the reading until `exports.cancel`)."""
        self._worker.wanted.stop_speech()
        stats = self.player.stop()
        if self._utterance is not None:
            log.info("stop #%d (%.1f s played)", self._utterance.request, stats.played_s if stats else 0.0)
            self._end_utterance()

    @property
    def paused(self) -> bool:
        return self._paused

    def fade_out(self, seconds: float) -> None:
        """Fade what is being read to silence over `seconds`; call stop() after (the sleep timer)."""
        if self._utterance is not None:
            self.player.fade_out(seconds)

    def pause(self) -> None:
        """Silence within ~50 ms; the audio made so far is kept. Works while the engine loads, too."""
        u = self._utterance
        if u is None or self._paused:
            return
        self.player.pause()
        u.paused_at = time.perf_counter()
        log.info("pause #%d", u.request)
        self._set_paused(True)

    def resume(self) -> None:
        """Go on from the next sample that was not yet played."""
        u = self._utterance
        if u is None or not self._paused:
            return
        if u.paused_at is not None and not self.player.started_sound:
            u.pressed += time.perf_counter() - u.paused_at  # a pause is not time to first sound
        u.paused_at = None
        log.info("resume #%d", u.request)
        self._set_paused(False)
        if not self.player.resume():
            u.silent = True  # the output went away during the pause; the engine need not wait for it
            self._worker.wanted.hear(u.request, None)
            self._maybe_finish(u)  # ends now if all was made already

    def _set_paused(self, paused: bool) -> None:
        if paused != self._paused:
            self._paused = paused
            self.paused_changed.emit(paused)

    def heard(self) -> Heard | None:
        """What is at the speaker now (word, chunk, seconds); None when nothing is being played."""
        u = self._utterance
        if u is None or u.silent:
            return None
        sample = self.player.heard_sample()
        return u.timeline.at(sample) if sample is not None else None

    @property
    def ahead_s(self) -> float:
        """Seconds of audio made but not yet heard (what a make-ahead progress bar shows)."""
        u = self._utterance
        if u is None or u.silent:
            return 0.0
        return max(0, u.timeline.samples - (self.player.heard_sample() or 0)) / SAMPLE_RATE

    def _end_utterance(self) -> None:
        self._utterance = None
        self._clock_timer.stop()
        self._set_paused(False)
        self._show_ahead(0.0)
        self.busy_changed.emit(False)

    @Slot()
    def _post_clock(self) -> None:
        u = self._utterance
        if u is None:
            return
        if not u.silent:
            self._worker.wanted.hear(u.request, self.player.heard_sample() or 0)
        self._show_ahead(self.ahead_s)

    def _show_ahead(self, seconds: float) -> None:
        if abs(seconds - self._ahead_shown) >= 0.05 or (seconds == 0) != (self._ahead_shown == 0):
            self._ahead_shown = seconds
            self.ahead_changed.emit(seconds)

    def shutdown(self, wait_s: float = 3.0) -> bool:
        """Stop sound and the engine thread. False if a chunk was still being made after `wait_s`."""
        if self._shut_down is not None:
            return self._shut_down
        self._shut_down = self._shutdown(wait_s)
        return self._shut_down

    def _shutdown(self, wait_s: float) -> bool:
        self.player.shutdown()
        self._worker.close()
        self._utterance = None
        self._clock_timer.stop()
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
    def _on_chunk(self, request: int, chunk: AudioChunk) -> None:
        u = self._current(request)
        if u is None:
            return  # the tail of a stopped or replaced utterance
        u.chunks += 1
        self.progress.emit(chunk.index + 1, chunk.total)
        self.chunk_played.emit(request, chunk)
        if u.silent:
            return
        if self.player.play(request, chunk.audio):
            u.timeline.add(chunk)
        else:
            u.silent = True
            self._worker.wanted.hear(request, None)  # nobody listens: make the rest without waiting

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
        self._end_utterance()
        self.utterance_finished.emit(stats)

    @Slot(int)
    def _on_cancelled(self, request: int) -> None:
        if self._current(request):  # cancelled without Stop: only a shutdown does that
            self._end_utterance()

    @Slot(int, str)
    def _on_failed(self, request: int, message: str) -> None:
        if self._current(request) is None:
            return
        log.warning("speak #%d failed: %s", request, message)
        self.player.stop()
        self._end_utterance()
        self.speech_error.emit(message)
