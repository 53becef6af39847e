"""File > Export Audio… in the window (offscreen, fake engine, the real encoders): the dialog (format and
extension kept together, subtitles, chapter marks for a document, choices remembered, bad places refused),
the export as a job beside the reading (progress, time left, Cancel leaves no file, Stop leaves it alone),
and M4B chapters from an EPUB read back with PyAV."""

from __future__ import annotations

import re

import av
import numpy as np
import pytest
import soundfile
import srt
from book_files import CHAPTERS, write_epub
from fake_engine import FakeEngine
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLineEdit, QWidget

from fasttts_desktop.engine.text.documents import chapter_marks
from fasttts_desktop.engine.text.documents.model import Heading
from fasttts_desktop.engine.types import SAMPLE_RATE

pytest_plugins = ["app_fixtures"]


@pytest.fixture
def out(tmp_path):
    """A folder for the exported files alone (tmp_path also holds the window's settings)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def sentences(n: int, word: str = "Sentence") -> str:
    return " ".join(f"{word} {i}." for i in range(n))


def ready(qtbot, app, text: str):
    qtbot.waitUntil(lambda: app.service.is_ready)
    app.window.text_edit.setPlainText(text)
    return app.window


def ask(qtbot, w):
    """Ctrl+S, as a user opens the dialog (keys go to the active window)."""
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    qtbot.keyClick(w.text_edit, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    dialog = w.exporter.dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def type_path(qtbot, dialog, path) -> None:
    dialog.path_edit.clear()
    qtbot.keyClicks(dialog.path_edit, str(path))


def test_format_follows_the_extension_and_the_extension_the_format(qtbot, make_app, tmp_path):
    app = make_app()
    w = ready(qtbot, app, "Hello there.")
    dialog = ask(qtbot, w)
    assert dialog.path_edit.text().endswith("speech.mp3")  # typed text: "speech", MP3 the first time
    type_path(qtbot, dialog, tmp_path / "talk.flac")
    assert dialog.format_box.currentData() == "flac"
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("opus"))
    assert dialog.path_edit.text() == str(tmp_path / "talk.opus")
    assert dialog.choice().subtitles is None
    dialog.subtitles_box.setChecked(True)
    assert dialog.choice().subtitles == str(tmp_path / "talk.srt")
    dialog.subtitle_format.setCurrentIndex(dialog.subtitle_format.findData("vtt"))
    assert dialog.choice().subtitles == str(tmp_path / "talk.vtt")
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("m4b"))
    assert not dialog.chapters_box.isEnabled() and "no chapters" in dialog.chapters_box.toolTip()
    assert dialog.chapters_box.text() == "C&hapter marks (the text has no chapters)"
    assert not dialog.choice().chapters
    # Every control is named for screen readers and says what it does.
    controls = [
        c for c in dialog.findChildren(QWidget) if isinstance(c, (QAbstractButton, QComboBox, QLineEdit))
    ]
    assert len(controls) >= 8
    assert [c.objectName() for c in controls if not c.accessibleName() or not c.toolTip()] == []
    dialog.reject()


def test_a_place_that_cannot_be_written_is_refused_in_the_dialog(qtbot, make_app, tmp_path):
    app = make_app()
    w = ready(qtbot, app, "Hello there.")
    dialog = ask(qtbot, w)
    type_path(qtbot, dialog, tmp_path / "no-such-folder" / "x.wav")
    dialog.export_button.click()
    assert dialog.isVisible() and dialog.error_label.isVisible()
    assert "does not exist" in dialog.error_label.text()
    assert not app.service.exports.busy
    (tmp_path / "taken.wav").mkdir()
    type_path(qtbot, dialog, tmp_path / "taken.wav")  # a folder where the file would go
    dialog.export_button.click()
    assert dialog.isVisible() and "it is a folder" in dialog.error_label.text()
    assert not app.service.exports.busy
    dialog.reject()
    w.text_edit.clear()
    w.commands.export_audio.trigger()
    assert w.exporter.dialog is None and "no text to export" in w.error_label.text()


def test_an_export_runs_beside_the_reading_and_is_named_when_done(qtbot, make_app, tmp_path):
    # Reading: 1 s chunks played 4x faster than real time, so it keeps asking the engine for more.
    engine = FakeEngine(chunk_s=1.0, synth_s=0.04)
    app = make_app(engine, pace=0.25)
    w = ready(qtbot, app, sentences(80))
    w.speak()
    qtbot.waitUntil(lambda: bool(app.output.streams), timeout=3000)
    spoken = []  # when each chunk reached the player
    app.service.chunk_played.connect(lambda request, chunk: spoken.append(chunk.index))
    dialog = ask(qtbot, w)
    type_path(qtbot, dialog, tmp_path / "book.mp3")
    dialog.subtitles_box.setChecked(True)
    progress = []
    app.service.exports.progress.connect(progress.append)
    dialog.export_button.click()
    assert not dialog.isVisible() and app.service.exports.busy
    panel = w.exporter.panel
    assert panel.isVisible() and panel.label.text() == "Exporting book.mp3"
    assert not w.commands.export_audio.isEnabled() and not w.save_button.isEnabled()
    during = len(spoken)
    with qtbot.waitSignal(app.service.exports.finished, timeout=30_000) as saved:
        pass
    spoken_during = len(spoken) - during
    summary = saved.args[0]
    assert not panel.isVisible() and w.commands.export_audio.isEnabled()
    assert w.status_label.text().startswith("Exported book.mp3 and book.srt (1:20 of audio")
    assert w.status_label.toolTip() == str(tmp_path / "book.mp3")  # the whole path, where there is room
    assert app.service.busy  # still reading
    w.stop()

    # The reading went on: chunks kept coming while the export ran, and no gap was heard.
    print(f"\n{spoken_during} chunks spoken while the export ran ({summary.elapsed_s:.1f} s)")
    assert spoken_during >= 2
    played = app.output.streams[0].played
    sounding = played[np.flatnonzero(played)[0] :]
    gaps = np.flatnonzero(sounding == 0)
    assert not len(gaps) or gaps[0] > len(sounding) - 2 * 1024  # silence only at the very end (the stop)
    # The files: 80 s of audio (MP3 decoded within a frame of it), one cue per sentence, progress to 100%.
    audio, rate = soundfile.read(str(tmp_path / "book.mp3"), dtype="float32")
    assert rate == SAMPLE_RATE and abs(len(audio) - 80 * SAMPLE_RATE) <= 1152
    cues = list(srt.parse((tmp_path / "book.srt").read_text()))
    assert [c.content for c in cues] == [f"Sentence {i}." for i in range(80)]
    assert summary.audio_s == pytest.approx(80.0) and not summary.reused
    assert progress[-1].fraction == 1.0 and progress[-1].chunks_done == 80


def test_the_bar_shows_the_time_left_and_cancel_leaves_no_file(qtbot, make_app, out):
    app = make_app(FakeEngine(chunk_s=0.5, synth_s=0.15))
    w = ready(qtbot, app, sentences(40))
    dialog = ask(qtbot, w)
    type_path(qtbot, dialog, out / "long.m4b")
    dialog.subtitles_box.setChecked(True)
    dialog.export_button.click()
    bar = w.save_progress
    qtbot.waitUntil(lambda: "left" in bar.format(), timeout=10_000)  # measured after ~2 s
    assert re.fullmatch(r"\d+% · \d+:\d\d left", bar.format()), bar.format()
    assert 0 < bar.value() < bar.maximum()
    w.exporter.panel.cancel_button.click()
    assert not app.service.exports.busy and not w.exporter.panel.isVisible()
    assert w.status_label.text() == "Export cancelled; no file was written."
    qtbot.wait(600)  # the encoder sees the cancel within ~0.1 s and removes its temporary files
    assert sorted(p.name for p in out.iterdir()) == []


def test_stop_stops_the_reading_but_not_the_export(qtbot, make_app, tmp_path):
    app = make_app(FakeEngine(chunk_s=0.5, synth_s=0.05))
    w = ready(qtbot, app, sentences(12))
    w.speak()
    w.save_to(str(tmp_path / "kept.ogg"))
    qtbot.keyClick(w.text_edit, Qt.Key.Key_Escape)
    assert not app.service.busy and app.service.exports.busy
    with qtbot.waitSignal(app.service.exports.finished, timeout=10_000):
        pass
    audio, _ = soundfile.read(str(tmp_path / "kept.ogg"), dtype="float32")
    assert abs(len(audio) - 6 * SAMPLE_RATE) < 0.05 * SAMPLE_RATE


def test_an_engine_failure_is_shown_and_nothing_is_written(qtbot, make_app, out):
    engine = FakeEngine()
    app = make_app(engine)
    w = ready(qtbot, app, "Hello there.")
    engine.voices = engine.voices[1:]  # the voice picked in the window is gone from the engine
    with qtbot.waitSignal(app.service.exports.failed, timeout=5000):
        w.save_to(str(out / "x.flac"))
    assert "Unknown voice" in w.error_label.text() and w.status_label.text() == "Could not export."
    assert list(out.iterdir()) == [] and not w.exporter.panel.isVisible()


def test_choices_are_remembered(qtbot, make_app, tmp_path):
    app = make_app()
    w = ready(qtbot, app, "Hello there.")
    dialog = ask(qtbot, w)
    type_path(qtbot, dialog, tmp_path / "a.ogg")
    dialog.subtitles_box.setChecked(True)
    dialog.subtitle_format.setCurrentIndex(dialog.subtitle_format.findData("vtt"))
    with qtbot.waitSignal(app.service.exports.finished, timeout=5000):
        dialog.export_button.click()
    assert (tmp_path / "a.vtt").read_text().startswith("WEBVTT")
    again = ask(qtbot, w)
    assert again.path_edit.text() == str(tmp_path / "speech.ogg")
    assert again.subtitles_box.isChecked() and again.subtitle_format.currentData() == "vtt"
    again.reject()


def test_an_epub_exports_to_m4b_with_its_chapters(qtbot, make_app, tmp_path):
    book = write_epub(tmp_path / "harvard.epub")
    app = make_app(FakeEngine(chunk_s=0.3, synth_s=0.01))
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    with qtbot.waitSignal(w.documents.opened, timeout=10_000):
        w.open_path(str(book))
    dialog = ask(qtbot, w)
    assert dialog.path_edit.text().endswith("Harvard Lines.mp3")  # named after the book
    # MP3 keeps no chapter marks: the box shows none will be made, and says why where it can be read
    assert not dialog.chapters_box.isEnabled() and not dialog.chapters_box.isChecked()
    assert dialog.chapters_box.text() == "C&hapter marks (3 chapters): only M4B and read-along EPUB keep them"
    assert not dialog.choice().chapters
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("m4b"))
    assert dialog.chapters_box.isEnabled() and dialog.chapters_box.isChecked()  # the choice comes back
    assert dialog.chapters_box.text() == "C&hapter marks (3 chapters)"
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    qtbot.keyClick(dialog.path_edit, Qt.Key.Key_H, Qt.KeyboardModifier.AltModifier)  # its mnemonic: off...
    qtbot.waitUntil(lambda: not dialog.chapters_box.isChecked())  # (a mnemonic's click is animated)
    assert not dialog.choice().chapters
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("flac"))
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("m4b"))
    assert not dialog.chapters_box.isChecked()  # ...and still off after a format that keeps none
    dialog.chapters_box.click()
    type_path(qtbot, dialog, tmp_path / "out" / "book.m4b")
    (tmp_path / "out").mkdir()
    with qtbot.waitSignal(app.service.exports.finished, timeout=10_000) as saved:
        dialog.export_button.click()
    assert "3 chapters" in w.status_label.text()
    with av.open(str(tmp_path / "out" / "book.m4b")) as container:
        chapters = [
            (c["metadata"]["title"], float(c["start"] * c["time_base"])) for c in container.chapters()
        ]
        assert container.metadata.get("title") == "Harvard Lines"
    assert [t for t, _ in chapters] == [title for title, _ in CHAPTERS]
    starts = [s for _, s in chapters]
    assert starts[0] == 0 and starts == sorted(starts) and starts[-1] < saved.args[0].audio_s


def test_chapters_are_the_top_level_or_the_two_top_levels_under_a_single_title():
    flat = [Heading("One", 0, 1), Heading("Part", 5, 2), Heading("Two", 9, 1)]
    assert chapter_marks(flat) == ((0, "One"), (9, "Two"))
    titled = [Heading("Book", 0, 1), Heading("One", 4, 2), Heading("Two", 9, 2), Heading("x", 12, 3)]
    assert chapter_marks(titled) == ((0, "Book"), (4, "One"), (9, "Two"))
    assert chapter_marks([]) == () and chapter_marks([Heading("Only", 3, 2)]) == ((3, "Only"),)


def test_one_chapter_is_one_chapter(qtbot, make_app):
    from fasttts_desktop.ui.export_dialog import ExportDialog

    app = make_app()
    dialog = ExportDialog(app.window.settings, "book", 1, app.window)
    qtbot.addWidget(dialog)
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("m4b"))
    assert dialog.chapters_box.text() == "C&hapter marks (1 chapter)"


def test_a_long_export_name_is_shortened_in_the_status_bar_not_cut(qtbot, make_app, tmp_path):
    app = make_app(FakeEngine(chunk_s=1.0, synth_s=0.05))
    w = ready(qtbot, app, sentences(20))
    dialog = ask(qtbot, w)
    name = "A very long book title that would push the reading position out of the status bar.mp3"
    type_path(qtbot, dialog, tmp_path / name)
    with qtbot.waitSignal(app.service.exports.finished, timeout=30_000):
        dialog.export_button.click()
        label = w.exporter.panel.label
        assert label.text().startswith("Exporting A very") and label.text().endswith("status bar.mp3")
        assert "…" in label.text() and label.sizeHint().width() <= 240
        assert label.toolTip() == f"Exporting {tmp_path / name}"
    assert w.status_label.text().startswith(f"Exported {name} (")
