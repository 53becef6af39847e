"""Follow-along data: which word of the text is at the speaker, from the audio clock and the word timings.

No Qt. SpeechService places each chunk on the utterance's sample line as it goes to the player; the UI
polls `Timeline.at(heard sample)` 30-60 times a second, so a lookup is a bisection, and the character
spans of a chunk's words are found once, when the chunk arrives.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from dataclasses import dataclass

from fasttts_desktop.engine.types import SAMPLE_RATE, AudioChunk


@dataclass(frozen=True)
class Heard:
    request: int
    offset: int  # character span in the spoken text of the word at the speaker; when no word timing
    end: int  # covers the moment (pauses between words, punctuation), the chunk's span
    chunk_index: int
    seconds: float  # audio heard so far in this utterance
    chunk_start: int
    chunk_end: int


@dataclass(frozen=True)
class _Placed:
    first: int  # utterance sample where the chunk's audio begins
    length: int
    index: int
    start: int  # the chunk's character span in the text
    end: int
    word_starts: list[int]  # samples into the chunk, ascending
    word_ends: list[int]
    spans: list[tuple[int, int]]  # character spans in the text, one per word


def _place(chunk: AudioChunk, first: int, rate: int) -> _Placed:
    text, base = chunk.chunk.text, chunk.chunk.start
    starts, ends, spans = [], [], []
    at = 0
    for word in chunk.words:
        # The timings name the words in order; a word the front end rewrote is not in the text as such
        # and is skipped (the chunk's span stands in for it).
        found = text.find(word.text, at) if word.offset is None and word.text else -1
        if word.offset is not None and base <= word.offset <= base + len(text):
            found = word.offset - base
        if found < 0:
            continue
        at = found + len(word.text)
        starts.append(round(word.start_s * rate))
        ends.append(round(word.end_s * rate))
        spans.append((base + found, base + at))
    return _Placed(first, len(chunk.audio), chunk.index, base, chunk.chunk.end, starts, ends, spans)


class Timeline:
    """The chunks of one utterance as queued to the player, in order; what is heard at a given sample."""

    def __init__(self, request: int, rate: int = SAMPLE_RATE):
        self.request = request
        self._rate = rate
        self._chunks: deque[_Placed] = deque()
        self.samples = 0  # all the audio placed so far

    def add(self, chunk: AudioChunk) -> None:
        self._chunks.append(_place(chunk, self.samples, self._rate))
        self.samples += len(chunk.audio)

    def at(self, sample: int) -> Heard | None:
        """What is heard at utterance sample `sample`. The clock only moves forward, so chunks wholly
        behind it are forgotten here (memory stays flat however long the text)."""
        chunks = self._chunks
        while len(chunks) > 1 and chunks[0].first + chunks[0].length <= sample:
            chunks.popleft()
        if not chunks:
            return None
        placed = chunks[0]
        t = min(max(sample - placed.first, 0), max(placed.length - 1, 0))
        offset, end = placed.start, placed.end
        i = bisect_right(placed.word_starts, t) - 1
        if i >= 0 and t < placed.word_ends[i]:
            offset, end = placed.spans[i]
        return Heard(
            request=self.request,
            offset=offset,
            end=end,
            chunk_index=placed.index,
            seconds=min(sample, self.samples) / self._rate,
            chunk_start=placed.start,
            chunk_end=placed.end,
        )
