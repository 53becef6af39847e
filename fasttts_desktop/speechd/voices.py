"""speech-dispatcher's voice settings in our terms: which voice and language, what speed, pitch and gain.

speech-dispatcher sends rate, pitch and volume as -100..100 (0 = the voice's default; volume's usual value
is 100) and asks for a voice either by one of our names (synthesis_voice, from LIST VOICES) or by a
language and a symbolic voice (male1, female2, child_female...).
"""

from __future__ import annotations

from dataclasses import dataclass

from fasttts_desktop.engine.types import MAX_SPEED, MIN_SPEED, Voice

# kokoro's language codes as BCP 47 tags, the form speech-dispatcher's clients match on
LANGUAGE_TAGS = {
    "a": "en-US", "b": "en-GB", "e": "es-ES", "f": "fr-FR", "h": "hi-IN", "i": "it-IT", "j": "ja-JP",
    "p": "pt-BR", "z": "zh-CN",
}  # fmt: skip
_BY_TAG = {tag.lower(): code for code, tag in LANGUAGE_TAGS.items()}
_BY_LANGUAGE = {"en": "a", "es": "e", "fr": "f", "hi": "h", "it": "i", "ja": "j", "pt": "p", "zh": "z"}
# Half an octave up or down at the ends of speech-dispatcher's pitch range: beyond that Kokoro's voices
# stop sounding like themselves.
PITCH_OCTAVES = 0.5


def language_tag(voice: Voice) -> str:
    return LANGUAGE_TAGS.get(voice.lang_code, "none")


def lang_code(language: str | None) -> str | None:
    """Our code for a speech-dispatcher language ("en", "en-GB", "en_us"...); None if we have none."""
    if not language or language == "NULL":
        return None
    key = language.strip().lower().replace("_", "-")
    return _BY_TAG.get(key) or _BY_LANGUAGE.get(key.split("-")[0])


def speed(rate: int) -> float:
    """-100..100 to our speed: 0 is 1.0, the ends are MIN_SPEED and MAX_SPEED, geometric in between."""
    rate = max(-100, min(100, rate))
    end = MAX_SPEED if rate >= 0 else MIN_SPEED
    return float(end ** (abs(rate) / 100))


def pitch_factor(pitch: int) -> float:
    """-100..100 to a frequency ratio: 0 is 1.0, the ends half an octave down or up."""
    return float(2 ** (PITCH_OCTAVES * max(-100, min(100, pitch)) / 100))


def gain(volume: int) -> float:
    """-100..100 to an amplitude factor: 100 (speech-dispatcher's default) is 1.0, -100 silence."""
    return (max(-100, min(100, volume)) + 100) / 200


@dataclass
class Choice:
    voice: str
    lang: str | None  # read the text in this language when the voice speaks another (None: the voice's)


def choose(voices: list[Voice], default: str, name: str | None, language: str | None, symbolic: str | None):
    """The voice for a message: the one named if we have it, else one for the language (of the symbolic
    voice's gender if we can), else the default voice reading the text in the asked language."""
    by_name = {v.name: v for v in voices}
    if name and name != "NULL" and name in by_name:
        return Choice(name, None)
    code = lang_code(language)
    if code is None:
        return Choice(default, None)
    speaking = [v for v in voices if v.lang_code == code]
    gender = None
    if symbolic and symbolic != "NULL":
        gender = "female" if "female" in symbolic.lower() else "male" if "male" in symbolic.lower() else None
    if speaking:
        same = [v for v in speaking if v.gender == gender] or speaking
        number = int(symbolic[-1]) - 1 if symbolic and symbolic[-1:].isdigit() else 0
        return Choice(same[number % len(same)].name, None)
    return Choice(default, code)
