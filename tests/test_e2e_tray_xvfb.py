"""The tray icon on a real X server (Xvfb) with a real tray host (trayer, a small XEmbed system tray):
View > Show Tray Icon puts the icon in the tray, clicking it brings the hidden window back, and its menu
is the window's Speak Clipboard / Pause / Stop / Show Window. Skipped where trayer is not installed
(scripts/setup --test installs it); without a tray host there is no tray to test (test_ui_clipboard_tray.py
covers the actions themselves)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest_plugins = ["display"]

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent

# Runs on the X display: the real window and service with the fake engine and fake sound output.
_CHILD = r"""
import sys, time
from fake_engine import FakeEngine
from fake_stream import FakeOutput
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QSystemTrayIcon
from fasttts_desktop.ui.main_window import MainWindow
from fasttts_desktop.playback.audio_output import Playback
from fasttts_desktop.worker.player import Player
from fasttts_desktop.worker.speech import SpeechService

app = QApplication(sys.argv[:1])
output = FakeOutput()
player = Player(lambda f: Playback(f, open_stream=output), warm_up=lambda: None)
service = SpeechService(lambda progress: FakeEngine(), player=player)
window = MainWindow(service, QSettings(sys.argv[1], QSettings.Format.IniFormat))
window.setWindowTitle("Tray test")
window.show()
service.start()

def wait(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        app.processEvents()
        time.sleep(0.02)
    return True

toggle = window.commands.show_tray
print("available", QSystemTrayIcon.isSystemTrayAvailable(), toggle.isEnabled(), flush=True)
toggle.trigger()
tray = window.clipboard_tray.tray
# Embedded once the tray host has placed it (before that Qt reports a rectangle at the origin).
print("embedded", wait(lambda: tray is not None and not tray.geometry().topLeft().isNull()), flush=True)
wait(lambda: False, 0.3)
g = tray.geometry()
menu = [a.text().replace("&", "") for a in tray.contextMenu().actions() if not a.isSeparator()]
print("menu", menu, flush=True)
window.hide()
wait(lambda: not window.isVisible(), 2)
print(f"click {g.center().x()} {g.center().y()}", flush=True)
print("shown", wait(lambda: window.isVisible(), 15), flush=True)
service.shutdown()
"""


@pytest.fixture
def tray_host(display):
    if not shutil.which("trayer"):
        pytest.skip("trayer (a system tray host) is not installed: scripts/setup --test installs it")
    proc = subprocess.Popen(
        ["trayer", "--edge", "top", "--widthtype", "pixel", "--width", "200", "--SetDockType", "false"],
        env={**os.environ, "DISPLAY": display.name},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # it owns the tray selection once it has mapped its window
    yield display
    proc.terminate()
    proc.wait(10)


def test_the_tray_icon_shows_in_the_tray_and_a_click_brings_the_window_back(tray_host, tmp_path):
    env = {
        **os.environ,
        "DISPLAY": tray_host.name,
        "QT_QPA_PLATFORM": "xcb",
        "PYTHONPATH": os.pathsep.join([str(TESTS.parent), str(TESTS)]),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "FASTTTS_LOG_DIR": str(tmp_path / "log"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_path / "settings.ini")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    try:
        while (line := proc.stdout.readline()) != "":
            lines.append(line.strip())
            if line.startswith("click "):
                x, y = line.split()[1:]
                tray_host.run("xdotool", "mousemove", x, y, "click", "1")
        assert proc.wait(30) == 0, "\n".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    report = "\n".join(lines)
    print("\n" + report)
    assert "available True True" in lines, report
    assert "embedded True" in lines, report
    assert "menu ['Speak Clipboard', 'Pause', 'Stop', 'Show Window']" in lines, report
    assert "shown True" in lines, report
    assert (tmp_path / "settings.ini").read_text().count("tray=true") == 1  # remembered
