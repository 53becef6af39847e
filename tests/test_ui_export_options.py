"""The export dialog's new choices in the window (offscreen, fake engine, real encoders): loudness on at
-18 LUFS by default and remembered when turned off, a cover picture checked before anything starts, and a
read-along EPUB of an opened book written, then read back package and clips alike."""

from __future__ import annotations

import pytest
from book_extras import png, write_epub_with_cover
from book_files import CHAPTERS
from epub_checks import read_readalong
from fake_engine import FakeEngine
from loudness_checks import decode, integrated_lufs
from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QLineEdit
from test_ui_export import ask, ready, type_path

pytest_plugins = ["app_fixtures"]


def test_loudness_is_on_by_default_and_remembered_off(qtbot, make_app, tmp_path):
    app = make_app(FakeEngine(chunk_s=0.5, synth_s=0.01))
    w = ready(qtbot, app, "One sentence. Another sentence. A third one.")
    dialog = ask(qtbot, w)
    row = dialog.loudness
    assert row.box.isChecked() and row.level.value() == -18.0
    assert dialog.choice().loudness == -18.0
    for control in (row.box, row.level, dialog.cover.path_edit, dialog.cover.choose_button):
        assert control.accessibleName() and control.toolTip()
    type_path(qtbot, dialog, tmp_path / "loud.flac")
    with qtbot.waitSignal(app.service.exports.finished, timeout=10_000):
        dialog.export_button.click()
    audio, sr = decode(tmp_path / "loud.flac")
    assert integrated_lufs(audio, sr) == pytest.approx(-18.0, abs=0.3)

    dialog = ask(qtbot, w)
    dialog.loudness.box.click()  # off
    assert not dialog.loudness.level.isEnabled() and dialog.choice().loudness is None
    type_path(qtbot, dialog, tmp_path / "asmade.flac")
    with qtbot.waitSignal(app.service.exports.finished, timeout=10_000):
        dialog.export_button.click()
    audio, sr = decode(tmp_path / "asmade.flac")
    assert abs(audio).max() == pytest.approx(0.3, abs=0.001)  # the fake engine's tones, untouched
    dialog = ask(qtbot, w)
    assert not dialog.loudness.box.isChecked()  # remembered
    dialog.reject()


def test_a_cover_that_is_not_a_picture_is_refused_in_the_dialog(qtbot, make_app, tmp_path):
    app = make_app()
    w = ready(qtbot, app, "Hello there.")
    dialog = ask(qtbot, w)
    type_path(qtbot, dialog, tmp_path / "x.mp3")
    assert not dialog.cover.isEnabled()  # MP3 keeps no cover
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("m4b"))
    assert dialog.cover.isEnabled()
    (tmp_path / "notes.png").write_text("not a picture")
    dialog.cover.path_edit.setText(str(tmp_path / "notes.png"))
    dialog.export_button.click()
    assert dialog.isVisible() and "not a JPEG or PNG" in dialog.error_label.text()
    assert not app.service.exports.busy
    dialog.reject()


def test_a_read_along_book_from_the_window(qtbot, make_app, tmp_path):
    picture = png(5, 5, (1, 2, 3))
    book = write_epub_with_cover(tmp_path / "harvard.epub", author="Ada Lovelace", cover=picture)
    app = make_app(FakeEngine(chunk_s=0.3, synth_s=0.01))
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    with qtbot.waitSignal(w.documents.opened, timeout=10_000):
        w.open_path(str(book))
    dialog = ask(qtbot, w)
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("epub"))
    assert dialog.path_edit.text().endswith("Harvard Lines.epub")
    assert not dialog.subtitles_box.isEnabled()  # its timings are inside it
    assert dialog.chapters_box.isEnabled() and dialog.chapters_box.isChecked()
    (tmp_path / "out").mkdir()
    type_path(qtbot, dialog, tmp_path / "out" / "read-along.epub")
    with qtbot.waitSignal(app.service.exports.finished, timeout=20_000) as saved:
        dialog.export_button.click()
    assert saved.args[0].audio_path == str(tmp_path / "out" / "read-along.epub")
    made = read_readalong(tmp_path / "out" / "read-along.epub")
    assert len(made.overlays) == len(CHAPTERS)
    assert made.title == "Harvard Lines"
    assert made.creators == ["Ada Lovelace"]  # from the EPUB read
    assert made.narrator == "jm_kumo"  # the voice read in
    assert made.cover == picture  # the EPUB's own, no picture was chosen
    assert made.language == "en"  # the EPUB's dc:language
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["read-along.epub"]


def test_every_new_control_is_reachable_by_keyboard(qtbot, make_app):
    app = make_app()
    w = ready(qtbot, app, "Hello there.")
    dialog = ask(qtbot, w)
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("m4b"))
    controls = [
        dialog.loudness.box,
        dialog.loudness.level,
        dialog.cover.path_edit,
        dialog.cover.choose_button,
    ]
    for control in controls:
        assert isinstance(control, (QAbstractButton, QAbstractSpinBox, QLineEdit))
        assert control.focusPolicy() & control.focusPolicy().TabFocus
    seen = set()
    for _ in range(30):  # Tab through the dialog, as a keyboard user would
        dialog.focusNextChild()
        seen.add(dialog.focusWidget())
    assert all(c in seen for c in controls)
    dialog.reject()
