"""Export Audio… in the window with the real engine on CPU (fake sound output): a short text to MP3 with
SRT subtitles, an EPUB to M4B with its chapters, both decoded back; Cancel midway leaves no file; an export
asked for while reading waits for the reading's audio, never the other way round."""

from __future__ import annotations

import time

import av
import pytest
import soundfile
from book_files import write_epub
from test_export_subtitles import read_cues, words_of

from fasttts_desktop.engine.types import SAMPLE_RATE

pytest_plugins = ["app_fixtures"]

pytestmark = pytest.mark.slow

TWO = "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background."
BOOK = [
    ("Chapter One", ["The birch canoe slid on the smooth planks."]),
    (
        "Chapter Two",
        ["Glue the sheet to the dark blue background.", "It is easy to tell the depth of a well."],
    ),
]
# MP3 (LAME) and AAC decoders give back the audio within a frame of encoder delay and padding.
MP3_SLACK, AAC_SLACK = 1152 + 576, 2 * 1024


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def ready_app(qtbot, make_app, engine):
    app = make_app(engine)
    qtbot.waitUntil(lambda: app.service.is_ready, timeout=60_000)
    return app, app.window


def export_through_dialog(qtbot, w, path, fmt, subtitles=None):
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    dialog = w.exporter.ask()
    dialog.format_box.setCurrentIndex(dialog.format_box.findData(fmt))
    dialog.path_edit.setText(str(path))
    if subtitles:
        dialog.subtitles_box.setChecked(True)
        dialog.subtitle_format.setCurrentIndex(dialog.subtitle_format.findData(subtitles))
    return dialog


def test_a_short_text_exports_to_mp3_with_srt_subtitles(qtbot, make_app, engine, out):
    app, w = ready_app(qtbot, make_app, engine)
    w.text_edit.setPlainText(TWO)
    dialog = export_through_dialog(qtbot, w, out / "two.mp3", "mp3", subtitles="srt")
    with qtbot.waitSignal(app.service.exports.finished, timeout=120_000) as saved:
        dialog.export_button.click()
    summary = saved.args[0]
    audio, rate = soundfile.read(str(out / "two.mp3"), dtype="float32")
    made = round(summary.audio_s * SAMPLE_RATE)
    print(
        f"\n{summary.audio_s:.2f} s of speech exported in {summary.elapsed_s:.1f} s; "
        f"MP3 decodes to {len(audio)} samples"
    )
    assert rate == SAMPLE_RATE and abs(len(audio) - made) <= MP3_SLACK
    assert 2.0 < summary.audio_s < 15.0 and abs(audio).max() > 0.1  # speech, not silence
    cues = read_cues(out / "two.srt")
    assert words_of(" ".join(t for _, _, t in cues)) == words_of(TWO)
    assert len(cues) == 2 and cues[-1][1] <= summary.audio_s + 0.01
    assert sorted(p.name for p in out.iterdir()) == ["two.mp3", "two.srt"]


def test_an_epub_exports_to_m4b_with_its_chapters(qtbot, make_app, engine, tmp_path, out):
    book = write_epub(tmp_path / "short.epub", chapters=BOOK, title="Two Chapters")
    app, w = ready_app(qtbot, make_app, engine)
    with qtbot.waitSignal(w.documents.opened, timeout=30_000):
        w.open_path(str(book))
    dialog = export_through_dialog(qtbot, w, out / "book.m4b", "m4b", subtitles="vtt")
    assert dialog.chapters_box.isEnabled() and dialog.chapters_box.isChecked()
    with qtbot.waitSignal(app.service.exports.finished, timeout=180_000) as saved:
        dialog.export_button.click()
    summary = saved.args[0]
    with av.open(str(out / "book.m4b")) as container:
        chapters = [
            (c["metadata"]["title"], float(c["start"] * c["time_base"])) for c in container.chapters()
        ]
        title = container.metadata.get("title")
        decoded = sum(frame.samples for frame in container.decode(audio=0))
    print(f"\n{summary.audio_s:.2f} s exported in {summary.elapsed_s:.1f} s; chapters {chapters}")
    assert title == "Two Chapters"
    assert [t for t, _ in chapters] == ["Chapter One", "Chapter Two"]
    assert chapters[0][1] == 0 and 1.0 < chapters[1][1] < summary.audio_s - 1.0
    assert abs(decoded - round(summary.audio_s * SAMPLE_RATE)) <= AAC_SLACK
    # The second chapter starts between the first chapter's last words and its own heading being heard
    # (at the start of the chunk that reads the heading, which opens with a breath of silence).
    cues = read_cues(out / "book.vtt")
    i = next(i for i, c in enumerate(cues) if c[2] == "Chapter Two")
    assert cues[i - 1][1] <= chapters[1][1] + 0.05 and 0 <= cues[i][0] - chapters[1][1] < 0.5


def test_cancel_midway_leaves_no_file(qtbot, make_app, engine, out):
    app, w = ready_app(qtbot, make_app, engine)
    w.text_edit.setPlainText(" ".join([TWO] * 4))
    dialog = export_through_dialog(qtbot, w, out / "gone.m4b", "m4b", subtitles="srt")
    with qtbot.waitSignal(app.service.exports.progress, timeout=120_000):
        dialog.export_button.click()
    encoder = app.service._worker.encoder
    w.exporter.panel.cancel_button.click()
    assert w.status_label.text() == "Export cancelled; no file was written."
    qtbot.waitUntil(encoder.ended.is_set, timeout=60_000)
    assert list(out.iterdir()) == []


def test_an_export_asked_for_while_reading_waits_for_the_readings_audio(qtbot, make_app, engine, out):
    app, w = ready_app(qtbot, make_app, engine)
    w.text_edit.setPlainText(TWO + " Rice is often served in round bowls.")
    spoken, written = [], []
    app.service.chunk_played.connect(lambda request, chunk: spoken.append(time.perf_counter()))
    app.service.exports.progress.connect(lambda progress: written.append(time.perf_counter()))
    with qtbot.waitSignal(app.service.utterance_finished, timeout=180_000) as finished:
        w.speak()
        w.save_to(str(out / "aside.flac"))
        with qtbot.waitSignal(app.service.exports.finished, timeout=180_000):
            pass
    stats = finished.args[0]
    print(
        f"\nreading: {stats.chunks} chunks, {stats.underruns} underruns; "
        "export written after the reading's audio"
    )
    assert stats.chunks == len(spoken) >= 2
    assert max(spoken) < min(written)  # the reading's chunks were all made before the export's first
    audio, _ = soundfile.read(str(out / "aside.flac"), dtype="float32")
    assert len(audio) > 3 * SAMPLE_RATE
