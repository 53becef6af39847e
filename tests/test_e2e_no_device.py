"""The real app and engine with no sound server and no sound card: a clear message, and Save still works."""

from __future__ import annotations

import pytest
from app_fixtures import utterance_done
from audio_checks import read_wav

from fasttts_desktop.engine.types import SAMPLE_RATE

pytest_plugins = ["app_fixtures", "sound_sink"]

pytestmark = pytest.mark.slow


def test_without_an_output_device_the_window_says_so_and_save_works(
    qtbot, make_app, engine, no_sound_server, tmp_path
):
    app = make_app(engine, output="real")
    w = app.window
    assert not app.service.player.probe()  # what main() does once the window is up
    assert w.banner.isVisible()
    assert "No audio output device was found" in w.banner.text() and "Export Audio" in w.banner.text()
    qtbot.waitUntil(lambda: app.service.is_ready, timeout=120_000)
    w.text_edit.setPlainText("Hello there.")
    with utterance_done(qtbot, app.service, 60_000) as finished:
        w.speak()
    assert finished.stats.first_sound_s is None
    assert "not played" in w.status_label.text()
    assert w.text_edit.toPlainText() == "Hello there."
    target = tmp_path / "hello.wav"
    with qtbot.waitSignal(app.service.exports.finished, timeout=60_000):
        w.save_to(str(target))
    audio, rate = read_wav(target)
    assert rate == SAMPLE_RATE and len(audio) / rate > 0.5 and abs(audio).max() > 0.05
