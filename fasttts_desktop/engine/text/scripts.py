"""Is the text written in a script the text front end can read? One warning line when it mostly is not.

Measured with the English front end (misaki, then espeak for words it does not know): Latin text is read;
espeak also reads Hangul, Devanagari, Georgian, Tamil and Armenian passably, since it switches language
for them. Everything else it spells out or names: kana and kanji become "Japanese letter" / "Chinese letter"
per character, Greek "kappa alpha lambda…", Thai and Ethiopic their code points, and some scripts (Cherokee)
nothing at all.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

# Per front-end language code (kokoro's): the scripts it reads (first word of the Unicode letter names).
_ESPEAK_READS = frozenset({"HANGUL", "DEVANAGARI", "GEORGIAN", "TAMIL", "ARMENIAN"})
READABLE_SCRIPTS: dict[str, frozenset[str]] = {
    "a": frozenset({"LATIN"}) | _ESPEAK_READS,
    "b": frozenset({"LATIN"}) | _ESPEAK_READS,
}
FRONT_END_NAMES = {"a": "English", "b": "English"}
# Voices of other languages are read by the English front end until theirs exists (Engine.frontend).
FALLBACK_CODE = "a"

_SAMPLE_CHARS = 200_000  # the start of a book says what it is written in; naming a megabyte costs ~0.5 s
_MOSTLY = 0.5


def letter_script(ch: str) -> str:
    """The script of a letter, as the first word of its Unicode name ("LATIN", "CJK", "HIRAGANA"…)."""
    if ch < "\x80":
        return "LATIN"
    words = unicodedata.name(ch, "UNKNOWN").split()
    if (
        words[0] in ("FULLWIDTH", "HALFWIDTH", "SMALL", "MODIFIER", "PARENTHESIZED", "CIRCLED")
        and len(words) > 1
    ):
        words = words[1:]
    if words[0] == "MATHEMATICAL":  # bold, italic, script… forms of Latin and Greek letters
        return "GREEK" if "GREEK" in words else "LATIN"
    return words[0]


def script_warning(text: str, lang_code: str) -> str | None:
    """A line for the user when most letters of `text` are in scripts the front end for `lang_code`
    cannot read (None otherwise, and for text with no letters)."""
    code = lang_code if lang_code in READABLE_SCRIPTS else FALLBACK_CODE
    readable = READABLE_SCRIPTS[code]
    counts: Counter[str] = Counter()
    letters = 0
    for ch in text[:_SAMPLE_CHARS]:
        if ch.isalpha():
            letters += 1
            script = letter_script(ch)
            if script not in readable:
                counts[script] += 1
    unreadable = sum(counts.values())
    if not letters or unreadable <= _MOSTLY * letters:
        return None
    main = counts.most_common(1)[0][0]
    if counts["HIRAGANA"] + counts["KATAKANA"]:
        what, how = "Japanese", 'each character will be spoken as "Japanese letter"'
    elif main == "CJK":
        what, how = "Chinese characters", 'each character will be spoken as "Chinese letter"'
    else:
        what, how = f"in {main.title()} script", "its letters will be spelled out or skipped"
    return (
        f"Most of this text is {what}, which the {FRONT_END_NAMES[code]} text front end cannot read: {how}."
    )
