"""How many chunks a text will make, guessed without G2P: for a "chunk i of n" display (see chunking.py)."""

from __future__ import annotations

import re

from fasttts_desktop.engine.text.chunking import (
    CLAUSE,
    CLAUSE_END,
    LINE_BREAK,
    PARAGRAPH,
    SENTENCE,
    SENTENCE_END,
    WORD,
    Packer,
    Tok,
    g2p_spans,
    trim,
)
from fasttts_desktop.engine.types import MAX_PHONEMES

# Characters of other scripts, and emoji: outside Latin, general punctuation and CJK punctuation.
_FOREIGN = re.compile(r"[^\x00-\u024f\u2000-\u206f\u3000-\u303f\s]")
_SPEAKABLE = re.compile(_FOREIGN.pattern + r"|[^\W_]")
_DIGIT = re.compile(r"\d")
_SENTENCE_TAIL = re.compile(r"[.!?…。！？‼⁇⁈⁉][\"'”’»)\]]*$")


# Phonemes per character of other scripts where that script is the language's own (kana ~2, kanji ~3,
# Devanagari ~1); elsewhere espeak names each one ("Chinese letter": ~12).
NATIVE_PHONEMES_PER_CHAR = {"j": 2.5, "z": 3.0, "h": 1.0}


def guess_toks(text: str, start: int, end: int, ends_paragraph: bool, per_foreign: float = 12) -> list[Tok]:
    """Stand-ins for text[start:end], one per clause, with about as many phonemes as misaki would give.

    About one phoneme per character (measured on the Harvard sentences: 0.93 per letter plus stress marks
    and spaces); digits become number words (~6 each); espeak names characters of other scripts and emoji
    ("Chinese letter", "grinning face", ~12 each). Boundaries are marked, ready for the Packer.
    """
    cuts = [m.end() for m in CLAUSE_END.finditer(text, start, end)]
    toks: list[Tok] = []
    for a, b in zip([start, *cuts], [*cuts, end], strict=True):
        a, b = trim(text, a, b)
        if a == b:
            continue
        piece = text[a:b]
        n = (
            len(piece)
            + 5 * len(_DIGIT.findall(piece))
            + round((per_foreign - 1) * len(_FOREIGN.findall(piece)))
        )
        symbol = "x" if _SPEAKABLE.search(piece) else "."
        toks.append(Tok(a, b, piece, symbol * n, space=True, brk=CLAUSE))
    if toks:
        last = toks[-1]
        last.space = end < len(text) and text[end].isspace()
        last.brk = PARAGRAPH if ends_paragraph else SENTENCE if _SENTENCE_TAIL.search(last.text) else WORD
    return toks


# Past this many characters the estimate stops packing and counts paragraph by paragraph: by then every
# budget has reached max_phonemes and a paragraph of n phonemes makes about n / (0.9 max) chunks.
ESTIMATE_EXACT_CHARS = 20_000


def estimate_chunk_count(
    text: str,
    *,
    first_max: int | None = 60,
    max_phonemes: int = MAX_PHONEMES,
    pack: bool = True,
    lang_code: str = "a",
) -> int:
    """How many chunks `FrontEnd.chunks` will most likely make of `text`, from guessed phoneme counts.

    No G2P: a few milliseconds for a page and about 0.1 s for a megabyte, for a "chunk i of n" display.
    The real count can differ by a chunk or two, more on text full of numbers, symbols or other scripts.
    `lang_code`: the front end's language, whose own script costs fewer phonemes than espeak's names.
    """
    head = len(text)
    if head > 2 * ESTIMATE_EXACT_CHARS:
        # switch over at a paragraph end, else a sentence end (one chunk miscounted at most)
        m = LINE_BREAK.search(text, ESTIMATE_EXACT_CHARS, 2 * ESTIMATE_EXACT_CHARS)
        m = m or SENTENCE_END.search(text, ESTIMATE_EXACT_CHARS, 2 * ESTIMATE_EXACT_CHARS)
        head = m.end() if m else ESTIMATE_EXACT_CHARS
    packer = Packer(text[:head], first_max=first_max, max_phonemes=max_phonemes, pack=pack)
    count = 0
    per_foreign = NATIVE_PHONEMES_PER_CHAR.get(lang_code, 12)
    for start, end, ends_paragraph in g2p_spans(text[:head]):
        count += len(packer.feed(guess_toks(text, start, end, ends_paragraph, per_foreign)))
    count += len(packer.finish())
    for line in LINE_BREAK.split(text[head:]):
        if not _SPEAKABLE.search(line):
            continue
        if pack:
            phonemes = round(len(line) * NATIVE_PHONEMES_PER_CHAR.get(lang_code, 1.0))
            count += -(-phonemes * 10 // (9 * max_phonemes))
        else:
            unfinished = 0 if _SENTENCE_TAIL.search(line.rstrip()) else 1
            count += max(1, len(SENTENCE_END.findall(line)) + unfinished)
    return count
