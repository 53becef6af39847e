"""The Qt binding itself: PySide6 6.12.0 drops a reference to True on every Signal.emit() (Python 3.11),
so a long session (progress and chunk signals) dies with "bool_dealloc". pyproject must keep it out."""

import sys

import app_fixtures  # noqa: F401  (offscreen Qt platform)
from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    ping = Signal(int)


def test_emitting_signals_does_not_leak_or_steal_references(qapp):
    emitter = _Emitter()
    emitter.ping.connect(lambda value: None)
    before = sys.getrefcount(True), sys.getrefcount(False)
    for i in range(200):
        emitter.ping.emit(i)
    assert (sys.getrefcount(True), sys.getrefcount(False)) == before
