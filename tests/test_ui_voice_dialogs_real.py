"""The voice mixer and the pronunciation dialog with the real engine on CPU (fake sound output): a blend saved
in the mixer is picked in the window and speaks; an entry added in the dialog changes the phonemes of the
next utterance and what Show phonemes says."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from app_fixtures import utterance_done
from audio_checks import pitch_track

from fasttts_desktop.engine.types import SAMPLE_RATE

pytest_plugins = ["app_fixtures"]

pytestmark = pytest.mark.slow

TEXT = "東京は晴れです。"


@pytest.fixture
def engine_lexicon_restored(engine):
    """The session's engine is shared: give it back the lexicon it had (the dialog hands it the test's)."""
    before = engine.lexicon
    yield engine
    engine.set_lexicon(before)


def ready_app(qtbot, make_app, engine):
    app = make_app(engine)
    qtbot.waitUntil(lambda: app.service.is_ready, timeout=60_000)
    return app, app.window


def speak(qtbot, app, text: str) -> list:
    w, chunks = app.window, []

    def on_chunk(_request, chunk) -> None:
        chunks.append(chunk)

    app.service.chunk_played.connect(on_chunk)
    try:
        w.text_edit.setPlainText(text)
        with utterance_done(qtbot, app.service, 120_000):
            w.speak()
    finally:
        app.service.chunk_played.disconnect(on_chunk)
    return chunks


def test_a_blend_saved_in_the_mixer_speaks_from_the_voice_picker(qtbot, make_app, engine, monkeypatch):
    asked: list[str | None] = []
    stream = engine.stream

    def recording_stream(text, voice=None, *args, **kwargs):
        asked.append(voice)
        return stream(text, voice, *args, **kwargs)

    monkeypatch.setattr(engine, "stream", recording_stream)
    app, w = ready_app(qtbot, make_app, engine)
    mixer = w.voice_dialogs.open_mixer()
    for row, (voice, weight) in zip(mixer.rows, [("jm_kumo", 70), ("jf_alpha", 30)], strict=False):
        row.box.setCurrentIndex(row.box.findData(voice))
        row.slider.setValue(weight)
    mixer.name_edit.setText("kumo-alpha")
    assert mixer.save()
    qtbot.waitUntil(lambda: w.voice_box.findData("kumo-alpha") >= 0, timeout=10_000)
    assert w.voice_box.itemText(w.voice_box.findData("kumo-alpha")) == "kumo-alpha (Japanese)"
    w.voice_box.setCurrentIndex(w.voice_box.findData("kumo-alpha"))

    chunks = speak(qtbot, app, TEXT)
    # the worker asked the engine for the blend by its name (the reading's segments call stream again)
    assert asked and set(asked) == {"kumo-alpha"}
    expected = 0.7 * engine.voice_pack("jm_kumo") + 0.3 * engine.voice_pack("jf_alpha")
    assert torch.allclose(engine.voice_pack("kumo-alpha"), expected, atol=1e-6)
    audio = np.concatenate([c.audio for c in chunks])
    pitch = pitch_track(audio, SAMPLE_RATE)
    assert len(audio) > 0.8 * SAMPLE_RATE and (pitch > 0).mean() > 0.2  # speech, voiced
    assert all(not c.failed for c in chunks)


def test_an_entry_added_in_the_dialog_changes_the_next_utterances_phonemes(
    qtbot, make_app, engine_lexicon_restored
):
    engine = engine_lexicon_restored
    app, w = ready_app(qtbot, make_app, engine)
    before = " ".join(c.chunk.phonemes for c in speak(qtbot, app, TEXT))
    assert "toːkʲoː" in before and "oːsaka" not in before

    lexicon = w.voice_dialogs.open_lexicon()
    entry = lexicon.add_entry()
    entry.text_edit.setText("東京")
    entry.replacement_edit.setText("大阪")
    entry.language_boxes["j"].setChecked(True)
    entry.ok_button.click()
    assert lexicon.table.rowCount() == 1

    after = " ".join(c.chunk.phonemes for c in speak(qtbot, app, TEXT))
    assert "oːsaka" in after and "toːkʲoː" not in after, after

    lexicon.table.selectRow(0)
    lexicon.try_edit.setText(TEXT)
    lexicon.phonemes_button.click()
    qtbot.waitUntil(lambda: lexicon.phonemes_view.text() != "", timeout=10_000)
    assert lexicon.phonemes_view.text() == after  # what Show phonemes says is what was spoken
    assert lexicon.message.text() == "Read as Japanese."


def test_the_window_opens_on_af_heart_with_every_voice_under_its_language(qtbot, make_app, engine):
    app, w = ready_app(qtbot, make_app, engine)
    assert w.voice() == "af_heart" and w.voice_box.currentText().startswith("af_heart (American English")
    box = w.voice_box
    headings = [box.itemText(i) for i in range(box.count()) if box.itemData(i) is None]
    assert headings[0] == "American English" and len(headings) == 9
    voices = [box.itemData(i) for i in range(box.count()) if box.itemData(i)]
    assert len(voices) == 54
    assert box.itemText(box.findData("bf_emma")) == "bf_emma (British English, female, grade B-)"
    chunks = speak(qtbot, app, "Hello there.")
    assert chunks and chunks[0].chunk.phonemes.startswith("həlˈO")  # English, read by the English front end
