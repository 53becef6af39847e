"""Voice > Mix Voices… and Voice > Pronunciation… in the real window around the fake engine (offscreen):
shares and sums, preview in the first voice's language, saved blends in the voice picker, the engine's
messages inside the dialogs, lexicon entries saved, handed to the engine, heard and shown as phonemes."""

from __future__ import annotations

import json

import pytest
from fake_engine import FakeEngine
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QSlider,
    QWidget,
)

from fasttts_desktop.engine.storage.blends import saved_blends
from fasttts_desktop.engine.storage.paths import config_dir
from fasttts_desktop.engine.text.lexicon import Lexicon
from fasttts_desktop.ui.lexicon_entry import EntryDialog
from fasttts_desktop.ui.voice_mixer import SAMPLES, VoiceMixer

pytest_plugins = ["app_fixtures"]


def ready(qtbot, app):
    qtbot.waitUntil(lambda: app.service.is_ready, timeout=5000)
    return app.window


def mix(mixer: VoiceMixer, *parts: tuple[str, int]) -> None:
    for row, (voice, weight) in zip(mixer.rows, [*parts, ("", 0), ("", 0)], strict=False):
        row.box.setCurrentIndex(row.box.findData(voice))
        row.slider.setValue(weight)


def picker(w) -> list[str]:
    """The voices the picker offers, in order (its language headings carry no voice)."""
    return [d for i in range(w.voice_box.count()) if (d := w.voice_box.itemData(i))]


def unnamed_controls(dialog: QWidget) -> list[str]:
    controls = (QAbstractButton, QComboBox, QSlider, QLineEdit, QAbstractItemView)
    return [
        f"{type(c).__name__} {c.objectName()!r}"
        for c in dialog.findChildren(QWidget)
        if isinstance(c, controls) and not isinstance(c, QHeaderView) and c.isVisibleTo(dialog)
        and not (c.accessibleName() and c.toolTip())
    ]  # fmt: skip


def test_the_voice_menu_opens_both_dialogs_once_the_voices_are_known(qtbot, make_app):
    app = make_app(hold_load=True)
    w = app.window
    a = w.commands
    assert not a.mix_voices.isEnabled() and not w.mix_button.isEnabled()
    app.release_load.set()
    ready(qtbot, app)
    assert a.mix_voices.isEnabled() and w.mix_button.defaultAction() is a.mix_voices
    menus = {m.title(): m for m in (act.menu() for act in w.menuBar().actions()) if m}
    assert [x.text() for x in menus["V&oice"].actions()] == ["&Mix Voices…", "&Pronunciation…"]
    w.mix_button.click()
    mixer = w.voice_dialogs.mixer
    assert mixer.isVisible() and unnamed_controls(mixer) == []
    a.pronunciation.trigger()
    assert w.voice_dialogs.lexicon.isVisible() and unnamed_controls(w.voice_dialogs.lexicon) == []
    entry = w.voice_dialogs.lexicon.add_entry()
    assert unnamed_controls(entry) == []
    entry.reject()


def test_the_mixer_shows_each_voices_share_and_the_sum(qtbot, make_app):
    w = ready(qtbot, make_app())
    mixer = w.voice_dialogs.open_mixer()
    # the engine's voices only, the window's voice first and another of its language beside it
    assert [mixer.rows[0].box.itemData(i) for i in range(mixer.rows[0].box.count())] == [
        "jm_kumo",
        "jf_alpha",
        "af_test",
    ]
    assert [r.voice for r in mixer.rows] == ["jm_kumo", "jf_alpha", ""]
    mix(mixer, ("jm_kumo", 60), ("jf_alpha", 30), ("af_test", 60))
    assert [r.share.text() for r in mixer.rows] == ["40%", "20%", "40%"]
    assert "Weights add up to 150" in mixer.sum_label.text()
    assert mixer.spec_label.text() == "Blend: jm_kumo:40,jf_alpha:20,af_test:40"
    mix(mixer, ("jm_kumo", 0), ("jf_alpha", 0))
    assert not mixer.preview_button.isEnabled() and not mixer.save_button.isEnabled()
    assert "add up to nothing" in mixer.spec_label.text()
    assert not mixer.rows[2].slider.isEnabled()  # no third voice: its weight counts for nothing


@pytest.mark.parametrize(
    ("first", "second", "sample"),
    [
        pytest.param("jf_alpha", "jm_kumo", SAMPLES["j"], id="japanese"),
        pytest.param("af_test", "jm_kumo", SAMPLES["a"], id="english"),
    ],
)
def test_preview_says_a_sample_in_the_first_voices_language_with_the_blend(
    qtbot, make_app, first, second, sample
):
    app = make_app()
    w = ready(qtbot, app)
    w.text_edit.setPlainText("The text in the box.")
    mixer = w.voice_dialogs.open_mixer()
    mix(mixer, (first, 3), (second, 1))
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000):
        mixer.preview_button.click()
    assert app.engine.calls[-1] == (sample, f"{first}:75,{second}:25", 1.0)
    assert w.text_edit.toPlainText() == "The text in the box." and w.voice() == "jm_kumo"


def test_a_saved_blend_is_offered_in_the_voice_picker_which_keeps_its_choice(qtbot, make_app):
    app = make_app()
    w = ready(qtbot, app)
    w.voice_box.setCurrentIndex(w.voice_box.findData("jf_alpha"))
    mixer = w.voice_dialogs.open_mixer()
    mix(mixer, ("jm_kumo", 60), ("jf_alpha", 40))
    mixer.name_edit.setText("Warm mix")
    mixer.save_button.click()
    qtbot.waitUntil(lambda: "Warm mix" in picker(w), timeout=3000)
    assert picker(w) == ["jm_kumo", "jf_alpha", "af_test", "Warm mix"]
    assert w.voice_box.itemText(w.voice_box.findData("Warm mix") - 1) == "Saved blends"  # under its heading
    assert w.voice() == "jf_alpha"  # listed again, the choice kept
    assert app.service.engine_info.voices[-1] == ("Warm mix", "Warm mix (Japanese)")
    assert saved_blends()["Warm mix"].spec == "jm_kumo:60,jf_alpha:40"
    assert (config_dir() / "blends.json").is_file()
    assert "Saved “Warm mix”" in mixer.message.text()
    assert [mixer.saved_box.itemData(i) for i in range(mixer.saved_box.count())] == ["Warm mix"]

    w.voice_box.setCurrentIndex(w.voice_box.findData("Warm mix"))
    w.text_edit.setPlainText("Hello there.")
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000):
        w.speak()
    assert app.engine.calls[-1] == ("Hello there.", "Warm mix", 1.0)

    mixer.delete_button.click()
    qtbot.waitUntil(lambda: "Warm mix" not in picker(w), timeout=3000)
    assert saved_blends() == {} and w.voice() == "jm_kumo"  # the blend is gone: the default voice
    assert not mixer.delete_button.isEnabled()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param("jf_x", "'jf_x' looks like one of Kokoro's voice names", id="voice-like"),
        pytest.param("a,b", "A blend's name needs 1-40 characters", id="comma"),
        pytest.param("  ", "Give the blend a name first.", id="empty"),
    ],
)
def test_a_refused_name_shows_the_engines_line_in_the_mixer(qtbot, make_app, name, message):
    w = ready(qtbot, make_app())
    mixer = w.voice_dialogs.open_mixer()
    mixer.name_edit.setText(name)
    assert not mixer.save()
    assert mixer.message.isVisible() and message in mixer.message.text()
    assert "\n" not in mixer.message.text()
    assert not (config_dir() / "blends.json").exists() and picker(w) == ["jm_kumo", "jf_alpha", "af_test"]


def test_return_in_a_line_does_that_lines_job_only(qtbot, make_app):
    app = make_app()
    w = ready(qtbot, app)
    mixer = w.voice_dialogs.open_mixer()
    mixer.name_edit.setText("by return")
    qtbot.keyClick(mixer.name_edit, Qt.Key.Key_Return)
    assert "by return" in saved_blends()
    lexicon = w.voice_dialogs.open_lexicon()
    lexicon.try_edit.setText("Hello.")
    with qtbot.waitSignal(app.service.tools.phonemes_ready, timeout=3000):
        qtbot.keyClick(lexicon.try_edit, Qt.Key.Key_Return)
    qtbot.wait(100)
    assert app.engine.calls == []  # neither Preview nor Hear it was pressed as well
    assert not lexicon.findChildren(EntryDialog)  # nor Add…


def test_choosing_a_saved_blend_puts_it_in_the_rows(qtbot, make_app):
    w = ready(qtbot, make_app())
    mixer = w.voice_dialogs.open_mixer()
    mix(mixer, ("jf_alpha", 20), ("jm_kumo", 20), ("af_test", 60))
    mixer.name_edit.setText("three")
    assert mixer.save()
    mix(mixer, ("jm_kumo", 50), ("jf_alpha", 50))
    mixer.name_edit.clear()
    mixer.saved_box.activated.emit(0)
    assert mixer.parts() == [("jf_alpha", 20), ("jm_kumo", 20), ("af_test", 60)]
    assert mixer.name_edit.text() == "three"


def test_dialog_geometry_is_remembered(qtbot, make_app, settings_path):
    w = ready(qtbot, make_app())
    mixer = w.voice_dialogs.open_mixer()
    mixer.resize(700, 333)
    mixer.close()
    again = VoiceMixer(w.settings)
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (700, 333)
    lexicon = w.voice_dialogs.open_lexicon()
    lexicon.resize(640, 480)
    lexicon.reject()
    assert w.settings.value("dialogs/pronunciation/geometry") is not None


# --- the pronunciation lexicon ---


def add(qtbot, dialog, text: str, replacement: str, languages=()):
    entry = dialog.add_entry()
    entry.text_edit.setText(text)
    entry.replacement_edit.setText(replacement)
    for code in languages:
        entry.language_boxes[code].setChecked(True)
    entry.ok_button.click()
    return entry


def test_entries_are_added_changed_and_removed_saved_and_read_by_the_engine(qtbot, make_app):
    app = make_app()
    w = ready(qtbot, app)
    lexicon = w.voice_dialogs.open_lexicon()
    assert lexicon.table.rowCount() == 0 and str(config_dir()) in lexicon.path_label.text()
    entry = add(qtbot, lexicon, "Kokoro", "koh-KOH-roh")
    assert not entry.isVisible()
    assert [(e.text, e.replacement) for e in Lexicon.load().entries()] == [("Kokoro", "koh-KOH-roh")]
    cells = [lexicon.table.item(0, c).text() for c in range(4)]
    assert cells == ["Kokoro", "koh-KOH-roh", "respelling", "all"]
    qtbot.waitUntil(lambda: len(app.engine.lexicons_set) == 1, timeout=3000)  # handed over, not polled
    assert app.engine.lexicons_set[0].entries() == Lexicon.load().entries()

    w.text_edit.setPlainText("Kokoro reads.")
    chunks = []
    app.service.chunk_played.connect(lambda _r, c: chunks.append(c))
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000):
        w.speak()
    assert chunks[-1].chunk.phonemes == "koh-koh-roh reads."

    lexicon.table.selectRow(0)
    change = lexicon.edit_entry()
    assert change.text_edit.text() == "Kokoro"
    change.replacement_edit.setText("/kˈOkəɹO/")
    change.language_boxes["a"].setChecked(True)
    change.ok_button.click()
    assert [(e.replacement, e.languages, e.kind) for e in Lexicon.load().entries()] == [
        ("/kˈOkəɹO/", ("a",), "phonemes")
    ]
    assert lexicon.table.item(0, 3).text() == "American English"

    lexicon.table.selectRow(0)
    assert lexicon.remove_entry()
    assert Lexicon.load().entries() == [] and lexicon.table.rowCount() == 0
    qtbot.waitUntil(lambda: len(app.engine.lexicons_set) == 3, timeout=3000)
    assert app.engine.lexicons_set[-1].entries() == []


@pytest.mark.parametrize(
    ("text", "replacement", "message"),
    [
        pytest.param("Kokoro", "/k☃ro/", "not known: ☃", id="phonemes-outside-kokoros-set"),
        # English entries may use everyday IPA (ɫ is read as l); a Japanese one must use Kokoro's own
        pytest.param("Kokoro", "/kaɫ/", "not known: ɫ", id="not-in-this-languages-set"),
    ],
)
def test_a_bad_entry_shows_the_engines_line_and_the_lexicon_is_unchanged(
    qtbot, make_app, text, replacement, message
):
    w = ready(qtbot, make_app())
    lexicon = w.voice_dialogs.open_lexicon()
    add(qtbot, lexicon, "zorp", "zap")
    before = Lexicon.default_path().read_bytes()
    entry = add(qtbot, lexicon, text, replacement, ["j"] if "ɫ" in message else [])
    assert entry.isVisible() and entry.message.isVisible()  # still open, with what was typed
    assert message in entry.message.text() and "\n" not in entry.message.text()
    assert entry.replacement_edit.text() == replacement
    assert Lexicon.default_path().read_bytes() == before and lexicon.table.rowCount() == 1
    entry.reject()


def test_hear_it_speaks_with_the_windows_voice_and_show_phonemes_asks_the_engine(qtbot, make_app):
    app = make_app()
    w = ready(qtbot, app)
    w.text_edit.setPlainText("The box keeps its text.")
    w.voice_box.setCurrentIndex(w.voice_box.findData("af_test"))
    lexicon = w.voice_dialogs.open_lexicon()
    add(qtbot, lexicon, "NASA", "nassa")
    lexicon.table.selectRow(0)
    assert lexicon.try_edit.text() == "NASA"
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000):
        lexicon.hear_button.click()
    assert app.engine.calls[-1] == ("NASA", "af_test", 1.0)
    assert w.text_edit.toPlainText() == "The box keeps its text."

    lexicon.try_edit.setText("NASA and nasa.")  # an entry with capitals matches only itself
    lexicon.phonemes_button.click()
    qtbot.waitUntil(lambda: lexicon.phonemes_view.text() != "", timeout=3000)
    assert lexicon.phonemes_view.text() == "nassa and nasa."
    assert lexicon.message.text() == "Read as American English."

    # English words with a Japanese voice are read by the English front end: the line says so
    w.voice_box.setCurrentIndex(w.voice_box.findData("jf_alpha"))
    lexicon.try_edit.setText("Hello world")
    lexicon.phonemes_view.clear()
    lexicon.phonemes_button.click()
    qtbot.waitUntil(lambda: lexicon.phonemes_view.text() != "", timeout=3000)
    assert lexicon.message.text() == "Read as American English (the voice's language is Japanese)."
    lexicon.try_edit.setText("東京 and Tokyo")
    lexicon.phonemes_view.clear()
    lexicon.phonemes_button.click()
    qtbot.waitUntil(lambda: lexicon.phonemes_view.text() != "", timeout=3000)
    assert lexicon.message.text() == "Read as Japanese and American English."

    lexicon.try_edit.setText("   ")
    assert not lexicon.ask_phonemes() and "Type a word" in lexicon.message.text()


def test_an_entry_the_cli_added_while_the_dialog_was_open_is_kept(qtbot, make_app):
    import os

    from robust_helpers import REPO, run_cli

    w = ready(qtbot, make_app())
    lexicon = w.voice_dialogs.open_lexicon()
    add(qtbot, lexicon, "zorp", "zap")
    env = {**os.environ, "PYTHONPATH": str(REPO), "FASTTTS_CONFIG_DIR": str(config_dir())}
    added = run_cli(["lexicon", "add", "cli", "from the command line"], env, timeout=120)  # a real process
    assert added.returncode == 0, added.stderr
    add(qtbot, lexicon, "Kokoro", "koh-KOH-roh")  # the dialog still shows only zorp
    assert sorted(e.text for e in Lexicon.load().entries()) == ["Kokoro", "cli", "zorp"]
    assert lexicon.table.rowCount() == 3


def test_a_damaged_lexicon_file_is_shown_and_left_alone(qtbot, make_app):
    w = ready(qtbot, make_app())
    path = Lexicon.default_path()
    path.write_text('{"entries": [', encoding="utf-8")
    lexicon = w.voice_dialogs.open_lexicon()
    assert "is not valid JSON" in lexicon.message.text() and lexicon.message.isVisible()
    assert not lexicon.add_button.isEnabled()
    assert path.read_text(encoding="utf-8") == '{"entries": ['
    path.write_text(json.dumps({"entries": [{"text": "zorp", "replacement": "zap"}]}), encoding="utf-8")
    w.commands.pronunciation.trigger()  # opened again: read again
    assert lexicon.table.rowCount() == 1 and lexicon.add_button.isEnabled()
    assert not lexicon.message.isVisible()


def test_phonemes_come_back_as_one_line_when_they_cannot_be_made(qtbot, make_app):
    app = make_app()
    ready(qtbot, app)
    tools = app.service.tools
    for text, voice, message in [("  ", "", "There is no text"), ("Hi.", "zz_nobody", "Unknown voice")]:
        with qtbot.waitSignal(tools.phonemes_ready, timeout=3000) as got:
            asked = tools.phonemes(text, voice)
        result = got.args[0]
        assert result.request == asked and result.chunks == () and message in result.error
    with qtbot.waitSignal(tools.phonemes_ready, timeout=3000) as got:
        tools.phonemes("One. Two!", "", "en")
    assert got.args[0].phonemes == "one. two!" and got.args[0].lang_code == "a" and not got.args[0].error


def test_blend_and_lexicon_files_belong_to_each_test(make_app, tmp_path):
    make_app()
    assert config_dir() == tmp_path / "fasttts-config"
    assert FakeEngine().lexicon.path == tmp_path / "fasttts-config" / "lexicon.json"
