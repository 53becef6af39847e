"""One utterance's way to the sound card: the audio waiting to be played, a PortAudio callback and its clock.

No Qt here. The owner (worker/player.py) calls the methods from one thread; the callback runs on
PortAudio's thread. They share a deque of arrays (appends and pops are atomic) and plain attributes that
only one side writes, so neither ever waits for the other.

The callback reads the audio sample by sample, so it can stop anywhere (pause) and go on from the very
next sample (resume), fading a few milliseconds at both ends so neither clicks. For each block it notes
which utterance sample the block starts with and when PortAudio says that block reaches the DAC: that is
the clock the highlight follows (`heard_sample`), not the time the audio was made.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fasttts_desktop.engine.types import SAMPLE_RATE
from fasttts_desktop.playback.sound_stream import NoOutputDevice, open_sounddevice_stream, sounddevice_module

log = logging.getLogger(__name__)

TAIL_PAD_SECONDS = 0.25  # the last ~100-250 ms are lost in the PortAudio/PulseAudio path without it
PAUSE_FADE_S = 0.005  # short enough to feel instant, long enough not to click
STOP_FADE_S = 0.02
_CLOCK_RECORDS = 64  # blocks remembered for the clock: far more than the device ever buffers


@dataclass(frozen=True)
class PlaybackStats:
    first_sound: float | None  # time.perf_counter() when the first sample was due at the speaker
    underruns: int  # times the audio ran out while more was still expected
    underrun_s: float  # silence those gaps inserted
    device_underflows: int  # PortAudio's own output-underflow flags (the callback came too late)
    played_s: float  # audio handed to the device, padding excluded


class Playback:
    """Plays one utterance whose audio arrives in pieces; pause, resume, stop; discard it after `close`."""

    def __init__(
        self,
        on_finished: Callable[[], None],
        *,
        sample_rate: int = SAMPLE_RATE,
        open_stream: Callable = open_sounddevice_stream,
    ):
        self._on_finished = on_finished  # called on PortAudio's thread once the last sample has played
        self._rate = sample_rate
        self.device = ""  # the output's key (output_devices.py), used by the next open
        self._open_stream = open_stream
        self._pending: deque[np.ndarray] = deque()  # fed, not yet (wholly) handed to the device
        self._pos = 0  # samples of _pending[0] already handed over
        self._fed = 0
        self._ended = False
        self._pad_frames = round(TAIL_PAD_SECONDS * sample_rate)
        self._pause_step = 1.0 / max(1, round(PAUSE_FADE_S * sample_rate))
        # Written by the owner, read by the callback.
        self._target = 1.0  # 1 playing, 0 paused or stopped
        self._step = self._pause_step  # gain change per sample while fading
        self._stopping = False
        # The stream is swapped (opened, parked, closed) by the owner while others may read its clock.
        self._lock = threading.Lock()
        self._stream = None
        self._latency = 0.0
        self._parked = False
        self._heard_floor = 0  # what was heard before the clock's oldest record (or the stream) began
        self._callback_stop: type[Exception] = Exception
        # Written only by the callback.
        self._gain = 1.0
        self._consumed = 0
        self._clock: deque[tuple[float, int, int]] = deque(maxlen=_CLOCK_RECORDS)  # (dac, first, n)
        self._silent_at: float | None = None  # stream time when the stop fade has been heard out
        self._quiet_at: float | None = None  # stream time when a pause's fade has been heard out
        self._natural_end = False
        self._padded = 0
        self._first_sound: float | None = None
        self._underruns = 0
        self._starved = 0
        self._starving = False
        self._device_underflows = 0

    # --- the owner's side ---

    def start(self) -> None:
        """Open and start the stream; feed the first audio before, so that sound starts with the stream.

        Raises NoOutputDevice.
        """
        self._callback_stop = sounddevice_module().CallbackStop
        self._open_and_start()

    def feed(self, audio: np.ndarray) -> None:
        """Queue more of the utterance; never blocks."""
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        self._fed += len(audio)
        self._pending.append(audio)

    def end(self) -> None:
        """No more audio will come: play what is queued, then a little silence, then finish."""
        self._ended = True

    def pause(self) -> None:
        """Fade out within a few ms from the next block on; nothing queued is lost."""
        self._step = self._pause_step
        self._target = 0.0
        if self._stream is None and not self._consumed:
            self._gain = 0.0  # nothing played yet, so nothing to fade: the first sound will fade in

    def fade_out(self, seconds: float) -> None:
        """Fade to silence over `seconds` (the sleep timer's slow fade); what is queued waits, as paused."""
        self._step = 1.0 / max(1, round(seconds * self._rate))
        self._target = 0.0

    def resume(self) -> None:
        """Fade in from the next sample not yet played. Raises NoOutputDevice if a parked stream cannot
        be opened again."""
        if self._stopping:
            return
        self._step = self._pause_step
        self._target = 1.0
        if self._parked:
            self._open_and_start()  # parked until it opens: a failed resume can be tried again
            self._parked = False

    def park(self) -> bool:
        """While paused, give the device back (it is silent anyway); `resume` opens it again.

        False when not paused and faded out yet.
        """
        if self._target or self._gain or self._stopping or self._stream is None:
            return False
        self._close_stream()
        self._parked = True
        log.info("playback paused for long: the output is closed until resume")
        return True

    def faded_out(self) -> bool:
        """Paused, and the fade has reached the speaker (or there is no stream): a switch of device now
        loses nothing, since what the old device still holds is silence."""
        with self._lock:
            stream = self._stream
            if stream is None:
                return True
            quiet_at = self._quiet_at
            return not self._target and quiet_at is not None and stream.time >= quiet_at

    def reopen(self) -> None:
        """Close the stream and open one on `device`, going on from the next sample not yet played (call
        it when `faded_out`, then `resume`). Raises NoOutputDevice; the stream is closed then."""
        if self._parked or self._stopping:
            return  # a parked stream opens on `device` at resume anyway; a stopped one is done
        self._close_stream()
        self._open_and_start()

    def stop(self) -> None:
        """Fade out over STOP_FADE_S and go silent; `close` then aborts the stream."""
        was_silent = not self._target and not self._gain
        self._stopping = True
        self._step = 1.0 / max(1, round(STOP_FADE_S * self._rate))
        self._target = 0.0
        if was_silent and self._clock:  # paused and faded out: silent once the last block recorded is
            dac, _, n = self._clock[-1]
            self._silent_at = dac + n / self._rate

    def stopped_silent(self) -> bool:
        """The stop fade has reached the speaker (or there is no running stream to fade)."""
        with self._lock:
            stream = self._stream
            if stream is None or not stream.active:
                return True
            return self._silent_at is not None and stream.time >= self._silent_at

    def close(self, wait: float = 0.3) -> None:
        """Abort and close the stream, after waiting up to `wait` s for a stop fade to be heard out."""
        deadline = time.perf_counter() + wait
        while self._stopping and not self.stopped_silent() and time.perf_counter() < deadline:
            time.sleep(0.005)
        self._close_stream()

    @property
    def paused(self) -> bool:
        return not self._target and not self._stopping

    @property
    def fed_samples(self) -> int:
        return self._fed

    @property
    def queued_samples(self) -> int:
        """Fed but not yet handed to the device."""
        return self._fed - self._consumed

    def heard_sample(self) -> int:
        """The utterance sample at the speaker now: interpolated on the stream's clock between blocks,
        frozen while paused, never past the last fed sample (the tail pad is not the utterance)."""
        with self._lock:
            return self._heard_locked()

    def _heard_locked(self) -> int:
        records = tuple(self._clock)
        if self._stream is None or not records:
            return self._heard_floor
        now = self._stream.time
        for dac, first, n in reversed(records):
            if dac <= now:
                return first + min(n, int((now - dac) * self._rate))
        return records[0][1]  # no recorded block has reached the DAC yet: all before the oldest one has

    @property
    def stats(self) -> PlaybackStats:
        return PlaybackStats(
            first_sound=self._first_sound,
            underruns=self._underruns,
            underrun_s=self._starved / self._rate,
            device_underflows=self._device_underflows,
            played_s=self._consumed / self._rate,
        )

    def _open_and_start(self) -> None:
        sd = sounddevice_module()
        stream = self._open_stream(self._callback, self._stream_finished, self._rate, device=self.device)
        with self._lock:
            self._stream = stream
            self._latency = float(getattr(stream, "latency", 0.0) or 0.0)
        try:
            stream.start()
        except sd.PortAudioError as exc:  # e.g. the device is held by another program
            self._close_stream()
            raise NoOutputDevice(
                f"The audio output could not be started ({exc}). Export Audio… still works."
            ) from exc

    def _close_stream(self) -> None:
        with self._lock:
            if self._stream is not None:
                self._heard_floor = self._heard_locked()  # the clock stands still from here on
            stream, self._stream = self._stream, None
            self._clock.clear()
        if stream is not None:
            sd = sounddevice_module()
            try:
                stream.abort()
                stream.close()
            except sd.PortAudioError as exc:  # the device went away under it: nothing left to close
                log.info("closing a stream whose device is gone: %s", exc)

    # --- PortAudio's thread ---

    def _take(self, out: np.ndarray, limit: int) -> int:
        """Copy up to `limit` queued samples into `out`; how many there were."""
        n = 0
        pending = self._pending
        while n < limit and pending:
            head = pending[0]
            k = min(limit - n, len(head) - self._pos)
            out[n : n + k] = head[self._pos : self._pos + k]
            n += k
            self._pos += k
            if self._pos == len(head):
                pending.popleft()
                self._pos = 0
        self._consumed += n
        return n

    def _callback(self, outdata, frames, time_info, status) -> None:
        if status.output_underflow:
            self._device_underflows += 1
        out = outdata[:, 0]
        target, step, gain = self._target, self._step, self._gain
        first = self._consumed
        n = 0
        if target or gain:
            fade_left = math.ceil(gain / step - 1e-6) if not target else frames
            limit = min(frames, fade_left)
            n = self._take(out, limit)
            if n and gain != target:
                ramp = gain + (step if target else -step) * np.arange(1, n + 1, dtype=np.float32)
                np.clip(ramp, 0.0, 1.0, out=ramp)
                out[:n] *= ramp
                gain = float(ramp[-1])
            if not target and (n >= fade_left or n < limit):
                gain = 0.0  # faded out, or ran out of audio: silent from here on either way
        elif not target:
            gain = 0.0
        self._gain = gain
        out[n:] = 0.0
        dac = time_info.outputBufferDacTime or time_info.currentTime + self._latency
        self._clock.append((dac, first, n))
        if gain:
            self._quiet_at = None
        elif self._quiet_at is None:
            self._quiet_at = dac + n / self._rate  # the last faded sample of this block is then heard
        if n and self._first_sound is None:
            ahead = dac - time_info.currentTime
            self._first_sound = time.perf_counter() + (ahead if 0 < ahead < 1 else 0.0)
        if self._stopping:
            if not gain and self._silent_at is None:
                self._silent_at = dac + n / self._rate
            return
        if n == frames:
            self._starving = False
        elif target:
            self._ran_short(frames - n)

    def _ran_short(self, missing: int) -> None:
        """The block was filled up with silence while playing: the end's padding, or an underrun."""
        if self._ended and not self._pending:
            self._padded += missing
            if self._padded >= self._pad_frames:
                self._natural_end = True
                raise self._callback_stop
            return
        if self._first_sound is None:
            return  # before the first sound the stream is just warming up; that is not an underrun
        self._starved += missing
        if not self._starving:
            self._underruns += 1
        self._starving = True

    def _stream_finished(self) -> None:
        # After its last block, or when the device ended the stream by itself (the sound server died): the
        # owner hears "finished" either way, so the utterance ends. Not after our own abort (stop, park,
        # close), which has taken the stream away from `_stream` first.
        if self._natural_end or self._stream is not None:
            self._on_finished()
