"""The `fasttts` speech-dispatcher module end to end: `fasttts-desktop speechd install` into a home of the
test's own, Debian's speech-dispatcher started with its config, runtime and data folders there, `spd-say -o
fasttts` from a real client, the speech played by the server into the PulseAudio null sink, recorded with
parec and transcribed with PocketSphinx; `spd-say -S` stops it; `speechd remove` takes the module out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.audio_checks import SILENCE
from tests.sound_sink import RATE, sound_sink  # noqa: F401 - the fixture

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (shutil.which("speech-dispatcher") and shutil.which("spd-say")),
        reason="speech-dispatcher is needed: scripts/setup --test installs it",
    ),
]

SENTENCE = "Rice is often served in round bowls."  # PocketSphinx gets all 7 words of the engine's own audio
LONG = (
    "Glue the sheet to the dark blue background. It is easy to tell the depth of a well. "
    "These days a chicken leg is a rare dish. Rice is often served in round bowls. "
    "The juice of lemons makes fine punch. The box was thrown beside the parked truck. "
    "The hogs were fed chopped corn and garbage. Four hours of steady work faced us."
)


@pytest.fixture(scope="module")
def speechd(sound_sink, tmp_path_factory, cli_env):  # noqa: F811 - pytest's fixture by name
    """speech-dispatcher running for a home of its own, with fasttts installed there by our command."""
    root = tmp_path_factory.mktemp("speechd")
    run = root / "run"
    run.mkdir(mode=0o700)
    env = {
        **cli_env,
        **{k: v for k, v in sound_sink.env.items() if k.startswith("PULSE_")},
        "HOME": str(root / "home"),
        "XDG_CONFIG_HOME": str(root / "home/.config"),
        "XDG_DATA_HOME": str(root / "home/.local/share"),
        "XDG_RUNTIME_DIR": str(run),
        "FASTTTS_SPEECHD_DEVICE": "cpu",
    }
    done = subprocess.run(
        [_python(), "-m", "fasttts_desktop", "speechd", "install"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    launcher = root / "home/.local/libexec/speech-dispatcher-modules/sd_fasttts"
    assert launcher.is_file()
    assert os.access(launcher, os.X_OK)
    server = subprocess.Popen(
        ["speech-dispatcher", "--run-single", "--timeout", "0", "--log-level", "4"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    socket = run / "speech-dispatcher/speechd.sock"
    deadline = time.monotonic() + 60
    while not socket.exists():
        assert server.poll() is None, _logs(run)
        assert time.monotonic() < deadline, _logs(run)
        time.sleep(0.1)
    yield env, run
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _python() -> str:
    return sys.executable


def _logs(run: Path) -> str:
    folder = run / "speech-dispatcher/log"
    parts = []
    for name in ("fasttts.log", "speech-dispatcher.log"):
        path = folder / name
        if path.exists():
            parts.append(f"--- {name}\n{path.read_text(errors='replace')[-4000:]}")
    return "\n".join(parts)


def _spd_say(env, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(["spd-say", *args], env=env, capture_output=True, text=True, timeout=timeout)


def _transcribe(audio_48k: np.ndarray) -> str:
    from fasttts_desktop.bench.cpu_probes import recognize

    audio_24k = audio_48k[: len(audio_48k) // 2 * 2].reshape(-1, 2).mean(axis=1)
    return recognize(audio_24k)


def test_voices_are_listed_with_languages(speechd):
    env, run = speechd
    listed = _spd_say(env, "-o", "fasttts", "-L")
    assert listed.returncode == 0, listed.stderr + _logs(run)
    rows = [line.split() for line in listed.stdout.splitlines()[1:] if line.strip()]
    assert ["jm_kumo", "ja-JP", "male"] in rows
    assert all(len(row) == 3 and row[1] != "none" for row in rows), listed.stdout


def test_spd_say_is_heard_and_understood(speechd, sound_sink):  # noqa: F811
    from fasttts_desktop.bench.cpu_probes import word_error_rate

    env, run = speechd
    capture = sound_sink.capture()
    said = _spd_say(env, "-w", "-o", "fasttts", "-l", "en", SENTENCE)
    time.sleep(0.5)  # the server's last buffer reaches the sink
    heard = capture.stop()
    assert said.returncode == 0, said.stderr + _logs(run)
    loud = np.flatnonzero(np.abs(heard) > SILENCE)
    assert len(loud), "nothing reached the sink\n" + _logs(run)
    seconds = (loud[-1] - loud[0]) / RATE
    text = _transcribe(heard[loud[0] : loud[-1] + 1])
    errors, words = word_error_rate(SENTENCE, text)
    print(f"spd-say -o fasttts: {seconds:.2f} s of speech, heard {text!r}, WER {errors / words:.2f}")
    assert 1.0 < seconds < 6.0
    # the engine's own audio of this sentence scores 0.0 (jm_kumo, the offline voice), through the sink 0.0
    # or 0.14 (the noise source differs each run); noise or silence ~1.0
    assert errors <= 3, text


def test_stop_silences_the_speech(speechd, sound_sink):  # noqa: F811
    env, run = speechd
    capture = sound_sink.capture()
    started = _spd_say(env, "-o", "fasttts", "-l", "en", LONG)  # returns once queued
    assert started.returncode == 0, started.stderr
    deadline = time.monotonic() + 120
    while not np.any(np.abs(capture.audio()) > SILENCE):
        assert time.monotonic() < deadline, "no speech came\n" + _logs(run)
        time.sleep(0.02)
    time.sleep(1.0)  # well into the first sentence
    stop_at = time.perf_counter()
    assert _spd_say(env, "-S").returncode == 0
    time.sleep(3.0)
    heard = capture.stop()
    after_stop = heard[capture.samples_by(stop_at) :]
    loud = np.flatnonzero(np.abs(after_stop) > SILENCE)
    last_sound_s = (loud[-1] + 1) / RATE if len(loud) else 0.0
    print(f"after spd-say -S: sound went on for {last_sound_s * 1000:.0f} ms (parec ~10 ms late)")
    # the text is ~25 s of speech; stopped, the sink falls silent and stays so
    assert len(after_stop) > 2 * RATE
    assert not np.any(np.abs(after_stop[-2 * RATE :]) > SILENCE)
    # and the module takes the next message at once
    capture = sound_sink.capture()
    said = _spd_say(env, "-w", "-o", "fasttts", "-l", "en", "Yes.")
    time.sleep(0.5)
    assert said.returncode == 0
    assert np.any(np.abs(capture.stop()) > SILENCE), _logs(run)


class _Ssip:
    """A minimal SSIP client (speech-dispatcher's client protocol, CRLF lines) on the server's socket."""

    def __init__(self, path: Path):
        import socket

        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(120)
        self.sock.connect(str(path))
        self.file = self.sock.makefile("rb")
        self.events: list[list[str]] = []

    def reply(self) -> list[str]:
        """One reply or event: its lines, the last one "NNN text"."""
        lines = []
        while True:
            line = self.file.readline().decode("utf-8").rstrip("\r\n")
            assert line, "the server closed the connection"
            lines.append(line)
            if line[3:4] == " ":
                return lines

    def command(self, text: str) -> list[str]:
        """Send a command; its reply (events that came first are kept in `events`)."""
        self.sock.sendall(f"{text}\r\n".encode())
        while (reply := self.reply())[-1].startswith("7"):
            self.events.append(reply)
        return reply

    def event(self, last: str) -> list[str]:
        """Wait for the event whose last line is `last`."""
        while True:
            got = self.events.pop(0) if self.events else self.reply()
            if got[-1] == last:
                return got

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def test_ssml_marks_reach_the_client_in_time(speechd, sound_sink):  # noqa: F811
    _env, run = speechd
    client = _Ssip(run / "speech-dispatcher/speechd.sock")
    try:
        for setting in (
            "SET SELF CLIENT_NAME test:marks:main",
            "SET SELF OUTPUT_MODULE fasttts",
            "SET SELF LANGUAGE en",
            "SET SELF SSML_MODE on",
            "SET SELF NOTIFICATION ALL on",
        ):
            assert client.command(setting)[-1].startswith("2"), setting
        assert client.command("SPEAK")[-1].startswith("230")
        capture = sound_sink.capture()
        ssml = '<speak>Rice is often served. <mark name="middle"/>In round bowls.<mark name="last"/></speak>'
        client.sock.sendall(f"{ssml}\r\n.\r\n".encode())
        assert client.reply()[-1].startswith("225")
        events, arrived = [], {}
        while not events or events[-1][-1] not in ("702 END", "703 CANCELED"):
            events.append(client.reply())
            arrived[events[-1][-1]] = arrived.get(events[-1][-1], time.perf_counter())
            if events[-1][-1].startswith("700"):
                arrived[events[-1][2][4:]] = time.perf_counter()
        time.sleep(0.3)
        heard = capture.stop()
    finally:
        client.close()
    ends = [e[-1] for e in events]
    marks = [e[2][4:] for e in events if e[-1].startswith("700")]
    assert ends[0] == "701 BEGIN", ends
    assert ends[-1] == "702 END", [*ends, _logs(run)]
    assert marks == ["middle", "last"]
    # "middle" is reported when the first sentence has been played: there was sound before it and after it
    before = heard[: capture.samples_by(arrived["middle"])]
    after = heard[capture.samples_by(arrived["middle"]) :]
    loud_before = np.flatnonzero(np.abs(before) > SILENCE)
    assert len(loud_before)
    spoken_before_s = (loud_before[-1] - loud_before[0]) / RATE
    print(f"mark 'middle' reported after {spoken_before_s:.2f} s of speech")
    assert spoken_before_s > 0.8  # "Rice is often served." had been heard (about 1.3 s), not just begun
    assert np.any(np.abs(after) > SILENCE)


def _wait_for_sound(capture, after: float, run: Path) -> None:
    deadline = time.monotonic() + 120
    while not np.any(np.abs(capture.audio()[capture.samples_by(after) :]) > SILENCE):
        assert time.monotonic() < deadline, "no speech came\n" + _logs(run)
        time.sleep(0.02)


def test_pause_and_resume(speechd, sound_sink):  # noqa: F811
    _env, run = speechd
    client = _Ssip(run / "speech-dispatcher/speechd.sock")
    capture = sound_sink.capture()
    try:
        for setting in (
            "SET SELF CLIENT_NAME test:pause:main",
            "SET SELF OUTPUT_MODULE fasttts",
            "SET SELF LANGUAGE en",
            "SET SELF NOTIFICATION ALL on",
        ):
            assert client.command(setting)[-1].startswith("2"), setting
        assert client.command("SPEAK")[-1].startswith("230")
        client.sock.sendall(f"{LONG}\r\n.\r\n".encode())
        assert client.reply()[-1].startswith("225")
        _wait_for_sound(capture, 0.0, run)
        time.sleep(1.0)
        assert client.command("PAUSE self")[-1].startswith("2")
        client.event("704 PAUSED")
        time.sleep(2.5)
        resumed_at = time.perf_counter()
        assert client.command("RESUME self")[-1].startswith("2")
        _wait_for_sound(capture, resumed_at, run)  # speech goes on (from the last sentence begun)
        assert client.command("CANCEL self")[-1].startswith("2")
        time.sleep(0.5)
    finally:
        client.close()
        heard = capture.stop()
    paused = heard[: capture.samples_by(resumed_at)][-int(1.5 * RATE) :]
    assert not np.any(np.abs(paused) > SILENCE)  # silent while paused
    assert np.any(np.abs(heard[capture.samples_by(resumed_at) :]) > SILENCE)


def test_remove_takes_the_module_out(speechd):
    env, _run = speechd
    launcher = Path(env["HOME"]) / ".local/libexec/speech-dispatcher-modules/sd_fasttts"
    done = subprocess.run(
        [_python(), "-m", "fasttts_desktop", "speechd", "remove"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert not launcher.exists()
    assert not (Path(env["XDG_CONFIG_HOME"]) / "speech-dispatcher/speechd.conf").exists()
