"""Playback > Sleep Timer in the window (offscreen, fake engine, the real Player on a fake device): the
menu, the time left in the status bar, and a stop after the time with the fade measured in the samples
that reached the device; End of Chapter stops as the next chapter begins."""

from __future__ import annotations

import numpy as np
from book_files import write_epub
from fake_engine import FakeEngine

from fasttts_desktop.engine.types import SAMPLE_RATE

pytest_plugins = ["app_fixtures"]


def _rms(audio: np.ndarray, window: int) -> np.ndarray:
    frames = audio[: len(audio) // window * window].reshape(-1, window)
    return np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1))


def test_the_menu_and_its_names(qtbot, make_app):
    app = make_app()
    w = app.window
    timer = w.sleep_timer
    playback = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Playback")
    assert timer.menu.menuAction() in playback.actions()
    texts = [a.text() for a in timer.menu.actions() if not a.isSeparator()]
    assert texts[0] == "&Off" and "30 minutes" in texts and texts[-1] == "End of &Chapter"
    assert all(a.toolTip() for a in timer.menu.actions() if not a.isSeparator())
    assert timer.off.isChecked() and not timer.label.isVisible()
    timer.menu.aboutToShow.emit()
    assert not timer.chapter_end.isEnabled()  # typed text has no chapters
    timer.choices[15].trigger()
    assert timer.label.isVisible() and timer.label.text() in ("Sleep in 15:00", "Sleep in 14:59")
    assert timer.label.accessibleName() == "Sleep timer"
    timer.off.trigger()
    assert not timer.label.isVisible() and not timer.active


def test_it_fades_the_sound_out_then_stops(qtbot, make_app):
    app = make_app(FakeEngine(chunk_s=1.0, synth_s=0.01))
    w = app.window
    timer = w.sleep_timer
    timer.fade_s = 1.0
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.text_edit.setPlainText(" ".join(f"Sentence number {i}." for i in range(60)))
    w.speak()
    qtbot.waitUntil(lambda: bool(app.output.streams) and len(app.output.streams[0].played) > SAMPLE_RATE)
    timer.choose(1.5 / 60)  # 1.5 s from now
    qtbot.waitUntil(lambda: w.status_label.text() == "Stopped by the sleep timer.", timeout=10_000)
    assert not app.service.busy and not timer.active and timer.off.isChecked()
    played = app.output.streams[0].played
    sounding = np.flatnonzero(np.abs(played) > 1e-4)
    audio = played[: sounding[-1] + 1]
    level = _rms(audio, SAMPLE_RATE // 10)  # 100 ms windows
    # the fake engine's tones are steady (0.3 peak): full level, then a second's fall to silence
    assert level[:5].min() > 0.2
    fade = level[-10:]
    assert (np.diff(fade) < 0).all(), fade  # falling all the way, not cut
    assert fade[0] > 0.15 and fade[-1] < 0.05
    assert len(audio) / SAMPLE_RATE < 30  # it stopped: 60 s of text were not read


def test_end_of_chapter(qtbot, make_app, tmp_path):
    app = make_app(FakeEngine(chunk_s=0.3, synth_s=0.01))
    w = app.window
    timer = w.sleep_timer
    timer.fade_s = 0.2
    qtbot.waitUntil(lambda: app.service.is_ready)
    with qtbot.waitSignal(w.documents.opened, timeout=10_000):
        w.open_path(str(write_epub(tmp_path / "book.epub")))
    second = w.documents.current.document.headings[1].offset
    timer.menu.aboutToShow.emit()
    assert timer.chapter_end.isEnabled()
    w.speak()
    timer.chapter_end.trigger()
    assert timer.label.text() == "Sleep at the chapter's end"
    qtbot.waitUntil(lambda: w.status_label.text() == "Stopped by the sleep timer.", timeout=15_000)
    assert second <= w.reader.position < w.documents.current.document.headings[2].offset
