"""The status bar at the window's default size (offscreen, fake engine): nothing cut off with the longest
usual messages and the real CPU engine's description, progress at 100% once the text was read, and no
Qt warning while the window is built."""

from __future__ import annotations

from app_fixtures import utterance_done
from fake_engine import FakeEngine

pytest_plugins = ["app_fixtures"]

CPU_DESCRIPTION = "CPU · bf16 vocoder · 2 threads"  # what the app's CPU path calls itself


class CpuLikeEngine(FakeEngine):
    description = CPU_DESCRIPTION


def _fits(label) -> bool:
    return label.isVisible() and label.width() >= label.sizeHint().width()


def test_nothing_is_cut_off_at_the_default_size(qtbot, make_app, qtlog):
    app = make_app(CpuLikeEngine(chunk_s=0.3, synth_s=0.01))
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    assert [r.message for r in qtlog.records if "QStatusBar" in r.message] == []
    assert (w.width(), w.height()) == (860, 520)
    assert w.engine_label.text() == "CPU" and CPU_DESCRIPTION in w.engine_label.toolTip()
    w.text_edit.setPlainText("The birch canoe slid on the smooth planks.")
    with utterance_done(qtbot, app.service, 10_000):
        w.speak()
    qtbot.waitUntil(lambda: "100%" in w.position_label.text())
    assert w.position_label.text().startswith("Sentence 1 of 1 · 100% · 0:00 heard · done")
    assert w.status_label.text().startswith("Done · first sound after")
    assert "s of audio" in w.status_label.toolTip()  # the whole summary is one hover away
    for label in (w.status_label, w.position_label, w.engine_label):
        assert _fits(label), (label.objectName(), label.text(), label.width(), label.sizeHint().width())
    # a long book's position beside the summary the issue saw cut off (CPU: 0.85 s, RTF 0.45) still fits
    w.position_label.setText("Sentence 1,234 of 3,400 · 36% · 1:02:42 heard · about 1:23:20 left")
    w.status_label.setText("Done · first sound after 0.85 s · 2.2× real time · 2 underruns")
    qtbot.wait(50)
    for label in (w.status_label, w.position_label, w.engine_label):
        assert _fits(label), (label.objectName(), label.text(), label.width(), label.sizeHint().width())


def test_a_long_text_reads_100_percent_at_the_end(qtbot, make_app):
    app = make_app(FakeEngine(chunk_s=0.2, synth_s=0.01))
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.text_edit.setPlainText(" ".join(f"Sentence number {i}." for i in range(6)))
    seen = []
    w.reader.progress_changed.connect(lambda p: seen.append(p.fraction))
    with utterance_done(qtbot, app.service, 20_000):
        w.speak()
    qtbot.waitUntil(lambda: "100%" in w.position_label.text())
    assert max(seen[:-1]) < 1.0 and seen[-1] == 1.0  # only the end reads 100%
    assert w.position_label.text().startswith("Sentence 6 of 6 · 100%")


def test_the_opened_line_fits_beside_the_position(qtbot, make_app, tmp_path):
    from book_files import write_epub

    app = make_app(CpuLikeEngine())
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    with qtbot.waitSignal(w.documents.opened, timeout=10_000):
        w.open_path(str(write_epub(tmp_path / "harvard-sentences.epub")))
    qtbot.waitUntil(lambda: w.status_label.text().startswith("Opened harvard-sentences.epub:"))
    assert "characters" in w.status_label.toolTip()
    qtbot.wait(50)
    for label in (w.status_label, w.position_label, w.engine_label):
        if label.text():
            assert _fits(label), (label.objectName(), label.text(), label.width(), label.sizeHint().width())
