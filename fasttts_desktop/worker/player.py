"""The Qt side of playback: one Playback per utterance, started, paused, stopped and closed on the GUI
thread."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from fasttts_desktop.playback.output_devices import OutputDevice, describe, list_outputs
from fasttts_desktop.playback.sound_stream import NoOutputDevice, warm_up_output

if TYPE_CHECKING:  # audio_output imports numpy (0.2-0.3 s): see _playback
    import numpy as np

    from fasttts_desktop.playback.audio_output import Playback, PlaybackStats

log = logging.getLogger(__name__)

PARK_AFTER_S = 10.0  # a pause this long gives the output device back (reopened on resume)
_RETIRE_POLL_MS = 10  # how often stopped playbacks are checked for having faded out
_RETIRE_LIMIT_S = 0.3  # a stopped playback is closed by then whether or not its fade was seen to end
_MOVE_POLL_MS = 5  # how often a playback moving to another output checks that its fade has been heard
_MOVE_LIMIT_S = 0.5  # it moves by then even if the old device never reported the fade as played


def _playback(*args, **kwargs) -> Playback:
    """A real Playback; its module (and numpy) imported at the first utterance, not with the window."""
    from fasttts_desktop.playback.audio_output import Playback

    return Playback(*args, **kwargs)


class Player(QObject):
    """Plays utterances one at a time; a new one or `stop` fades the old one out at once."""

    finished = Signal(int, object)  # request id, PlaybackStats: the last sample has been played
    device_problem = Signal(str)  # why sound cannot be played, for the user; "" once it can again
    # Emitted on PortAudio's thread; a queued connection brings it back here to close the stream.
    _stream_done = Signal(int)

    def __init__(
        self,
        make_playback: Callable[..., Playback] | None = None,  # None: a real Playback
        warm_up: Callable[[], None] = warm_up_output,
        parent: QObject | None = None,
        *,
        park_after_s: float | None = None,  # PARK_AFTER_S
    ):
        super().__init__(parent)
        self._make_playback = make_playback or _playback
        self._warm_up = warm_up
        self._problem = ""
        self._playback: Playback | None = None
        self._request = 0
        # Request ids only grow; pieces of a request that was stopped, failed or finished are dropped.
        self._done_up_to = 0
        self._paused = False
        # Stopped playbacks still fading out, with when they must be closed at the latest.
        self._retiring: list[tuple[Playback, float]] = []
        self._retire_timer = QTimer(self)
        self._retire_timer.setInterval(_RETIRE_POLL_MS)
        self._retire_timer.timeout.connect(self._close_retired)
        self._park_timer = QTimer(self)
        self._park_timer.setSingleShot(True)
        self._park_timer.setInterval(round((PARK_AFTER_S if park_after_s is None else park_after_s) * 1000))
        self._park_timer.timeout.connect(self._park)
        self._stream_done.connect(self._on_stream_done)
        self._output = ""  # the chosen output's key (output_devices.py); "" is the system default
        self._moving: tuple[Playback, float] | None = None  # (playback, deadline) while it changes output
        self._move_timer = QTimer(self)
        self._move_timer.setInterval(_MOVE_POLL_MS)
        self._move_timer.timeout.connect(self._finish_move)

    def probe(self) -> bool:
        """Find the output device now (the first open costs ~0.25 s), so Speak does not pay for it."""
        try:
            self._warm_up()
        except NoOutputDevice as exc:
            self._set_problem(str(exc))
            return False
        self._set_problem("")
        return True

    def _set_problem(self, message: str) -> None:
        if message != self._problem:
            self._problem = message
            self.device_problem.emit(message)

    @Slot(int, object)
    def play(self, request: int, audio: np.ndarray) -> bool:
        """Queue a piece of utterance `request`; the first piece of a new request replaces the old one.

        False when it will not be heard (no output device, or the request is over). A new request made
        while paused starts paused: nothing is heard until `resume`.
        """
        if request <= self._done_up_to:
            return False
        if request != self._request:
            paused = self._paused
            self.stop()
            self._request = request
            playback = self._make_playback(lambda: self._stream_done.emit(request))
            playback.device = self._output
            if paused:
                playback.pause()
            playback.feed(audio)
            try:
                notice = self._start(playback)
            except NoOutputDevice as exc:
                self._done_up_to = request
                self._set_problem(str(exc))
                return False
            self._set_problem(notice)
            self._playback = playback
            self._paused = paused
            if paused:
                self._park_timer.start()
        else:
            current = self._playback
            if current is None:  # never: a request whose playback is gone is marked done above
                return False
            current.feed(audio)
        return True

    def _start(self, playback: Playback) -> str:
        """Start on the chosen output, else on the system default; what the user should know, or ""."""
        try:
            self._start_on(playback)
        except NoOutputDevice as exc:
            if not playback.device:
                raise
            log.warning("%s; playing on the system default", exc)
            playback.device = ""
            self._start_on(playback)
            return f"{exc} Playing on the system default output instead."
        return ""

    def _start_on(self, playback: Playback) -> None:
        try:
            playback.start()
        except NoOutputDevice:
            if not self._retiring:
                raise
            # A device that takes one stream at a time is still held by the one fading out: let it go.
            self._close_retired(force=True)
            playback.start()

    @Slot(int)
    def end(self, request: int) -> None:
        """Utterance `request` has no more audio coming."""
        if request == self._request and self._playback is not None:
            self._playback.end()

    def fade_out(self, seconds: float) -> None:
        """Fade the reading to silence over `seconds` (then stop it: the owner's call)."""
        if self._playback is not None:
            self._playback.fade_out(seconds)

    @Slot()
    def pause(self) -> None:
        """Silence within a few ms of the next block; what is queued waits. Also before the first piece."""
        if self._paused:
            return
        self._paused = True
        if self._playback is not None:
            self._playback.pause()
            self._park_timer.start()

    @Slot()
    def resume(self) -> bool:
        """Go on from the next sample not yet played. False if the output has gone meanwhile (the
        utterance then cannot be heard any more; device_problem says why)."""
        if not self._paused:
            return True
        self._paused = False
        self._park_timer.stop()
        playback = self._playback
        if playback is None:
            return True
        if self._moving is not None:
            return True  # the move resumes it once the new output is open
        try:
            playback.resume()
        except NoOutputDevice as exc:
            if not playback.device:
                self._fail_playing(exc)
                return False
            playback.device = ""  # the chosen output is gone: the default, and say so
            return self._resume_on_default(playback, exc)
        return True

    def _resume_on_default(self, playback: Playback, exc: NoOutputDevice) -> bool:
        try:
            playback.resume()
        except NoOutputDevice as again:
            self._fail_playing(again)
            return False
        self._set_problem(f"{exc} Playing on the system default output instead.")
        return True

    def _fail_playing(self, exc: NoOutputDevice) -> None:
        """The current utterance cannot be heard any more; device_problem says why."""
        self._done_up_to = self._request
        playback, self._playback = self._playback, None
        if playback is not None:
            playback.stop()
            playback.close(wait=0)
        self._set_problem(str(exc))

    @property
    def paused(self) -> bool:
        return self._paused

    # --- the output device ---

    @property
    def output(self) -> str:
        return self._output

    def outputs(self) -> list[OutputDevice]:
        """The outputs to choose from now. PortAudio looks for new devices only while no stream of ours
        is open (looking again closes every stream); otherwise the list is the one it had."""
        return list_outputs(rescan=not self.streams_open())

    def streams_open(self) -> bool:
        return self._playback is not None or bool(self._retiring) or self._moving is not None

    def set_output(self, key: str) -> None:
        """Play on output `key` from now on. What is being played moves there at the position reached:
        it fades out (a few ms), the old stream closes once that fade has been heard, and the new one
        fades in from the next sample. While paused it moves too, and stays paused."""
        if key == self._output:
            return
        log.info("output: %s", describe(key))
        self._output = key
        playback = self._playback
        if playback is None:
            return
        playback.device = key
        playback.pause()  # the Playback's own pause: the Player's (the user's) stays as it was
        self._moving = (playback, time.perf_counter() + _MOVE_LIMIT_S)
        self._move_timer.start()

    @Slot()
    def _finish_move(self) -> None:
        if self._moving is None:  # the timer runs only while a playback moves
            self._move_timer.stop()
            return
        playback, deadline = self._moving
        if playback is not self._playback:  # stopped or finished meanwhile
            self._moving = None
            self._move_timer.stop()
            return
        if not playback.faded_out() and time.perf_counter() < deadline:
            return
        self._moving = None
        self._move_timer.stop()
        try:
            playback.reopen()
            if not self._paused:  # the user may have paused meanwhile
                playback.resume()
            self._set_problem("")
        except NoOutputDevice as exc:
            log.warning("%s; back to the system default", exc)
            playback.device = ""
            try:
                playback.reopen()
                if not self._paused:
                    playback.resume()
                self._set_problem(f"{exc} Playing on the system default output instead.")
            except NoOutputDevice as again:
                self._fail_playing(again)

    @Slot()
    def stop(self) -> PlaybackStats | None:
        """Fade out (~20 ms) and drop the rest; the stream is closed once the fade has been heard."""
        self._done_up_to = self._request
        self._paused = False
        self._park_timer.stop()
        playback, self._playback = self._playback, None
        if playback is None:
            return None
        playback.stop()
        self._retiring.append((playback, time.perf_counter() + _RETIRE_LIMIT_S))
        self._retire_timer.start()
        return playback.stats

    def shutdown(self) -> None:
        """Stop and close everything now (waiting for the fade at most a few tens of ms)."""
        self.stop()
        for playback, _ in self._retiring:
            playback.close(wait=0.15)
        self._retiring.clear()
        self._retire_timer.stop()

    @property
    def playing(self) -> bool:
        return self._playback is not None

    @property
    def started_sound(self) -> bool:
        """The current utterance has had its first sample handed to the speaker."""
        return self._playback is not None and self._playback.stats.first_sound is not None

    def heard_sample(self) -> int | None:
        """The current utterance's sample at the speaker now; None when nothing is playing."""
        playback = self._playback
        return playback.heard_sample() if playback is not None else None

    def queued_samples(self) -> int:
        playback = self._playback
        return playback.queued_samples if playback is not None else 0

    @Slot()
    def _close_retired(self, force: bool = False) -> None:
        now = time.perf_counter()
        keep: list[tuple[Playback, float]] = []
        for playback, deadline in self._retiring:
            if force or now >= deadline or playback.stopped_silent():
                playback.close(wait=0)
            else:
                keep.append((playback, deadline))
        self._retiring = keep
        if not keep:
            self._retire_timer.stop()

    @Slot()
    def _park(self) -> None:
        if self._paused and self._playback is not None and not self._playback.park():
            self._park_timer.start()  # not faded out yet (the device stalled?): try again later

    @Slot(int)
    def _on_stream_done(self, request: int) -> None:
        if request != self._request or self._playback is None:
            return  # a stream that was stopped or replaced meanwhile
        self._done_up_to = request
        playback, self._playback = self._playback, None
        playback.close(wait=0)
        self.finished.emit(request, playback.stats)
