"""A real X display for tests (Xvfb), and screenshots of a window on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest


class Display:
    def __init__(self):
        if not shutil.which("Xvfb"):
            raise RuntimeError("Xvfb is needed: scripts/setup --test installs it")
        read, write = os.pipe()
        # -displayfd: Xvfb picks a free display number and writes it here once it accepts clients.
        self._proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
            pass_fds=(write,),
            stderr=subprocess.DEVNULL,
        )
        os.close(write)
        with os.fdopen(read) as f:
            number = f.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        self.name = f":{number}"

    def run(self, *args: str, timeout: float = 30) -> str:
        env = {**os.environ, "DISPLAY": self.name}
        return subprocess.run(
            args, env=env, capture_output=True, text=True, timeout=timeout, check=True
        ).stdout

    def find_window(self, title: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                ids = self.run("xdotool", "search", "--onlyvisible", "--name", title, timeout=5).split()
            except subprocess.CalledProcessError:
                ids = []
            if ids:
                return ids[-1]
            time.sleep(0.2)
        raise TimeoutError(f"no window titled {title!r} appeared")

    def screenshot(self, window: str, path: Path) -> Path:
        """Save what the X server shows of `window` as PNG, grabbed by a short-lived Qt client on the
        display."""
        path.parent.mkdir(parents=True, exist_ok=True)
        grab = (
            "import sys\n"
            "from PySide6.QtGui import QGuiApplication\n"
            "app = QGuiApplication(sys.argv[:1])\n"
            "ok = app.primaryScreen().grabWindow(int(sys.argv[1])).save(sys.argv[2])\n"
            "sys.exit(0 if ok else 1)\n"
        )
        env = {**os.environ, "DISPLAY": self.name, "QT_QPA_PLATFORM": "xcb"}
        subprocess.run([sys.executable, "-c", grab, window, str(path)], env=env, check=True, timeout=30)
        return path

    def close(self) -> None:
        self._proc.terminate()
        self._proc.wait(10)


@pytest.fixture(scope="module")
def display():
    d = Display()
    yield d
    d.close()
