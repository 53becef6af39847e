"""Opening a PortAudio output stream on the device the user chose, and saying plainly when there is none.

No Qt here. audio_output.Playback opens its streams through `open_sounddevice_stream`; the player warms the
output up once at start (`warm_up_output`) so the first Speak does not pay PortAudio's start-up.
"""

from __future__ import annotations

import logging

from fasttts_desktop.engine.types import SAMPLE_RATE
from fasttts_desktop.playback.output_devices import (
    OutputGone,
    describe,
    pulse_sink,
    rescan_portaudio,
    resolve,
)

log = logging.getLogger(__name__)

# Pause and Stop's fade start in the next callback, so they reach the speaker after what the device holds.
# Measured at the null sink (ALSA->PulseAudio, 2-core machine, pause / stop-fade silent after, max of 8):
# 1024 frames: ALSA holds 85 ms, 123 / 145 ms; 512 (~21 ms): 47 ms held, 65 / 79 ms; 0 (the host's choice,
# 208 frames): 40 ms held, 51 / 67 ms, but the device underflowed under a GIL-heavy load where 512 did not.
BLOCK_FRAMES = 512
LATENCY = "high"  # the most the device buffers: rides out the GIL being busy on a loaded 2-core CPU


class NoOutputDevice(RuntimeError):
    """There is nothing to play sound on; the message is meant for the user."""


def sounddevice_module():
    try:
        import sounddevice
    except OSError as exc:  # libportaudio2 is missing
        raise NoOutputDevice(f"Sound is unavailable ({exc}); Export Audio… still works.") from exc
    return sounddevice


def find_output_device(rescan: bool = False) -> None:
    """Raise NoOutputDevice unless PortAudio has a default output.

    PortAudio lists devices once, when it starts; a sound server that came up (or went away) later is only
    seen after a rescan, which is safe here because no stream of ours is open when a new one is made.
    """
    sd = sounddevice_module()
    for again in (False, True):
        if again or rescan:
            rescan_portaudio()
        try:
            sd.query_devices(kind="output")
        except sd.PortAudioError as exc:
            reason = exc
        else:
            return
    log.warning("no output device: %s", reason)
    raise NoOutputDevice(
        "No audio output device was found, so speech cannot be played. Export Audio… still works."
    )


def open_sounddevice_stream(callback, finished_callback, sample_rate: int, device: str = ""):
    """A stream on `device` (a key from output_devices; "" is the system default). NoOutputDevice if
    it cannot be opened; the caller decides whether to fall back to the default."""
    sd = sounddevice_module()
    reason: object = ""
    for rescan in (False, True):  # a device listed at start-up may be gone: look again once
        find_output_device(rescan)
        try:
            index, sink = resolve(device)
            with pulse_sink(sink):
                return sd.OutputStream(
                    samplerate=sample_rate,
                    channels=1,
                    dtype="float32",
                    blocksize=BLOCK_FRAMES,
                    latency=LATENCY,
                    device=index,
                    callback=callback,
                    finished_callback=finished_callback,
                )
        except OutputGone:
            reason = "it is not connected"
        except sd.PortAudioError as exc:
            reason = exc
    log.warning("cannot open the output %s: %s", describe(device), reason)
    if device:
        raise NoOutputDevice(f"The output “{describe(device)}” could not be opened ({reason}).")
    raise NoOutputDevice(f"The audio output could not be opened ({reason}). Export Audio… still works.")


def warm_up_output(sample_rate: int = SAMPLE_RATE) -> None:
    """Open and close a stream: raises NoOutputDevice, and makes the next open ~1 ms instead of ~250 ms."""
    open_sounddevice_stream(lambda *_args: None, None, sample_rate).close()
