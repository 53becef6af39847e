"""The window comes first: a window made by create_window holds its engine load (torch, the model) until it
has painted once, so the load's seconds of Python do not delay the window's first show and paint; a Speak
asked for meanwhile is kept and spoken once the engine is there."""

from __future__ import annotations

import threading

from fake_engine import FakeEngine
from PySide6.QtCore import QSettings

from fasttts_desktop.ui.app import create_window


def test_the_engine_load_waits_for_the_window_then_speaks_what_was_asked(qtbot, tmp_path):
    began = threading.Event()
    engine = FakeEngine()

    def load(_progress):
        began.set()
        return engine

    window = create_window(load, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)  # closed, and its service shut down, at the end
    assert not began.wait(0.5)  # not shown, never painted: the load has not begun
    window.show()
    qtbot.waitUntil(began.is_set, timeout=5000)
    with qtbot.waitSignal(window.service.utterance_finished, timeout=10_000):
        window.service.speak("Hello there.", "", 1.0)
    assert [c[0] for c in engine.calls] == ["Hello there."]
