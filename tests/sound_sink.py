"""A real sound server for tests: PulseAudio with a null sink, and parec recording what reaches it.

The server runs in its own runtime folder (nothing shared with a desktop session), with autospawn off so
no other PulseAudio appears behind our back. Each captured block is stamped with the time it arrived, so
a test can ask when a given sample was heard (at most parec's ~10 ms latency late). More null sinks can be
added (`add_sink`), each with its own monitor to record, for tests of choosing an output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

RATE = 48_000  # the sink's rate: PulseAudio resamples the app's 24 kHz on the way in
_SINK = "vsink"


def pulse_env(root: Path) -> dict[str, str]:
    """Environment that points PulseAudio clients (and the ALSA pulse plugin) at the server in `root`."""
    root.mkdir(parents=True, exist_ok=True)
    conf = root / "client.conf"
    conf.write_text("autospawn = no\n")
    return {
        "PULSE_RUNTIME_PATH": str(root),
        "PULSE_SERVER": f"unix:{root}/native",
        "PULSE_CLIENTCONFIG": str(conf),
        "PULSE_STATE_PATH": str(root / "state"),
    }


def rescan_portaudio() -> None:
    """PortAudio lists devices once; make it look again after a server came or went."""
    import sounddevice

    sounddevice._terminate()
    sounddevice._initialize()


class Capture:
    """parec reading a sink's monitor as float32 mono at 48 kHz, from start() to stop()."""

    def __init__(self, env: dict[str, str], sink: str = _SINK):
        self._env = env
        self.sink = sink
        self._parts: list[bytes] = []
        self._arrivals: list[tuple[float, int]] = []  # (perf_counter, samples received so far)
        self._count = 0
        self._lock = threading.Lock()

    def start(self) -> Capture:
        self._proc = subprocess.Popen(
            [
                "parec",
                "-d",
                f"{self.sink}.monitor",
                "--format=float32le",
                f"--rate={RATE}",
                "--channels=1",
                "--raw",
                "--latency-msec=10",
            ],
            stdout=subprocess.PIPE,
            env=self._env,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 5
        while not self._count:  # a sound played before parec is really recording would be missed
            if time.monotonic() > deadline or self._proc.poll() is not None:
                raise RuntimeError("parec produced nothing")
            time.sleep(0.01)
        return self

    def _read(self) -> None:
        pending = b""
        while chunk := self._proc.stdout.read1(1 << 14):
            pending += chunk
            whole = len(pending) // 4 * 4
            with self._lock:
                self._parts.append(pending[:whole])
                self._count += whole // 4
                self._arrivals.append((time.perf_counter(), self._count))
            pending = pending[whole:]

    def stop(self) -> np.ndarray:
        self._proc.terminate()
        self._proc.wait(5)
        self._reader.join(5)
        return self.audio()

    def audio(self) -> np.ndarray:
        with self._lock:
            return np.frombuffer(b"".join(self._parts), np.float32).copy()

    def samples_by(self, t: float) -> int:
        """How many samples had arrived by perf_counter() time `t`."""
        with self._lock:
            n = 0
            for when, count in self._arrivals:
                if when > t:
                    break
                n = count
            return n

    def arrival_of(self, sample: int) -> float:
        """perf_counter() time at which sample number `sample` arrived."""
        with self._lock:
            for when, count in self._arrivals:
                if count > sample:
                    return when
        raise IndexError(sample)


class SoundSink:
    def __init__(self, root: Path):
        self.root = root
        self.env = {**os.environ, **pulse_env(root)}

    def start(self) -> SoundSink:
        if not shutil.which("pulseaudio") or not shutil.which("parec"):
            raise RuntimeError("pulseaudio and parec are needed: scripts/setup --test installs them")
        # In the foreground, as our child: we hold its pid and stop exactly it.
        self._proc = subprocess.Popen(
            [
                "pulseaudio",
                "--daemonize=no",
                "-n",
                "--exit-idle-time=-1",
                "--disallow-exit",
                "--use-pid-file=no",
                "--load=module-native-protocol-unix auth-anonymous=1",
                f"--load=module-null-sink sink_name={_SINK} rate={RATE} channels=1 norewinds=1",
            ],
            env={**self.env, "HOME": str(self.root)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while subprocess.run(["pactl", "info"], env=self.env, capture_output=True, check=False).returncode:
            if time.monotonic() > deadline or self._proc.poll() is not None:
                self.stop()
                raise RuntimeError("pulseaudio did not come up")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def capture(self, sink: str = _SINK) -> Capture:
        return Capture(self.env, sink).start()

    def add_sink(self, name: str, description: str = "") -> None:
        """Load another null sink (the first one stays the server's default)."""
        args = ["pactl", "load-module", "module-null-sink", f"sink_name={name}", f"rate={RATE}", "channels=1"]
        args.append("norewinds=1")
        if description:
            args.append(f"sink_properties='device.description=\"{description}\"'")
        subprocess.run(args, env=self.env, capture_output=True, check=True)

    def remove_sink(self, name: str) -> None:
        modules = subprocess.run(
            ["pactl", "list", "short", "modules"], env=self.env, capture_output=True, text=True, check=True
        ).stdout
        for line in modules.splitlines():
            number, _, rest = line.partition("\t")
            if rest.startswith("module-null-sink") and f"sink_name={name}" in rest.split():
                subprocess.run(
                    ["pactl", "unload-module", number], env=self.env, capture_output=True, check=True
                )


@pytest.fixture(scope="module")
def sound_sink(tmp_path_factory):
    """A running null sink; this process's PortAudio (and its ALSA default) sees it as the output."""
    sink = SoundSink(tmp_path_factory.mktemp("pulse")).start()
    mp = pytest.MonkeyPatch()
    for key, value in pulse_env(sink.root).items():
        mp.setenv(key, value)
    rescan_portaudio()
    yield sink
    sink.stop()
    mp.undo()
    rescan_portaudio()


@pytest.fixture
def no_sound_server(tmp_path, monkeypatch):
    """No PulseAudio and no sound card: PortAudio finds no output device."""
    for key, value in pulse_env(tmp_path / "no-pulse").items():
        monkeypatch.setenv(key, value)  # a server address nobody listens on, and no autospawn
    rescan_portaudio()
    yield
    rescan_portaudio()
