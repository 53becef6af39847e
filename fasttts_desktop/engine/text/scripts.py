"""Which writing systems each language's front end can read, and what to do with the rest.

A front end fed a script it cannot read does something useless: espeak-ng, English's fallback, spells
Japanese out as "Chinese letter, Chinese letter", pyopenjtalk reads Cyrillic as nothing at all. So the
engine checks each paragraph and says so once (`script_warning`), and the front end leaves such letters
silent (`blank_unreadable`) rather than spelling them out.

One exception keeps the app useful with the voices it ships: sentences written only in Latin letters are
read with the English front end when the chosen language does not use the Latin alphabet (Japanese,
Mandarin, Hindi): the offline voices are Japanese, and reading English with them is this app's default.
(Latin words inside Japanese or Chinese sentences stay with those front ends, which read them.)
"""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = [
    "LATIN_FALLBACK",
    "blank_unreadable",
    "latin_only",
    "script_of",
    "script_warning",
    "script_warnings",
]

# The front end Latin-only text is read with when the chosen language's own cannot read Latin letters.
LATIN_FALLBACK = "a"

# Scripts each front end reads. Greek is in the espeak-based ones because espeak-ng names Greek letters
# (α -> "alpha"), which is what a reader wants in running text; Latin words inside Japanese or Chinese text
# are read by those front ends (pyopenjtalk's loanword readings; espeak English for Chinese).
READABLE = {
    "a": {"Latin", "Greek"},
    "b": {"Latin", "Greek"},
    "e": {"Latin", "Greek"},
    "f": {"Latin", "Greek"},
    "i": {"Latin", "Greek"},
    "p": {"Latin", "Greek"},
    "h": {"Devanagari", "Latin", "Greek"},
    "j": {"Kana", "Han", "Latin"},
    "z": {"Han", "Latin"},
}
_NAMES = {
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
# What to suggest for text in a script: the language codes whose front end reads it.
_SUGGEST = {"Kana": "j", "Han": "j or z", "Devanagari": "h"}
_SCRIPT_LABEL = {"Kana": "Japanese kana", "Han": "Chinese characters (kanji)"}
_PARAGRAPH = re.compile(r"[^\r\n\f\v\x1c-\x1e\x85\u2028\u2029]+")


@functools.lru_cache(maxsize=4096)
def script_of(char: str) -> str | None:
    """The script of a letter ("Latin", "Kana", "Han", "Cyrillic", ...); None for anything not a letter."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    if not name:
        return "Unknown"
    if name.startswith("MODIFIER LETTER"):  # stress and length marks (ˈ ː ʰ): IPA written in the text
        return None
    if "LATIN" in name.split(" ", 2)[:2]:  # "LATIN SMALL ..." and "FULLWIDTH LATIN ..."
        return "Latin"
    if name.startswith(("HIRAGANA", "KATAKANA", "HALFWIDTH KATAKANA")):
        return "Kana"
    if name.startswith(("CJK", "IDEOGRAPHIC")):
        return "Han"
    return name.split(" ", 1)[0].split("-", 1)[0].title()


def _unreadable(text: str, lang_code: str) -> dict[str, int]:
    readable = READABLE.get(lang_code, READABLE[LATIN_FALLBACK])
    counts: dict[str, int] = {}
    for c in text:
        s = script_of(c)
        if s is not None and s not in readable:
            counts[s] = counts.get(s, 0) + 1
    return counts


def latin_only(text: str) -> bool:
    """Whether `text` has letters and every one of them is Latin."""
    scripts = {script_of(c) for c in text} - {None}
    return scripts == {"Latin"}


def reads_latin(lang_code: str) -> bool:
    """Whether the language's own front end is the right reader for Latin-only text."""
    return lang_code in ("a", "b", "e", "f", "i", "p")


def script_warning(text: str, lang_code: str) -> str | None:
    """One line for the user when `text` (a paragraph) has letters the `lang_code` front end cannot read
    (they are left silent), else None."""
    if not reads_latin(lang_code) and latin_only(text):
        return None  # read with the English front end, see the module's docstring
    counts = _unreadable(text, lang_code)
    if not counts:
        return None
    scripts = sorted(counts, key=counts.get, reverse=True)
    what = ", ".join(_SCRIPT_LABEL.get(s, f"{s} script") for s in scripts)
    n = sum(counts.values())
    # kana make text Japanese even where kanji outnumber them
    hints = ["j"] if "Kana" in counts else [_SUGGEST[s] for s in scripts if s in _SUGGEST]
    hint = f"; choose a voice or language that reads it (language {hints[0]})" if hints else ""
    lang = _NAMES.get(lang_code, lang_code)
    return f"{n} letter{'s' * (n != 1)} in {what} that the {lang} front end cannot read will be silent{hint}."


def script_warnings(text: str, lang_code: str) -> list[tuple[int, int, str]]:
    """(start, end, message) for each paragraph (line) of `text` that `script_warning` has a word about."""
    out = []
    for m in _PARAGRAPH.finditer(text):
        message = script_warning(m.group(), lang_code)
        if message:
            out.append((m.start(), m.end(), message))
    return out


def blank_unreadable(text: str, lang_code: str) -> str:
    """`text` with the letters the front end cannot read (and their combining marks) turned into spaces;
    same length, so offsets into the input still hold."""
    readable = READABLE.get(lang_code, READABLE[LATIN_FALLBACK])
    out = list(text)
    blanking = False
    for i, c in enumerate(text):
        s = script_of(c)
        if s is not None:
            blanking = s not in readable
        elif not (blanking and unicodedata.category(c).startswith("M")):
            blanking = False
        if blanking:
            out[i] = " "
    return "".join(out)
