"""The app as a desktop sees it, end to end: the real command on a real X server (Xvfb) with the real engine,
a private session bus and the PulseAudio null sink. Another program owns the X primary selection; the
D-Bus action speak-selection (as a keyboard shortcut would call it with gdbus) reads it aloud, playerctl
follows the reading through MPRIS, the window carries the app id, and MPRIS Quit closes it cleanly."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sound_sink import pulse_env

from fasttts_desktop.desktop import APP_ID
from fasttts_desktop.ui.media_controls import APP_PATH, MPRIS_NAME, MPRIS_PATH

pytest_plugins = ["display", "sound_sink", "dbus_session"]

pytestmark = pytest.mark.slow

SELECTED = "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background."

OWN_SELECTION = """
import sys
from PySide6.QtGui import QClipboard, QGuiApplication
app = QGuiApplication(sys.argv[:1])
app.clipboard().setText(sys.argv[1], QClipboard.Mode.Selection)
print("owned", flush=True)
app.exec()
"""


def wait_for(check, what: str, timeout: float, proc: subprocess.Popen):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        if proc.poll() is not None:
            raise AssertionError(f"the app exited early ({proc.returncode}) waiting for {what}")
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout} s")


def run(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=30)


def log_line(path: Path, needle: str) -> str:
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            if needle in line:
                return line
    return ""


def test_speak_selection_over_dbus_with_playerctl_following(
    display, sound_sink, cli_env, session_bus, tmp_path
):
    log = tmp_path / "log" / "fasttts-desktop.log"
    env = {
        **cli_env,  # this run's converted weights, offline, the checkout importable
        **pulse_env(sound_sink.root),
        "DISPLAY": display.name,
        "QT_QPA_PLATFORM": "xcb",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "FASTTTS_LOG_DIR": str(log.parent),
        "DBUS_SESSION_BUS_ADDRESS": session_bus,
    }
    owner = subprocess.Popen(
        [sys.executable, "-c", OWN_SELECTION, SELECTED], env=env, stdout=subprocess.PIPE, text=True
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "fasttts_desktop", "--device", "cpu", "--offline"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert owner.stdout is not None and owner.stdout.readline().strip() == "owned"
        window = display.find_window("FastTTS")
        props = display.run("xprop", "-id", window, "_GTK_APPLICATION_ID", "_KDE_NET_WM_DESKTOP_FILE")
        assert props.count(f'"{APP_ID}"') == 2  # setDesktopFileName: how desktops match it to its entry
        wait_for(lambda: "fasttts" in run(env, "playerctl", "--list-all").stdout.split(), "MPRIS", 60, proc)
        follow = subprocess.Popen(
            ["playerctl", "--player=fasttts", "--follow", "status"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        capture = sound_sink.capture()
        called = run(
            env, "gdbus", "call", "--session", "--dest", APP_ID, "--object-path", APP_PATH,
            "--method", "org.freedesktop.Application.ActivateAction", "speak-selection", "[]", "{}",
        )  # fmt: skip
        assert called.returncode == 0, called.stderr
        wait_for(lambda: log_line(log, "engine ready"), "engine", 240, proc)
        status = ("playerctl", "--player=fasttts", "status")
        wait_for(lambda: run(env, *status).stdout.strip() == "Playing", "Playing", 60, proc)
        title = run(env, "playerctl", "--player=fasttts", "metadata", "xesam:title").stdout.strip()
        assert title in {
            "The birch canoe slid on the smooth planks.",
            "Glue the sheet to the dark blue background.",
        }
        wait_for(lambda: log_line(log, "utterance #1 finished"), "the end of the reading", 240, proc)
        heard = capture.stop()
        assert f"speak #1: {len(SELECTED)} characters" in log.read_text()  # the selection, all of it
        assert (np.abs(heard) > 0.05).sum() > 0.5 * 48_000, "the sink heard (almost) nothing"
        assert run(env, *status).stdout.strip() == "Stopped"

        quit_call = run(
            env, "gdbus", "call", "--session", "--dest", MPRIS_NAME, "--object-path", MPRIS_PATH,
            "--method", "org.mpris.MediaPlayer2.Quit",
        )  # fmt: skip
        assert quit_call.returncode == 0, quit_call.stderr
        assert proc.wait(30) == 0
        follow.terminate()
        statuses = follow.communicate(timeout=10)[0].split()
        assert statuses[:3] == ["Stopped", "Playing", "Stopped"]  # heard through PropertiesChanged
    finally:
        for p in (proc, owner):
            if p.poll() is None:
                p.kill()
                p.wait()
    output = proc.stdout.read() if proc.stdout else ""
    assert "Traceback" not in output and "Traceback" not in log.read_text()
