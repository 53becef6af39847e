"""A stand-in for sounddevice.OutputStream: calls the Playback callback from a thread at a steady pace
and keeps everything it was given, so playback can be tested with no sound server."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import numpy as np
import sounddevice

from fasttts_desktop.playback.sound_stream import BLOCK_FRAMES

FRAMES = BLOCK_FRAMES or 256  # what a host asked to choose gives (ALSA->PulseAudio: 208)


class FakeStream:
    def __init__(self, callback, finished_callback, sample_rate, pace: float = 1.0, latency: float = 0.0):
        self.callback = callback
        self.finished_callback = finished_callback
        self.rate = sample_rate
        self.pace = pace  # 1.0 = real time; smaller runs faster (and so does the stream's clock)
        self.latency = latency  # how long after it is taken a block reaches the "speaker"
        self.blocks: list[np.ndarray] = []  # what reached the "speaker"
        self.block_times: list[float] = []  # perf_counter() when each block was taken
        self.dac_times: list[float] = []  # the stream-clock time each block was due at the speaker
        self.handed_times: list[float] = []  # the stream-clock time each block's callback returned
        self.underflow_at: set[int] = set()  # callback numbers that report a device underflow
        self.aborted = threading.Event()
        self.closed = False
        self._ended = False
        self._t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def time(self) -> float:
        return self._t0 + (time.perf_counter() - self._t0) / self.pace

    @property
    def active(self) -> bool:
        return self._thread.is_alive() and not self.aborted.is_set()

    @property
    def played(self) -> np.ndarray:
        return np.concatenate(self.blocks) if self.blocks else np.zeros(0, np.float32)

    def start(self):
        # Like PortAudio, ask for the first block at once: audio fed before start must already be there.
        self._take_block(0)
        self._thread.start()

    def abort(self):
        self.aborted.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join()

    def close(self):
        self.abort()
        self.closed = True

    def _take_block(self, n: int) -> bool:
        """One callback; False once the stream is over."""
        out = np.zeros((FRAMES, 1), np.float32)
        status = SimpleNamespace(output_underflow=n in self.underflow_at)
        now, clock = time.perf_counter(), self.time
        info = SimpleNamespace(currentTime=clock, outputBufferDacTime=clock + self.latency)
        try:
            self.callback(out, FRAMES, info, status)
        except sounddevice.CallbackStop:
            self._ended = True
        except sounddevice.CallbackAbort:
            self._ended = True
            return False
        if self.aborted.is_set():
            return False  # abort drops what the device had not played yet
        self.blocks.append(out[:, 0].copy())
        self.block_times.append(now)
        self.dac_times.append(clock + self.latency)
        self.handed_times.append(self.time)
        return not self._ended

    def _run(self):
        period = FRAMES / self.rate * self.pace
        n = 1
        if not self._ended:
            next_at = time.perf_counter() + period
            while not self.aborted.is_set():
                time.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += period
                if self.aborted.is_set() or not self._take_block(n):
                    break
                n += 1
        if self.finished_callback:
            self.finished_callback()


class FakeOutput:
    """Opens FakeStreams in place of open_sounddevice_stream and remembers them."""

    def __init__(self, pace: float = 1.0, latency: float = 0.0):
        self.pace = pace
        self.latency = latency
        self.streams: list[FakeStream] = []
        self.devices: list[str] = []  # the output key each stream was opened on

    def __call__(self, callback, finished_callback, sample_rate, device=""):
        self.devices.append(device)
        stream = FakeStream(callback, finished_callback, sample_rate, self.pace, self.latency)
        self.streams.append(stream)
        return stream
