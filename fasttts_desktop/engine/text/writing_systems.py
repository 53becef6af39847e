"""Is the text written in a script the text front end can read? One warning line when it mostly is not,
and the letters it cannot read are left silent rather than spelled out.

Measured with the English front end (misaki, then espeak for words it does not know): Latin text is read;
espeak also reads Hangul, Devanagari, Georgian, Tamil and Armenian passably, since it switches language
for them (so do the espeak-based Spanish, French, Hindi, Italian and Portuguese front ends). Everything else
it spells out or names: kana and kanji become "Japanese letter" / "Chinese letter" per character, Greek
"kappa alpha lambda…", Thai and Ethiopic their code points, and some scripts (Cherokee) nothing at all. The
Japanese front end (pyopenjtalk) reads kana, kanji and Latin words; the Mandarin one hanzi, and Latin words
through espeak's English.

Within a sentence, each stretch of letters is read by the front end of its own script (`reader_runs`):
Latin words in a Japanese, Mandarin or Hindi sentence by the English one (never spelled out letter by
letter, acronyms aside), kana and kanji in any other sentence by the Japanese one (kanji with no kana by
the Mandarin one), Devanagari by the Hindi one. Other scripts stay with the chosen language's front end,
which reads them or leaves them silent and reported, as above.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

__all__ = [
    "FALLBACK_CODE",
    "LATIN_FALLBACK",
    "READABLE_SCRIPTS",
    "blank_unreadable",
    "latin_only",
    "letter_script",
    "reader_runs",
    "reads_latin",
    "script_of",
    "script_warning",
    "script_warnings",
]

# Per front-end language code (kokoro's): the scripts it reads (first word of the Unicode letter names).
_ESPEAK_READS = frozenset({"HANGUL", "DEVANAGARI", "GEORGIAN", "TAMIL", "ARMENIAN"})
_ESPEAK = frozenset({"LATIN"}) | _ESPEAK_READS
HAN = frozenset({"CJK", "IDEOGRAPHIC"})  # 々 is "IDEOGRAPHIC ITERATION MARK"
KANA = frozenset({"HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA"})  # ー is "KATAKANA-HIRAGANA PROLONGED…"
READABLE_SCRIPTS: dict[str, frozenset[str]] = {
    "a": _ESPEAK,
    "b": _ESPEAK,
    "e": _ESPEAK,
    "f": _ESPEAK,
    "h": _ESPEAK,
    "i": _ESPEAK,
    "p": _ESPEAK,
    "j": frozenset({"LATIN"}) | KANA | HAN,
    "z": frozenset({"LATIN"}) | HAN,
}
FRONT_END_NAMES = {
    "a": "English",
    "b": "English",
    "e": "Spanish",
    "f": "French",
    "h": "Hindi",
    "i": "Italian",
    "j": "Japanese",
    "p": "Portuguese",
    "z": "Mandarin",
}
# An unknown code is read as American English, as voices outside kokoro's naming are.
FALLBACK_CODE = "a"
# The front end Latin-only text is read with when the chosen language's own does not use Latin letters.
LATIN_FALLBACK = "a"
# The scripts each language's own front end is the right reader for; letters of these scripts in another
# language's sentence go to the front end named in _READER (Han: Japanese when the sentence has kana).
_NATIVE: dict[str, frozenset[str]] = {
    **dict.fromkeys("abefip", frozenset({"LATIN"})),
    "h": frozenset({"DEVANAGARI"}),
    "j": KANA | HAN,
    "z": HAN,
}
_READER = {"LATIN": "a", "DEVANAGARI": "h", **dict.fromkeys(KANA, "j")}
ROUTED = frozenset(_READER) | HAN
# Single letters of these alphabets are named usefully by espeak (α -> "alpha"); words are not.
_NAMED_SINGLY = frozenset({"GREEK"})

_SAMPLE_CHARS = 200_000  # the start of a book says what it is written in; naming a megabyte costs ~0.5 s
_MOSTLY = 0.5
_PARAGRAPH = re.compile(r"[^\r\n\f\v\x1c-\x1e\x85\u2028\u2029]+")


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


def script_of(ch: str) -> str | None:
    """The script of a letter that belongs to one; None for non-letters and for modifier letters, the
    stress and length marks (ˈ ː ʰ) of IPA written in the text."""
    if not ch.isalpha():
        return None
    script = letter_script(ch)
    return None if script == "LETTER" else script


def reads_latin(lang_code: str) -> bool:
    """Whether the language's own front end is the right reader for Latin-only text."""
    return lang_code not in ("h", "j", "z")


def latin_only(text: str) -> bool:
    """Whether `text` has letters and every one of them is Latin."""
    scripts = {script_of(c) for c in text[:_SAMPLE_CHARS]} - {None}
    return scripts == {"LATIN"}


def script_warning(text: str, lang_code: str) -> str | None:
    """A line for the user when most letters of `text` are in scripts the front end for `lang_code`
    cannot read (None otherwise, and for text with no letters)."""
    code = lang_code if lang_code in READABLE_SCRIPTS else FALLBACK_CODE
    readable = READABLE_SCRIPTS[code] | ROUTED  # what reader_runs sends to another front end is read too
    counts: Counter[str] = Counter()
    letters = 0
    for ch in text[:_SAMPLE_CHARS]:
        script = script_of(ch)
        if script is not None:
            letters += 1
            if script not in readable:
                counts[script] += 1
    unreadable = sum(counts.values())
    if not letters or unreadable <= _MOSTLY * letters:
        return None
    main = counts.most_common(1)[0][0]  # never kana or Han: reader_runs sends those to their front ends
    return (
        f"Most of this text is in {main.title()} script, which the {FRONT_END_NAMES[code]} text front end "
        "cannot read: it will be skipped."
    )


def script_warnings(text: str, lang_code: str) -> list[tuple[int, int, str]]:
    """(start, end, message) for each paragraph (line) of `text` that `script_warning` has a word about."""
    out = []
    for m in _PARAGRAPH.finditer(text):
        message = script_warning(m.group(), lang_code)
        if message:
            out.append((m.start(), m.end(), message))
    return out


def blank_unreadable(text: str, lang_code: str) -> str:
    """`text` with the words in scripts the front end cannot read (and their combining marks) turned into
    spaces; same length, so offsets into the input still hold. A lone Greek letter is left to be named."""
    readable = READABLE_SCRIPTS.get(lang_code, READABLE_SCRIPTS[FALLBACK_CODE])
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        script = script_of(text[i])
        if script is None or script in readable:
            i += 1
            continue
        j = i + 1  # the run of this script's letters and the marks on them
        while j < n and (script_of(text[j]) == script or unicodedata.category(text[j]).startswith("M")):
            j += 1
        if not (script in _NAMED_SINGLY and j - i == 1):
            out[i:j] = " " * (j - i)
        i = j
    return "".join(out)


def reader_runs(text: str, lang_code: str) -> list[tuple[int, int, str]]:
    """(start, end, front-end code) covering `text` in order: which front end reads each stretch of it.

    A letter of a script the language's own front end is not the reader for (see _NATIVE) goes to that
    script's reader; everything else, the language's own. Characters between two letters with the same
    reader go with them ("Hello, world" stays one English stretch), as do those at the text's edges; between
    different readers, and wherever they are not ASCII, they go with the language's own (a 、 or 。 stays
    Japanese).
    """
    own = lang_code if lang_code in READABLE_SCRIPTS else FALLBACK_CODE
    native = _NATIVE.get(own, frozenset())
    sample = text[:_SAMPLE_CHARS]
    has_kana = any(script_of(c) in KANA for c in sample)
    labels: list[str | None] = [None] * len(text)
    last: str | None = None
    for i, ch in enumerate(text):
        script = script_of(ch)
        if script is None:
            if last is not None and unicodedata.category(ch).startswith("M"):
                labels[i] = last  # a mark goes with its letter
            continue
        if script in native:
            last = own
        elif script in HAN:
            last = "j" if has_kana or own == "j" else "z"
        else:
            last = _READER.get(script, own)
        labels[i] = last
    # the characters between letters: with them when both sides agree, else the language's own
    prev: str | None = None
    i = 0
    while i < len(text):
        if labels[i] is not None:
            prev = labels[i]
            i += 1
            continue
        j = i
        while j < len(text) and labels[j] is None:
            j += 1
        after = labels[j] if j < len(text) else None
        if prev is None or after is None:  # the text's edges go with the one stretch beside them
            fill = after if prev is None and after is not None else (prev or own)
        else:
            fill = prev if prev == after else own
        if fill != own and not text[i:j].isascii():  # a 、 or 。 is the own front end's to read
            fill = own
        labels[i:j] = [fill] * (j - i)
        i = j
    runs: list[tuple[int, int, str]] = []
    for i, label in enumerate(labels):
        code = label or own
        if runs and runs[-1][2] == code:
            runs[-1] = (runs[-1][0], i + 1, code)
        else:
            runs.append((i, i + 1, code))
    return runs
