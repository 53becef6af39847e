"""What G2P gets to see of a piece of input, and what of the input was not spoken.

The front end never hands G2P the user's characters as they are:
- control characters, surrogates, private-use characters and U+FFFD are blanked to spaces (espeak is a C
  library: a NUL ends its string and drops the word after it; spaCy refuses lone surrogates outright), and
  reported as not spoken;
- invisible formatting characters (soft hyphen, zero-width space and joiners, bidi marks, BOM, variation
  selectors) are dropped, so "hel<soft hyphen>lo" reads as "hello" rather than as two words;
- the rest is normalised to NFC, so decomposed text (macOS file names, some PDFs) sounds like composed text.

Offsets stay those of the caller's text: `Prepared.offsets` maps each character G2P saw back to the input
(the window highlights words in its own, un-normalised text).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# C0/C1 controls that are not whitespace (tabs and line breaks are handled as spaces elsewhere),
# surrogates, private use, specials (U+FFFD included) and the noncharacters U+FFFE/U+FFFF.
_BLANK = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ud800-\udfff\ue000-\uf8ff\ufff0-\uffff\U000f0000-\U0010ffff]"
)
# Default-ignorable characters that only shape rendering: they say nothing and must not split words.
_DROP = re.compile(
    "[\u00ad\u034f\u061c\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
    "\ufe00-\ufe0f\ufeff\U000e0000-\U000e0fff]"
)


@dataclass(frozen=True)
class Prepared:
    text: str  # what G2P sees
    # offsets[j]: where text[j] came from in the input segment; one more entry, len(segment), closes it.
    # None when text is the segment itself.
    offsets: list[int] | None
    blanked: tuple[int, ...]  # input offsets of characters that cannot be spoken and were blanked

    def source(self, j: int) -> int:
        """The input offset of prepared offset `j` (0 <= j <= len(text))."""
        return j if self.offsets is None else self.offsets[j]


def prepare(segment: str) -> Prepared:
    """`segment` made safe and canonical for G2P, with the way back to its offsets."""
    special = _BLANK.search(segment) or _DROP.search(segment)
    if not special and (segment.isascii() or unicodedata.is_normalized("NFC", segment)):
        return Prepared(segment, None, ())
    out: list[str] = []
    offsets: list[int] = []
    blanked: list[int] = []
    run: list[str] = []  # characters that may compose with each other, and where they came from
    run_at: list[int] = []

    def flush() -> None:
        if not run:
            return
        raw = "".join(run)
        nfc = unicodedata.normalize("NFC", raw)
        if nfc == raw:
            offsets.extend(run_at)
        else:  # composed (or, rarely, expanded): each output character points into the run it came from
            offsets.extend(run_at[min(k, len(run_at) - 1)] for k in range(len(nfc)))
        out.append(nfc)
        run.clear()
        run_at.clear()

    for i, ch in enumerate(segment):
        if _DROP.match(ch):
            continue
        if _BLANK.match(ch):
            flush()
            out.append(" ")
            offsets.append(i)
            blanked.append(i)
            continue
        if _starts_run(ch):
            flush()
        run.append(ch)
        run_at.append(i)
    flush()
    offsets.append(len(segment))
    return Prepared("".join(out), offsets, tuple(blanked))


def _starts_run(ch: str) -> bool:
    """Whether normalisation can never join `ch` to the character before it (so the text may be cut there).

    Conservative: a character that might combine just extends the run, which only blurs offsets inside it.
    """
    if ch < "\x80":
        return True
    cp = ord(ch)
    if 0x1160 <= cp <= 0x11FF or 0xD7B0 <= cp <= 0xD7FF:  # Hangul vowel and final jamo compose
        return False
    return unicodedata.combining(ch) == 0 and not unicodedata.category(ch).startswith("M")


def reportable(ch: str) -> bool:
    """A character whose silence the user should hear about: not space, punctuation or invisible format."""
    if ch.isspace() or _DROP.match(ch):
        return False
    return not unicodedata.category(ch).startswith("P")


def runs(offsets: list[int] | tuple[int, ...], text: str) -> tuple[tuple[int, str], ...]:
    """Sorted offsets into `text` as (first offset, characters) for each run of consecutive ones."""
    grouped: list[tuple[int, str]] = []
    run: tuple[int, int] | None = None  # (first, last) offset of the run being gathered
    for i in sorted(set(offsets)):
        if run is not None and i == run[1] + 1:
            run = (run[0], i)
            continue
        if run is not None:
            grouped.append((run[0], text[run[0] : run[1] + 1]))
        run = (i, i)
    if run is not None:
        grouped.append((run[0], text[run[0] : run[1] + 1]))
    return tuple(grouped)


def describe_unspoken(unspoken: list[tuple[int, str]] | tuple[tuple[int, str], ...], limit: int = 30) -> str:
    """One line for the user: "3 characters were not spoken: ★☆ U+0000 (at 12, 40)" ("" if none).

    Runs are separated by spaces; invisible and control characters are named by code point; past `limit`
    characters the list is cut; the first few offsets say where to look.
    """
    count = sum(len(chars) for _, chars in unspoken)
    if not count:
        return ""
    pieces: list[str] = []
    left = limit
    for _, chars in unspoken:
        if left <= 0:
            break
        pieces.append(_render(chars[:left]))
        left -= len(chars)
    more = " …" if count > limit else ""
    where = ", ".join(str(offset) for offset, _ in unspoken[:5]) + (", …" if len(unspoken) > 5 else "")
    noun = "character was" if count == 1 else "characters were"
    return f"{count} {noun} not spoken: {' '.join(pieces)}{more} (at {where})"


def _render(chars: str) -> str:
    parts: list[str] = []
    word = ""
    for ch in chars:
        if unicodedata.category(ch)[0] in "CZ":
            if word:
                parts.append(word)
                word = ""
            parts.append(f"U+{ord(ch):04X}")
        else:
            word += ch
    if word:
        parts.append(word)
    return " ".join(parts)
