"""Where to cut text into model calls: G2P spans, boundary strengths and the chunk packer.

Nothing here runs G2P. The front end feeds the packer phonemized tokens one G2P span at a time; the
chunk-count estimate feeds it guessed phoneme lengths. Both therefore cut the same way.

Cutting rules, strongest boundary first: paragraph (always ends a chunk; see `g2p_spans`), sentence, clause
(, ; : dashes, closing brackets), word, and, for a single "word" longer than a chunk, anywhere.

Chunk texts tile the input: chunk k runs from where chunk k-1 stopped to the first token of chunk k+1
(or the end of the input), with whitespace trimmed at both ends. Text with nothing to say (symbols,
stray punctuation, a "* * *" line) therefore rides along with the chunk before it, or with the first chunk
when it comes before any speech; only an input with nothing speakable at all yields no chunk.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

NONE, WORD, CLAUSE, SENTENCE, PARAGRAPH = range(5)

# Phoneme symbols that shape prosody but say nothing: a chunk made only of these is not worth a model call.
SILENT_PHONEMES = frozenset(' !"(),.:;?—“”…→↓↗↘«»')

_SENTENCE_CHARS = frozenset(".!?…。！？‼⁇⁈⁉")
_CLAUSE_CHARS = frozenset(",;:—–‒―、，；：)]}")
_OPENERS = frozenset("“‘«([{¿¡「『（《【")
_CLOSERS = frozenset("”’»)]}」』）》】")
_STRAIGHT_QUOTES = frozenset("\"'")

# G2P cost grows with length (about 0.1 ms a character on one core, plus ~5 ms a call), so a sentence
# longer than this is phonemized in pieces, cut at a clause or word where possible: the first chunk of a
# 2,000-word run-on sentence should not wait for all of it.
G2P_MAX_CHARS = 400

LINE_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
# Japanese and Chinese put no space after their punctuation (。、！？), so those ends need none.
SENTENCE_END = re.compile(r"[.!?…‼⁇⁈⁉]+[\"'”’»)\]]*\s+|[。！？]+[\"'”’»)\]」』）]*\s*")
CLAUSE_END = re.compile(r"[,;:)\]—–]+[\"'”’»]*\s+|[、，；：]+[」』）]*\s*")
_SPACE = re.compile(r"\s+")
# A period after these usually does not end a sentence; splitting there would only cost misaki context.
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "vs", "etc", "e.g", "i.e", "no", "mt", "fig", "vol"}
    | {"ch", "pp", "inc", "ltd", "co", "gen", "col", "capt", "lt", "sgt", "rev"}
)


@dataclass(eq=False)
class Tok:
    """One phonemized token placed in the input."""

    start: int  # the token's text is input[start:end] (or misaki's rewrite of it, see `text`)
    end: int
    text: str  # misaki's token text: what boundary strength is judged on
    phonemes: str  # kokoro-vocab symbols only, never empty
    space: bool  # a space phoneme follows it inside a chunk
    source: Any = None  # the front end's own record (a misaki MToken; misaki has no type information)
    brk: int = NONE  # strength of the boundary right after this token

    @property
    def speakable(self) -> bool:
        return any(c not in SILENT_PHONEMES for c in self.phonemes)


@dataclass
class Cut:
    """A finished chunk: its tiled text span and its tokens."""

    start: int
    end: int
    toks: list[Tok]

    @property
    def phonemes(self) -> str:
        return phoneme_string(self.toks)


def phoneme_string(toks: list[Tok]) -> str:
    # Same layout as kokoro's KPipeline.tokens_to_ps; frontend.word_timings walks it to place the words.
    return "".join(t.phonemes + (" " if t.space else "") for t in toks).strip()


# ---------------------------------------------------------------------------------------------- G2P spans


# A line shorter than this ends a paragraph even without a blank line after it: headings, list items,
# verse and addresses are short, while hard-wrapped prose (e-mail, PDFs, Gutenberg texts) has long lines
# whose breaks fall mid-sentence and must read as plain spaces.
SHORT_LINE = 50


def g2p_spans(text: str, max_chars: int = G2P_MAX_CHARS, start: int = 0) -> Iterator[tuple[int, int, bool]]:
    """Yield (start, end, ends_paragraph) for each piece of `text` worth one G2P call, lazily, in order.

    A paragraph ends at a blank line, a form feed or paragraph separator, or after a short line; other
    line breaks are spaces. Pieces are paragraphs split into sentences, and over-long sentences split
    further. Each is trimmed of whitespace; the whitespace between pieces is all that is not covered.
    With `start`, only what lies from there on: paragraphs are still found from the whole text (so
    reading from the middle of a line cuts as reading from the top would), the first piece is clipped.
    """
    para = line = 0
    for m in LINE_BREAK.finditer(text):
        if len(text[line : m.start()].strip()) < SHORT_LINE or m.group() in "\f\u2029":
            if m.start() > start:
                yield from _clipped(_line_spans(text, para, m.start(), max_chars), text, start)
            para = m.end()
        line = m.end()
    yield from _clipped(_line_spans(text, para, len(text), max_chars), text, start)


def _clipped(
    spans: Iterator[tuple[int, int, bool]], text: str, start: int
) -> Iterator[tuple[int, int, bool]]:
    for s, e, ends_paragraph in spans:
        if e <= start:
            continue
        if s < start:
            s, e = trim(text, start, e)
            if s == e:
                continue
        yield s, e, ends_paragraph


@dataclass(frozen=True)
class Sentence:
    start: int  # text[start:end] is the sentence, trimmed of whitespace
    end: int
    ends_paragraph: bool


def sentences(text: str, start: int = 0) -> Iterator[Sentence]:
    """The sentences of `text` (from `start`) as the reader navigates them, without G2P: the same
    paragraph and sentence ends the chunker uses, long sentences left whole (~0.1 s for 2 MB of prose)."""
    for s, e, ends_paragraph in g2p_spans(text, max_chars=len(text) + 1, start=start):
        yield Sentence(s, e, ends_paragraph)


def soft_breaks_as_spaces(segment: str) -> str:
    """Line breaks inside a paragraph, as spaces of the same length (offsets into the input hold)."""
    return LINE_BREAK.sub(lambda m: " " * len(m.group()), segment)


def _line_spans(text: str, start: int, end: int, max_chars: int) -> Iterator[tuple[int, int, bool]]:
    spans = []
    pos = start
    for m in SENTENCE_END.finditer(text, start, end):
        if _is_sentence_end(text, m, end):
            spans.append((pos, m.end()))
            pos = m.end()
    spans.append((pos, end))
    pieces = [p for s, e in spans for p in _limit(text, s, e, max_chars)]
    pieces = [p for p in (trim(text, s, e) for s, e in pieces) if p[0] < p[1]]
    for i, (s, e) in enumerate(pieces):
        yield s, e, i == len(pieces) - 1


def _is_sentence_end(text: str, m: re.Match, line_end: int) -> bool:
    after = m.end()
    if after < line_end and text[after].islower():
        return False
    if text[m.start()] == ".":
        before = text[max(0, m.start() - 16) : m.start()].split()
        word = before[-1].lstrip("\"'“‘([").lower() if before else ""
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            return False
    return True


def _limit(text: str, start: int, end: int, max_chars: int) -> Iterator[tuple[int, int]]:
    while end - start > max_chars:
        lo, hi = start + max_chars // 2, start + max_chars
        cut = None
        for pattern in (CLAUSE_END, _SPACE):
            ends = [m.end() for m in pattern.finditer(text, lo, hi)]
            if ends:
                cut = ends[-1]
                break
        if cut is None:
            cut = hi
            # Never separate a combining mark or emoji joiner from the character it belongs to.
            while cut < end and (unicodedata.combining(text[cut]) or text[cut] in "\u200d\ufe0e\ufe0f"):
                cut += 1
        yield start, cut
        start = cut
    yield start, end


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# -------------------------------------------------------------------------------- boundary strengths


def _is_punct(text: str) -> bool:
    return not any(c.isalnum() for c in text)


def _punct_class(tok: Tok, spaced: bool) -> int:
    chars = set(tok.text)
    if chars & _SENTENCE_CHARS:
        return SENTENCE
    if chars & _CLAUSE_CHARS:
        return CLAUSE
    if "-" in chars and spaced:  # " - " is a dash; "well-known" is one word
        return CLAUSE
    return WORD if tok.space else NONE


def _is_closer(toks: list[Tok], i: int) -> bool:
    t = toks[i]
    if not _is_punct(t.text):
        return False
    if set(t.text) & _CLOSERS:
        return True
    # A straight quote glued to the word before it closes a quotation.
    return bool(set(t.text) & _STRAIGHT_QUOTES) and i > 0 and not toks[i - 1].space


def _is_opener(toks: list[Tok], i: int) -> bool:
    t = toks[i]
    if not _is_punct(t.text) or t.space:
        return False
    return bool(set(t.text) & _OPENERS) or (bool(set(t.text) & _STRAIGHT_QUOTES) and not _is_closer(toks, i))


def mark_boundaries(toks: list[Tok], ends_paragraph: bool) -> None:
    """Set each token's `brk` from its neighbours inside one G2P span."""
    for i, t in enumerate(toks):
        nxt_closes = i + 1 < len(toks) and not t.space and _is_closer(toks, i + 1)
        if nxt_closes:
            t.brk = NONE  # cut after the closing quote or bracket, not before it
        elif not _is_punct(t.text):
            t.brk = WORD if t.space or i + 1 == len(toks) else NONE
        elif _is_opener(toks, i):
            t.brk = NONE
        else:
            spaced = t.space or (i > 0 and toks[i - 1].space)
            t.brk = _punct_class(t, spaced)
            if _is_closer(toks, i) and i > 0 and _is_punct(toks[i - 1].text):
                t.brk = max(t.brk, _punct_class(toks[i - 1], spaced))
    if toks and ends_paragraph:
        toks[-1].brk = PARAGRAPH


# ------------------------------------------------------------------------------------------- the packer


def split_tok(tok: Tok, n: int) -> tuple[Tok, Tok]:
    """Cut one token after `n` phonemes; its text is shared out in proportion (it has no better seam).

    Each side keeps at least one character where the token has two; a one-character token longer than a
    chunk (possible only with a tiny max_phonemes) leaves its later pieces with empty text.
    """
    share = len(tok.phonemes)
    mid = tok.start + round((tok.end - tok.start) * n / share)
    if tok.end - tok.start >= 2:
        mid = min(max(mid, tok.start + 1), tok.end - 1)
    text_mid = round(len(tok.text) * n / share)
    head = replace(tok, end=mid, text=tok.text[:text_mid], phonemes=tok.phonemes[:n], space=False, brk=NONE)
    tail = replace(tok, start=mid, text=tok.text[text_mid:], phonemes=tok.phonemes[n:])
    return head, tail


class Packer:
    """Groups phonemized tokens into chunks of at most `max_phonemes` symbols, as they arrive.

    Each chunk has a budget. The first one's is `first_max`, so the first sound comes early; with `pack`
    it then doubles towards `max_phonemes`, so each chunk costs about twice the previous one to synthesize
    while it has the previous one's playing time to do so (longer chunks also sound more natural and cost
    less per second of audio). Without `pack` every later budget is `max_phonemes`.

    A chunk takes, in order of preference: with `pack`, as many whole sentences as fit the budget; else
    the next sentence, if it fits half as much again; else that sentence up to a clause end between a
    third of the budget and the budget (the last one), or up to half as much again (the first one); else up
    to its last word end within the budget; else (one enormous "word") up to the budget, wherever it falls.
    """

    def __init__(self, text: str, *, first_max: int | None, max_phonemes: int, pack: bool, start: int = 0):
        if max_phonemes < 1:
            raise ValueError("max_phonemes must be at least 1")
        self.text = text
        self.max = max_phonemes
        self.pack = pack
        self.budget = min(first_max, max_phonemes) if first_max and first_max > 0 else max_phonemes
        # The first chunk packs only what is already phonemized: it never waits for more G2P.
        self.eager = self.budget < max_phonemes
        self.buf: list[Tok] = []
        self.done: list[list[Tok]] = []  # decided, waiting to learn where their text ends
        self.last_end = start  # where the previous chunk's text stopped

    def feed(self, toks: list[Tok]) -> list[Cut]:
        """Add one G2P span's tokens (boundaries marked); return the chunks that are now final."""
        self.buf.extend(toks)
        self._decide(final=False)
        return self._release(final=False)

    def finish(self) -> list[Cut]:
        if self.buf:
            self.buf[-1].brk = PARAGRAPH
        self._decide(final=True)
        return self._release(final=True)

    # -- deciding

    def _decide(self, final: bool) -> None:
        while self.buf:
            region = next((i + 1 for i, t in enumerate(self.buf) if t.brk == PARAGRAPH), None)
            ends_paragraph = region is not None
            region = region or len(self.buf)
            speak = next((i for i in range(region) if self.buf[i].speakable), None)
            if speak is None:
                if not ends_paragraph:
                    if len(self.buf) > 64:  # a long run of bare punctuation: keep only what may lead speech
                        del self.buf[:-8]
                    return
                del self.buf[:region]  # nothing to say: its text rides along with a neighbour
                continue
            cut = self._cut(region, speak, ends_paragraph or final)
            if cut is None:
                return
            self.done.append(self.buf[: cut + 1])
            del self.buf[: cut + 1]
            self.budget = min(self.max, self.budget * 2) if self.pack else self.max
            self.eager = False

    def _cut(self, region: int, speak: int, closed: bool) -> int | None:
        """Index of the last token of the next chunk, or None to wait for more text."""
        buf, budget = self.buf, self.budget
        cap = min(self.max, budget + budget // 2)
        ends = []  # ends[i]: phoneme length of buf[:i + 1] as one chunk
        total = 0
        for t in buf[:region]:
            ends.append(total + len(t.phonemes))
            total = ends[-1] + (1 if t.space else 0)
        sentences = [i for i in range(speak, region) if buf[i].brk >= SENTENCE]
        if not closed:
            if self.pack and not self.eager and ends[-1] <= budget:
                return None  # more may fit
            if not sentences and ends[-1] <= cap:
                return None  # this sentence goes on in the next G2P span
        if self.pack:
            fitting = [i for i in sentences if ends[i] <= budget]
            if fitting:
                return fitting[-1]
        if sentences and ends[sentences[0]] <= cap:
            return sentences[0]
        stop = sentences[0] + 1 if sentences else region
        clauses = [i for i in range(speak, stop) if buf[i].brk >= CLAUSE and budget // 3 <= ends[i] <= cap]
        within = [i for i in clauses if ends[i] <= budget]
        if clauses:
            return within[-1] if within else clauses[0]
        for level in (WORD, NONE):
            found = [i for i in range(speak, stop) if buf[i].brk >= level and ends[i] <= budget]
            if found:
                return found[-1]
        # A single token longer than the budget: split the token itself.
        room = budget - (ends[speak - 1] + (1 if buf[speak - 1].space else 0) if speak else 0)
        if room < 1:  # absurdly much punctuation before it, and silent anyway
            del buf[:speak]
            speak, room = 0, budget
        buf[speak : speak + 1] = split_tok(buf[speak], room)
        return speak

    # -- releasing

    def _release(self, final: bool) -> list[Cut]:
        """Chunks whose text end is known: the next chunk's first token is in hand (or the input ended)."""
        out = []
        while self.done:
            if len(self.done) > 1:
                end = self.done[1][0].start
            elif final:
                end = len(self.text)
            elif any(t.speakable for t in self.buf):
                end = self.buf[0].start
            else:
                break
            toks = self.done.pop(0)
            out.append(Cut(*trim(self.text, self.last_end, end), toks))
            self.last_end = end
        return out
