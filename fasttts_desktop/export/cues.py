"""Subtitle cues from the engine's word timings: one per sentence, long sentences cut at word boundaries.

Times are in the timeline of the concatenated chunks: a cue starts when its first word is heard and ends
when its last word ends. Words are placed in the chunk's text by searching for each word's text in
order (the front end takes word texts from the input itself), which says which sentence each belongs to.

Kokoro's word starts (KPipeline.join_timestamps, from predicted durations) put a word that follows a
pause 30-70 ms before it becomes audible (measured on the Harvard sentences: the decoder's onset lags
the frames the duration model gives it). A cue start that follows silence is therefore moved to where
the chunk's audio actually rises (`_heard`), within a small window around the word's start.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fasttts_desktop.engine.text.chunking import sentences
from fasttts_desktop.engine.types import SAMPLE_RATE, AudioChunk, WordTiming

if TYPE_CHECKING:  # numpy (0.2-0.3 s) is imported where cues are made: the window imports this module
    import numpy as np

# Two lines of 42 characters: the common broadcast/streaming limit (BBC, Netflix) for legible cues.
LINE_CHARS = 42
MAX_LINES = 2
# Where to look for a word's audible onset around its predicted start, and what counts as sound.
_ONSET_BEFORE_S, _ONSET_AFTER_S = 0.06, 0.15
_QUIET_BEFORE_S = 0.02  # an onset is a rise after at least this much quiet
_WINDOW_S, _HOP_S = 0.010, 0.001
_BELOW_PEAK_DB = 40.0
_CLAUSE_END = re.compile(r"[,;:—–)\]]['\"”’»]*$")


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class _Word:
    start: int  # character span in the chunk's text
    end: int
    start_s: float
    end_s: float


def chunk_cues(chunk: AudioChunk, offset_s: float) -> list[Cue]:
    """The cues of one chunk whose audio starts `offset_s` seconds into the file."""
    text = chunk.chunk.text
    words = (
        _placed(text, chunk.words, chunk.chunk.start)
        if chunk.words
        else _even_words(text, len(chunk.audio) / SAMPLE_RATE)
    )
    if not words:
        return []
    spans = [(s.start, s.end) for s in sentences(text)] or [(0, len(text))]
    starts = [s for s, _ in spans]
    by_sentence: dict[int, list[_Word]] = {}
    for w in words:
        by_sentence.setdefault(max(0, bisect.bisect_right(starts, w.start) - 1), []).append(w)
    envelope = _Envelope(chunk.audio)
    cues: list[Cue] = []
    for i, group in sorted(by_sentence.items()):
        s_start, s_end = spans[i]
        # Text before a sentence's first word (an opening quote) and after its last (its full stop)
        # belongs to it; anything that slipped outside the span is taken in as well.
        lo, hi = min(s_start, group[0].start), max(s_end, group[-1].end)
        for a, b, piece in _pieces(text, lo, hi, group):
            # never back into the previous cue: players would show both at once
            start = max(envelope.heard(piece[0].start_s), cues[-1].end_s - offset_s if cues else 0.0)
            end = max(piece[-1].end_s, start)
            cues.append(Cue(offset_s + start, offset_s + end, _lines(text[a:b])))
    return cues


class _Envelope:
    """Short-time level of a chunk's audio (10 ms windows every 1 ms), in dB below its loudest window."""

    def __init__(self, audio: np.ndarray):
        import numpy as np

        a = np.asarray(audio, dtype=np.float64).reshape(-1)
        win, hop = int(_WINDOW_S * SAMPLE_RATE), int(_HOP_S * SAMPLE_RATE)
        if len(a) < win:
            self.loud = np.zeros(0, bool)
            return
        power = np.concatenate(([0.0], np.cumsum(a * a)))
        starts = np.arange(0, len(a) - win + 1, hop)
        level = 10 * np.log10((power[starts + win] - power[starts]) / win + 1e-12)
        self.loud = level > level.max() - _BELOW_PEAK_DB

    def heard(self, t: float) -> float:
        """The first rise from quiet to sound near `t` (seconds into the chunk); `t` if speech is already
        going on there (a cue cut inside a sentence) or nothing rises."""
        step, quiet = _HOP_S, round(_QUIET_BEFORE_S / _HOP_S)
        lo = max(quiet, round((t - _ONSET_BEFORE_S) / step))
        hi = min(len(self.loud), round((t + _ONSET_AFTER_S) / step))
        for k in range(lo, hi):
            if self.loud[k] and not self.loud[k - quiet : k].any():
                # the window starting at k is the first loud one: the rise lies within it
                return (k + 0.5 * _WINDOW_S / step) * step
        return t


def word_spans(chunk: AudioChunk) -> list[tuple[int, int, float, float]]:
    """(start, end) in the chunk's text and (start, end) in seconds into its audio of each word spoken."""
    text = chunk.chunk.text
    words = (
        _placed(text, chunk.words, chunk.chunk.start)
        if chunk.words
        else _even_words(text, len(chunk.audio) / SAMPLE_RATE)
    )
    return [(w.start, w.end, w.start_s, w.end_s) for w in words if w.start < w.end]


def _placed(text: str, timings: list[WordTiming], base: int = 0) -> list[_Word]:
    out = []
    pos = 0
    folded = text.casefold()
    for w in timings:
        needle = w.text.strip()
        at = text.find(needle, pos) if needle else -1
        if w.offset is not None and 0 <= w.offset - base <= len(text):
            at = w.offset - base
        if at < 0 and needle:
            at = folded.find(needle.casefold(), pos)
        if at < 0:  # a rewritten token: it belongs where the previous word ended
            at, end = pos, pos
        else:
            end = at + len(needle)
        out.append(_Word(at, end, w.start_s, w.end_s))
        pos = end
    return out


def _even_words(text: str, seconds: float) -> list[_Word]:
    """No timings (a backend without durations): spread the chunk's words over its audio by characters."""
    n = max(1, len(text))
    return [
        _Word(m.start(), m.end(), seconds * m.start() / n, seconds * m.end() / n)
        for m in re.finditer(r"\S+", text)
    ]


def _pieces(text: str, lo: int, hi: int, words: list[_Word]):
    """Split text[lo:hi] (holding `words`) into runs of words whose text fits a cue, evened out."""
    limit = LINE_CHARS * MAX_LINES
    length = len(_squash(text[lo:hi]))
    count = max(1, math.ceil(length / limit))
    while True:
        cuts = _cut_points(text, lo, hi, words, count)
        bounds = [lo] + [_token_start(text, lo, words[c]) for c in cuts] + [hi]
        if count >= len(words) or all(
            len(_squash(text[a:b])) <= limit for a, b in itertools.pairwise(bounds)
        ):
            break
        count += 1
    idx = [0, *cuts, len(words)]
    return [(bounds[k], bounds[k + 1], words[idx[k] : idx[k + 1]]) for k in range(len(idx) - 1)]


def _cut_points(text: str, lo: int, hi: int, words: list[_Word], count: int) -> list[int]:
    """Indices of the words that start pieces 2..count: the word start nearest each even share of the
    text, preferring one right after a comma or other clause mark (a natural pause to read across)."""
    cuts: list[int] = []
    last = lo
    for k in range(1, count):
        target = lo + (hi - lo) * k / count
        best, best_score = None, math.inf
        for j in range(cuts[-1] + 1 if cuts else 1, len(words)):
            at = _token_start(text, lo, words[j])
            if at <= last:  # inside the token the previous piece starts with ("well-known")
                continue
            score = abs(at - target)
            if _CLAUSE_END.search(text[lo:at].rstrip()):
                score -= LINE_CHARS / 4
            if score < best_score:
                best, best_score = j, score
        if best is None:
            break
        cuts.append(best)
        last = _token_start(text, lo, words[best])
    return cuts


def _token_start(text: str, lo: int, word: _Word) -> int:
    """Where the whitespace-delimited token holding `word` starts (an opening quote goes with its word)."""
    at = word.start
    while at > lo and not text[at - 1].isspace():
        at -= 1
    return at


def _squash(s: str) -> str:
    return " ".join(s.split())


def _lines(s: str) -> tuple[str, ...]:
    """One line, or two split at the space that best balances them."""
    s = _squash(s)
    if len(s) <= LINE_CHARS:
        return (s,)
    spaces = [m.start() for m in re.finditer(" ", s)]
    if not spaces:
        return (s,)
    fitting = [i for i in spaces if i <= LINE_CHARS and len(s) - i - 1 <= LINE_CHARS]
    cut = min(fitting or spaces, key=lambda i: abs(i - len(s) / 2))
    return (s[:cut], s[cut + 1 :])
