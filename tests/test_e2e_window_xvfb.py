"""The installed command on a real X server (Xvfb) with a real sound server: typed into and spoken with the
keyboard alone while the engine is still loading, a screenshot afterwards, Ctrl+Q quits cleanly."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sound_sink import pulse_env

pytest_plugins = ["display", "sound_sink"]

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).parent / "artifacts"
TEXT = "The birch canoe slid on the smooth planks."


def wait_for_line(path: Path, needle: str, proc: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            for line in path.read_text(errors="replace").splitlines():
                if needle in line:
                    return line
        if proc.poll() is not None:
            raise AssertionError(f"the app exited early ({proc.returncode}):\n{proc.stdout.read()}")
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} never appeared in {path}:\n{path.read_text() if path.exists() else ''}")


def test_typed_text_is_spoken_and_the_window_shows_it(display, sound_sink, cli_env, tmp_path):
    log_dir = tmp_path / "log"
    env = {
        **cli_env,  # this run's converted weights, offline, the checkout importable
        **pulse_env(sound_sink.root),
        "DISPLAY": display.name,
        "QT_QPA_PLATFORM": "xcb",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),  # QSettings: a fresh user
        "FASTTTS_LOG_DIR": str(log_dir),
    }
    capture = sound_sink.capture()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fasttts_desktop", "--device", "cpu", "--offline"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        window = display.find_window("FastTTS")
        # No clicking: the text box must already have the keyboard focus.
        display.run("xdotool", "windowfocus", "--sync", window)
        display.run("xdotool", "type", "--delay", "20", TEXT)
        display.run("xdotool", "key", "ctrl+Return")
        log = log_dir / "fasttts-desktop.log"
        time.sleep(1.0)  # the engine takes longer than this to load: this shows the window meanwhile
        display.screenshot(window, ARTIFACTS / "window-while-loading.png")
        wait_for_line(log, "engine ready", proc, timeout=180)
        finished = wait_for_line(log, "utterance #1 finished", proc, timeout=120)
        time.sleep(0.5)  # let the status bar repaint
        shot = display.screenshot(window, ARTIFACTS / "window-after-speaking.png")
        assert shot.stat().st_size > 5000
        heard = capture.stop()
        assert (np.abs(heard) > 0.05).sum() > 0.2 * 48_000, "the sink heard (almost) nothing"
        assert "first sound" in finished and "none" not in finished.split("first sound")[1][:8]
        assert f"speak #1: {len(TEXT)} characters" in log.read_text()

        display.run("xdotool", "key", "ctrl+q")
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = proc.stdout.read()
    text = log.read_text()
    assert "Traceback" not in output and "Traceback" not in text, output + text
    assert " ERROR " not in text
