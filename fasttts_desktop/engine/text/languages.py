"""Kokoro's languages and which G2P reads each: the registry the front end and the engine ask.

Every G2P is a callable `text -> list of misaki MTokens` (each token's text found in order in the text,
with its phonemes and the whitespace after it), plus `spaced` (whether the script puts spaces between
words) and `search_text(text)` (a same-length text to find the tokens in). One per language, built on
first use (English takes a few seconds: spaCy) and shared; each serialises its own calls.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

from fasttts_desktop.engine.types import EngineError

if TYPE_CHECKING:  # frontend.py imports this module
    from fasttts_desktop.engine.text.frontend import FrontEnd

__all__ = ["G2P", "LANGUAGES", "front_end_for", "g2p_for", "lang_of_voice", "resolve_lang"]

# kokoro's one-letter codes (kokoro.pipeline.LANG_CODES), as people name them
LANGUAGES = {
    "a": "American English",
    "b": "British English",
    "e": "Spanish",
    "f": "French",
    "h": "Hindi",
    "i": "Italian",
    "j": "Japanese",
    "p": "Brazilian Portuguese",
    "z": "Mandarin",
}
# Names people type for --lang, beside the codes (kokoro's own aliases and the obvious ones).
_ALIASES = {
    "en-us": "a", "en": "a", "english": "a", "en-gb": "b", "british": "b", "es": "e", "spanish": "e",
    "fr": "f", "fr-fr": "f", "french": "f", "hi": "h", "hindi": "h", "it": "i", "italian": "i",
    "ja": "j", "japanese": "j", "pt": "p", "pt-br": "p", "portuguese": "p", "zh": "z", "cmn": "z",
    "mandarin": "z", "chinese": "z",
}  # fmt: skip


class G2P(Protocol):
    lang_code: str
    spaced: bool

    def __call__(self, text: str) -> list: ...

    def search_text(self, text: str) -> str: ...


_g2ps: dict[str, G2P] = {}
_front_ends: dict[str, FrontEnd] = {}
_lock = threading.Lock()


def resolve_lang(lang: str) -> str:
    """A language code from a code or a name ("j", "ja", "Japanese"); EngineError for anything else."""
    key = lang.strip().lower()
    code = key if key in LANGUAGES else _ALIASES.get(key)
    if code is None:
        known = ", ".join(f"{c} ({n})" for c, n in LANGUAGES.items())
        raise EngineError(f"Unknown language {lang!r}: use one of {known}.")
    return code


def lang_of_voice(name: str) -> str:
    """The language a voice speaks by kokoro's naming (jf_alpha -> j), a blend spec or saved blend by its
    first voice's; American English otherwise. Needs no weights (the window and CLI ask before loading)."""
    from fasttts_desktop.engine.storage.blends import is_blend_spec, parse_blend, saved_blends

    if is_blend_spec(name):
        try:
            name = parse_blend(name).voices[0]
        except EngineError:
            return "a"
    elif name[2:3] != "_":
        try:
            blend = saved_blends().get(name)
        except EngineError:
            blend = None
        name = blend.voices[0] if blend else name
    if name[2:3] == "_" and name[:1] in LANGUAGES:
        return name[:1]
    return "a"


def _build(lang_code: str) -> G2P:
    if lang_code in ("a", "b"):
        from fasttts_desktop.engine.text.g2p_english import EnglishG2P

        return EnglishG2P(lang_code)
    if lang_code == "j":
        from fasttts_desktop.engine.text.g2p_japanese import JapaneseG2P

        return JapaneseG2P()
    if lang_code == "z":
        from fasttts_desktop.engine.text.g2p_chinese import ChineseG2P

        return ChineseG2P()
    from fasttts_desktop.engine.text.g2p_espeak import EspeakG2P

    return EspeakG2P(lang_code)


def g2p_for(lang_code: str) -> G2P:
    """The shared G2P for a language code (built on first use)."""
    if lang_code not in LANGUAGES:
        raise EngineError(
            f"No text front end for language code {lang_code!r}: use one of {', '.join(LANGUAGES)}."
        )
    with _lock:
        if lang_code not in _g2ps:
            _g2ps[lang_code] = _build(lang_code)
        return _g2ps[lang_code]


def front_end_for(lang_code: str) -> FrontEnd:
    """The shared FrontEnd (text -> phonemized chunks) for a language code."""
    from fasttts_desktop.engine.text.frontend import FrontEnd

    with _lock:
        front = _front_ends.get(lang_code)
    if front is None:
        front = FrontEnd(lang_code)  # outside the lock: it asks g2p_for, which takes it
        with _lock:
            front = _front_ends.setdefault(lang_code, front)
    return front
