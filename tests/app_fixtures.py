"""Fixtures that build the real window and service around a fake engine and fake sound output.

Import the fixtures you use into a test module (`from app_fixtures import make_app  # noqa: F401`).
Settings, logs, saved blends and the lexicon go to the test's temp folder, never to the user's or another
test's.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from fake_engine import FakeEngine
from fake_stream import FakeOutput
from PySide6.QtCore import QSettings

from fasttts_desktop.playback.audio_output import Playback
from fasttts_desktop.ui.app import create_window
from fasttts_desktop.ui.main_window import MainWindow
from fasttts_desktop.worker.player import Player
from fasttts_desktop.worker.speech import SpeechService


def isolate_user_dirs(tmp_path, monkeypatch) -> None:
    # QSettings() with no arguments and the log folder follow these: nothing lands in the user's own.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("FASTTTS_LOG_DIR", str(tmp_path / "log"))
    # Saved blends and the lexicon: each test starts with none, and what the dialogs write stays its own.
    monkeypatch.setenv("FASTTTS_CONFIG_DIR", str(tmp_path / "fasttts-config"))
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "config"))


@dataclass
class App:
    window: MainWindow
    service: SpeechService
    engine: FakeEngine
    output: FakeOutput
    settings: QSettings
    release_load: threading.Event  # set it to let a held-back engine load finish


@pytest.fixture
def settings_path(tmp_path):
    return str(tmp_path / "settings.ini")


@pytest.fixture
def make_app(qtbot, settings_path, tmp_path, monkeypatch):
    """The factory make(engine=None, hold_load=False, load_error=None, pace=1.0, latency=0.0, output=None)
    -> App.

    The window is shown; pace and latency are the fake output's (see fake_stream.FakeStream).

    output: a stream opener in place of the fake one; "real" plays through sounddevice.
    """
    isolate_user_dirs(tmp_path, monkeypatch)

    def make(
        engine=None,
        *,
        hold_load=False,
        load_error: Exception | None = None,
        pace=1.0,
        latency=0.0,
        output=None,
    ):
        engine = engine or FakeEngine()
        release = threading.Event()
        if not hold_load:
            release.set()

        def load(progress):
            progress("Converting weights (first run only)", 0.5)
            while not release.wait(0.02):
                progress("Converting weights (first run only)", 0.5)  # lets a closing window abandon it
            if load_error:
                raise load_error
            return engine

        if output == "real":
            player = Player()
        else:
            output = output or FakeOutput(pace, latency)
            player = Player(
                lambda on_finished: Playback(on_finished, open_stream=output), warm_up=lambda: None
            )
        settings = QSettings(settings_path, QSettings.Format.IniFormat)
        service = SpeechService(load, player=player)
        window = create_window(load, settings, service)
        qtbot.addWidget(window)  # closed (and so shut down) at the end of the test
        window.show()
        qtbot.waitExposed(window)
        return App(window, service, engine, output, settings, release)

    return make


@contextmanager
def utterance_done(qtbot, service: SpeechService, timeout_ms: int):
    """Wait, after the block, for the utterance's summary (`.stats`); fail at once if speaking failed."""
    got: dict = {}

    def on_done(stats) -> None:
        got.setdefault("stats", stats)

    def on_error(message: str) -> None:
        got.setdefault("error", message)

    service.utterance_finished.connect(on_done)
    service.speech_error.connect(on_error)
    result = SimpleNamespace(stats=None)
    try:
        yield result
        qtbot.waitUntil(lambda: bool(got), timeout=timeout_ms)
    finally:
        service.utterance_finished.disconnect(on_done)
        service.speech_error.disconnect(on_error)
    assert "error" not in got, f"speaking failed: {got.get('error')}"
    result.stats = got["stats"]
