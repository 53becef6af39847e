"""One utterance's way to the sound card: a feeder thread, a bounded block queue and a PortAudio callback.

No Qt here. The owner (worker/player.py) calls `start`, `feed`, `end`, `stop` and `close` from one thread;
the callback runs on PortAudio's thread and does nothing but hand over the next block.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fasttts_desktop.engine.types import SAMPLE_RATE

log = logging.getLogger(__name__)

BLOCK_FRAMES = 1024  # ~43 ms at 24 kHz: small enough for a quick start, large enough to ride out GIL waits
QUEUE_SECONDS = 0.5  # how far the feeder may run ahead of the sound card
TAIL_PAD_SECONDS = 0.25  # the last ~100-250 ms are lost in the PortAudio/PulseAudio path without it
# PortAudio's "high" latency (~35 ms on PulseAudio) rides out the GIL being busy on a loaded 2-core CPU;
# Stop does not wait for it because it aborts the stream, which drops what is buffered.
LATENCY = "high"

_END = None  # queue marker: nothing follows


class NoOutputDevice(RuntimeError):
    """There is nothing to play sound on; the message is meant for the user."""


@dataclass(frozen=True)
class PlaybackStats:
    first_sound: float | None  # time.perf_counter() when the first block was due at the speaker
    underruns: int  # times the queue ran dry while more audio was still expected
    underrun_s: float  # silence those gaps inserted
    device_underflows: int  # PortAudio's own output-underflow flags (the callback came too late)
    played_s: float  # audio handed to the device, padding excluded


def _sounddevice():
    try:
        import sounddevice
    except OSError as exc:  # libportaudio2 is missing
        raise NoOutputDevice(f"Sound is unavailable ({exc}); Save WAV… still works.") from exc
    return sounddevice


def find_output_device(rescan: bool = False) -> None:
    """Raise NoOutputDevice unless PortAudio has a default output.

    PortAudio lists devices once, when it starts; a sound server that came up (or went away) later is only
    seen after a rescan, which is safe here because no stream of ours is open when a new one is made.
    """
    sd = _sounddevice()
    for again in (False, True):
        if again or rescan:
            sd._terminate()
            sd._initialize()
        try:
            sd.query_devices(kind="output")
            return
        except sd.PortAudioError as exc:
            reason = exc
    log.warning("no output device: %s", reason)
    raise NoOutputDevice(
        "No audio output device was found, so speech cannot be played. Save WAV… still works."
    )


def open_sounddevice_stream(callback, finished_callback, sample_rate: int):
    sd = _sounddevice()
    for rescan in (False, True):  # a device listed at start-up may be gone: look again once
        find_output_device(rescan)
        try:
            return sd.OutputStream(
                samplerate=sample_rate,
                channels=1,
                dtype="float32",
                blocksize=BLOCK_FRAMES,
                latency=LATENCY,
                callback=callback,
                finished_callback=finished_callback,
            )
        except sd.PortAudioError as exc:
            reason = exc
    log.warning("cannot open the output: %s", reason)
    raise NoOutputDevice(f"The audio output could not be opened ({reason}). Save WAV… still works.")


def warm_up_output(sample_rate: int = SAMPLE_RATE) -> None:
    """Open and close a stream: raises NoOutputDevice, and makes the next open ~1 ms instead of ~250 ms."""
    open_sounddevice_stream(lambda *args: None, None, sample_rate).close()


class Playback:
    """Plays one utterance whose audio arrives in pieces; discard it after `close`."""

    def __init__(
        self,
        on_finished: Callable[[], None],
        *,
        sample_rate: int = SAMPLE_RATE,
        open_stream: Callable = open_sounddevice_stream,
    ):
        self._on_finished = on_finished  # called on PortAudio's thread once the last block has played
        self._rate = sample_rate
        self._open_stream = open_stream
        self._incoming: queue.SimpleQueue = queue.SimpleQueue()
        self._blocks: queue.Queue = queue.Queue(
            maxsize=max(2, round(QUEUE_SECONDS * sample_rate / BLOCK_FRAMES))
        )
        self._stopped = threading.Event()
        self._primed = threading.Event()  # the feeder has queued what it was given first
        self._stream = None
        self._callback_stop: Exception | None = None
        self._feeder: threading.Thread | None = None
        # Written only by the callback, read by anyone once it is done.
        self._first_sound: float | None = None
        self._underruns = 0
        self._starved_blocks = 0
        self._starving = False
        self._device_underflows = 0
        self._played_blocks = 0
        self._pad_blocks = 0

    def start(self) -> None:
        """Open and start the stream; feed the first audio before, so that sound starts with the stream.

        Raises NoOutputDevice.
        """
        sd = _sounddevice()
        self._callback_stop = sd.CallbackStop()
        self._stream = self._open_stream(self._callback, self._stream_finished, self._rate)
        self._feeder = threading.Thread(target=self._feed, name="playback-feeder", daemon=True)
        self._feeder.start()
        if not self._incoming.empty():
            # Audio fed before start is in the queue before the first callback asks for it; otherwise that
            # callback plays a block of silence first (~40 ms later sound).
            self._primed.wait(0.1)
        try:
            self._stream.start()
        except sd.PortAudioError as exc:  # e.g. the device is held by another program
            self.stop()
            self.close()
            raise NoOutputDevice(
                f"The audio output could not be started ({exc}). Save WAV… still works."
            ) from exc

    def feed(self, audio: np.ndarray) -> None:
        """Queue more of the utterance; never blocks."""
        self._incoming.put(np.asarray(audio, dtype=np.float32).reshape(-1))

    def end(self) -> None:
        """No more audio will come: play what is queued, then a little silence, then finish."""
        self._incoming.put(_END)

    def stop(self) -> None:
        """Silence now: drop everything queued and abort the stream (its buffered audio goes too)."""
        self._stopped.set()
        self._incoming.put(_END)
        self._drain()
        if self._stream is not None:
            self._stream.abort()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
        if self._feeder is not None:
            self._feeder.join(timeout=1.0)

    @property
    def stats(self) -> PlaybackStats:
        block_s = BLOCK_FRAMES / self._rate
        return PlaybackStats(
            first_sound=self._first_sound,
            underruns=self._underruns,
            underrun_s=self._starved_blocks * block_s,
            device_underflows=self._device_underflows,
            played_s=max(0, self._played_blocks - self._pad_blocks) * block_s,
        )

    def _drain(self) -> None:
        try:
            while True:
                self._blocks.get_nowait()
        except queue.Empty:
            pass

    def _put(self, block) -> bool:
        while not self._stopped.is_set():
            try:
                self._blocks.put(block, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    def _feed(self) -> None:
        # Chunks of any length become fixed blocks; a chunk's odd tail waits for the next chunk rather than
        # being padded, so no silence is inserted where chunks join.
        carry = np.zeros(0, np.float32)
        while not self._stopped.is_set():
            item = self._incoming.get()
            if self._stopped.is_set():
                return
            if item is _END:
                pad = round(TAIL_PAD_SECONDS * self._rate)
                tail = np.concatenate([carry, np.zeros(pad, np.float32)])
                tail = np.pad(tail, (0, -len(tail) % BLOCK_FRAMES))
                self._pad_blocks = len(tail) // BLOCK_FRAMES - (1 if len(carry) else 0)
                for block in tail.reshape(-1, BLOCK_FRAMES):
                    if not self._put(block):
                        return
                self._put(_END)
                return
            data = np.concatenate([carry, item]) if len(carry) else item
            whole = len(data) // BLOCK_FRAMES * BLOCK_FRAMES
            for block in data[:whole].reshape(-1, BLOCK_FRAMES):
                if not self._put(block):
                    return
                self._primed.set()
            carry = data[whole:].copy()
            self._primed.set()

    def _callback(self, outdata, frames, time_info, status) -> None:
        if status.output_underflow:
            self._device_underflows += 1
        try:
            block = self._blocks.get_nowait()
        except queue.Empty:
            outdata.fill(0)
            # Before the first block the stream is just warming up; that is not an underrun.
            if self._first_sound is not None:
                self._starved_blocks += 1
                if not self._starving:
                    self._underruns += 1
                self._starving = True
            return
        if block is _END or self._stopped.is_set():
            outdata.fill(0)
            raise self._callback_stop
        outdata[:, 0] = block
        self._starving = False
        self._played_blocks += 1
        if self._first_sound is None:
            ahead = time_info.outputBufferDacTime - time_info.currentTime
            self._first_sound = time.perf_counter() + (ahead if 0 < ahead < 1 else 0.0)

    def _stream_finished(self) -> None:
        if not self._stopped.is_set():
            self._on_finished()
