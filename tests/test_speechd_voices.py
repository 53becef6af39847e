"""speech-dispatcher's voice settings in the engine's terms."""

from __future__ import annotations

import pytest

from fasttts_desktop.engine.types import MAX_SPEED, MIN_SPEED, Voice
from fasttts_desktop.speechd.voices import choose, gain, lang_code, pitch_factor, speed

VOICES = [
    Voice("af_heart", "American English", "female", "a"),
    Voice("am_adam", "American English", "male", "a"),
    Voice("am_eric", "American English", "male", "a"),
    Voice("jm_kumo", "Japanese", "male", "j"),
]


def test_rate_pitch_volume_ranges():
    assert speed(0) == 1.0
    assert speed(100) == pytest.approx(MAX_SPEED)
    assert speed(-100) == pytest.approx(MIN_SPEED)
    assert speed(500) == pytest.approx(MAX_SPEED)  # out of range is clamped, not an error
    assert speed(-50) < speed(-10) < 1 < speed(10) < speed(50)
    assert pitch_factor(0) == 1.0
    assert pitch_factor(100) == pytest.approx(2**0.5)
    assert pitch_factor(-100) == pytest.approx(2**-0.5)
    assert (gain(100), gain(0), gain(-100)) == (1.0, 0.5, 0.0)


@pytest.mark.parametrize(
    ("language", "code"),
    [("en", "a"), ("en-US", "a"), ("en-GB", "b"), ("en_gb", "b"), ("ja", "j"), ("pt-PT", "p"), ("de", None),
     ("NULL", None), (None, None)],
)  # fmt: skip
def test_languages(language, code):
    assert lang_code(language) == code


def test_choosing_a_voice():
    assert choose(VOICES, "jm_kumo", "am_eric", "ja", "female1").voice == "am_eric"  # named wins
    assert choose(VOICES, "jm_kumo", None, "en", "male1").voice == "am_adam"
    assert choose(VOICES, "jm_kumo", None, "en", "male2").voice == "am_eric"
    assert choose(VOICES, "jm_kumo", "NULL", "en-US", "female1").voice == "af_heart"
    assert choose(VOICES, "jm_kumo", None, "ja", "female1").voice == "jm_kumo"  # the only Japanese one
    # no voice of that language: the default voice reads the text in it
    british = choose(VOICES, "jm_kumo", None, "en-GB", "male1")
    assert (british.voice, british.lang) == ("jm_kumo", "b")
    assert choose(VOICES, "jm_kumo", None, "de", None).voice == "jm_kumo"
