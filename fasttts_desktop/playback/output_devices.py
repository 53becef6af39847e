"""The outputs a user can choose from, and how a choice becomes an opened stream. No Qt here.

A choice is kept as a key string, by name (PortAudio's device indices change when devices come and go):
- "" is the system default (PortAudio's default output);
- "portaudio:<host API>:<device name>" is one of sounddevice's output devices;
- "pulse:<sink name>" is a PulseAudio sink (PipeWire's pulse server has them too). PortAudio's ALSA list
  shows one "pulse" device that always plays on the server's default sink, so a sink is reached through
  that device with PULSE_SINK set while the stream is opened: libpulse reads it when the ALSA plugin makes
  its connection, which happens inside the open (the variable is put back right after). The sinks are
  listed with pulsectl (libpulse through ctypes); without it, or without a server, there are none.
"""

from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger(__name__)

DEFAULT_KEY = ""
_PORTAUDIO, _PULSE = "portaudio:", "pulse:"
_PULSE_DEVICES = ("pulse", "default")  # PortAudio devices that go through libpulse, best first
_env_lock = threading.Lock()  # two opens at once must not see each other's PULSE_SINK


@dataclass(frozen=True)
class OutputDevice:
    key: str
    label: str  # what the menu shows


SYSTEM_DEFAULT = OutputDevice(DEFAULT_KEY, "System default")


def portaudio_key(host_api: str, name: str) -> str:
    return f"{_PORTAUDIO}{host_api}:{name}"


def pulse_key(sink: str) -> str:
    return f"{_PULSE}{sink}"


def describe(key: str) -> str:
    """A readable name for a key, also for a device that is gone (its label is not known any more)."""
    if key.startswith(_PULSE):
        return key[len(_PULSE) :]
    if key.startswith(_PORTAUDIO):
        return key[len(_PORTAUDIO) :].partition(":")[2]
    return SYSTEM_DEFAULT.label


def rescan_portaudio() -> None:
    """Make PortAudio list the devices again (it lists them once, at start-up). Closes every stream of
    this process: call it only when none is open."""
    import sounddevice

    # sounddevice's own way to restart PortAudio (it has no public one); its tests do the same
    sounddevice._terminate()  # noqa: SLF001
    sounddevice._initialize()  # noqa: SLF001


def _portaudio_outputs() -> list[tuple[int, str, str]]:
    """(index, host API name, device name) of each output device PortAudio lists now."""
    import sounddevice

    apis = [api["name"] for api in sounddevice.query_hostapis()]
    return [
        (d["index"], apis[d["hostapi"]], d["name"])
        for d in sounddevice.query_devices()
        if d["max_output_channels"] > 0
    ]


def pulse_sinks() -> list[tuple[str, str]]:
    """(sink name, description) of each PulseAudio sink, or [] without pulsectl or a server."""
    try:
        import pulsectl
    except (ImportError, OSError):  # not installed, or no libpulse on this system
        return []
    try:
        # No timeout argument: pulsectl then waits the whole timeout even when the server answers at once.
        with pulsectl.Pulse("fasttts-desktop", connect=False) as pulse:
            pulse.connect()
            return [(s.name, s.description or s.name) for s in pulse.sink_list()]
    except Exception as exc:  # noqa: BLE001 - no server (or a broken one): simply no sinks to offer
        log.debug("no PulseAudio sinks: %s", exc)
        return []


def list_outputs(rescan: bool = False) -> list[OutputDevice]:
    """System default, the PulseAudio sinks (when PortAudio can reach them), then PortAudio's outputs."""
    try:
        if rescan:
            rescan_portaudio()
        devices = _portaudio_outputs()
    except Exception as exc:  # noqa: BLE001 - no PortAudio library, or PortAudio without devices
        log.info("no PortAudio output devices: %s", exc)
        devices = []
    outputs = [SYSTEM_DEFAULT]
    if any(name in _PULSE_DEVICES for _, _, name in devices):
        outputs += [OutputDevice(pulse_key(n), f"{d} (PulseAudio)") for n, d in pulse_sinks()]
    outputs += [OutputDevice(portaudio_key(api, name), f"{name} ({api})") for _, api, name in devices]
    return outputs


class OutputGone(LookupError):
    """The chosen output is not there now."""


def resolve(key: str) -> tuple[int | None, str | None]:
    """(PortAudio device index or None for the default, PulseAudio sink or None) for a key.

    Raises OutputGone when PortAudio has no such device (a sink that is gone shows only when the stream
    is opened: libpulse refuses it then).
    """
    if not key:
        return None, None
    devices = _portaudio_outputs()
    if key.startswith(_PULSE):
        for wanted in _PULSE_DEVICES:
            for index, _, name in devices:
                if name == wanted:
                    return index, key[len(_PULSE) :]
        raise OutputGone(key)
    for index, api, name in devices:
        if portaudio_key(api, name) == key:
            return index, None
    raise OutputGone(key)


@contextmanager
def pulse_sink(sink: str | None):
    """PULSE_SINK set to `sink` for the duration (left alone when None)."""
    if sink is None:
        yield
        return
    with _env_lock:
        before = os.environ.get("PULSE_SINK")
        os.environ["PULSE_SINK"] = sink
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("PULSE_SINK", None)
            else:
                os.environ["PULSE_SINK"] = before
