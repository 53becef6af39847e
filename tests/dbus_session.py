"""A private D-Bus session bus for a test (dbus-run-session), and real clients (playerctl, gdbus) run
against it without blocking Qt: the window answers D-Bus calls from the GUI thread's event loop, so a client
run with subprocess.run would wait on a loop that is not running."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


@pytest.fixture
def session_bus(monkeypatch) -> str:
    """The address of a fresh session bus, set as DBUS_SESSION_BUS_ADDRESS for the test; the bus goes
    away after it."""
    if not shutil.which("dbus-run-session"):
        raise RuntimeError("dbus-run-session is needed: scripts/setup --test installs dbus")
    # The bus lives while `cat` waits on its stdin; closing it ends cat, and dbus-run-session the bus.
    proc = subprocess.Popen(
        ["dbus-run-session", "--", "sh", "-c", 'echo "$DBUS_SESSION_BUS_ADDRESS"; exec cat'],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    address = proc.stdout.readline().strip()
    assert address, "dbus-run-session gave no bus address"
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    try:
        yield address
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)


def client(qtbot, *args: str, timeout_s: float = 15, ok: bool = True) -> str:
    """Run a D-Bus client to its end while Qt's loop runs; its stdout. `ok`: it must exit 0."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        qtbot.waitUntil(lambda: proc.poll() is not None, timeout=int(timeout_s * 1000))
    finally:
        if proc.poll() is None:
            proc.kill()
    out, err = proc.communicate()
    if ok:
        assert proc.returncode == 0, f"{' '.join(args)} failed ({proc.returncode}): {err.strip()}"
    return out


class Follower:
    """A client left running (`playerctl --follow`), its output lines collected in a file."""

    def __init__(self, path: Path, *args: str):
        self.path = path
        self._file = path.open("w")
        self.proc = subprocess.Popen(args, stdout=self._file, stderr=subprocess.STDOUT, text=True)

    def lines(self) -> list[str]:
        return self.path.read_text().splitlines()

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self._file.close()
