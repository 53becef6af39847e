"""A text to read as spans, each with its own voice, rate and pause after it, and where each character of
what is said lies in the text the user sees (so highlighting lands on the words of the original).

Made from the markup (markup.py), then split where a chapter's voice, a quotation's voice or a pause the
user set begins; the engine reads the spans one after the other (engine/segmented.py). No Qt, no model.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from fasttts_desktop.engine.text.chunking import CLAUSE_END, SENTENCE_END
from fasttts_desktop.engine.text.pauses import Pauses

# The window imports Reading from here; numpy (0.2-0.3 s) is imported by the functions that make segments,
# which run once there is something to read, so that the window is up before.
if TYPE_CHECKING:
    import numpy as np

MARKUP_MODES = ("auto", "ssml", "tags", "off")


@dataclass(frozen=True)
class Reading:
    """How to read a text beyond voice and speed: markup, pauses, voices per chapter and for dialogue."""

    # auto: SSML when the text starts with <speak, else [pause:…]/[voice:…]/[rate:…] tags; ssml; tags; off
    markup: str = "auto"
    pauses: Pauses = field(default_factory=Pauses)
    chapters: tuple[int, ...] = ()  # offsets where chapters start (the chapter pause goes before them)
    headings: tuple[int, ...] = ()  # offsets of other headings (the heading pause goes around them)
    voices: tuple[tuple[int, int, str], ...] = ()  # (start, end, voice): a chapter's voice
    dialogue_voice: str = ""  # quoted speech in this voice ("" : the voice of the text around it)


@dataclass
class Segment:
    """One span to say: `text` is what is said; character k of it comes from text[starts[k]:ends[k]]."""

    text: str
    starts: np.ndarray  # int64, one per character of `text` (numpy: a 2 MB book is one plain segment)
    ends: np.ndarray
    voice: str = ""  # from the markup; "" : the chapter's, the dialogue's or the reading's voice
    chapter_voice: str = ""
    dialogue: bool = False
    rate: float = 1.0  # times the reading's speed
    phonemes: str = ""  # said as these phonemes (SSML <phoneme>), never split
    pause_after: float | None = None  # an explicit break after it (seconds)
    kind_after: str | None = None  # a structure that ends with it ("paragraph" for SSML </p>)

    def source(self, lo: int, hi: int) -> tuple[int, int]:
        """Where text[lo:hi] (non-empty) lies in the original."""
        return int(self.starts[lo]), int(self.ends[hi - 1])


def plain(text: str, lo: int = 0, hi: int | None = None) -> Segment:
    """text[lo:hi] as it stands."""
    hi = len(text) if hi is None else hi
    return Segment(text[lo:hi], *identity(lo, hi))


def identity(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Offsets of characters said as written at lo..hi."""
    import numpy as np

    return np.arange(lo, hi, dtype=np.int64), np.arange(lo + 1, hi + 1, dtype=np.int64)


@dataclass
class Plan:
    segments: list[Segment]
    notices: list[str]  # one line each: markup that was not understood (its text is read as it stands)
    lead_pause: float = 0.0  # a break before anything is said


def plan(text: str, reading: Reading) -> Plan:
    """The segments `text` is read as under `reading`."""
    from fasttts_desktop.engine.text.markup import parse

    parsed = parse(text, reading.markup)
    segments = parsed.segments
    if reading.voices:
        segments = list(_chapter_voices(segments, reading.voices))
    if reading.dialogue_voice:
        segments = list(_dialogue(segments))
    for kind, pattern in (("sentence", SENTENCE_END), ("comma", CLAUSE_END)):
        if reading.pauses.of(kind) is not None:
            segments = list(_split_at(segments, pattern))
    return Plan(segments, parsed.notices, parsed.lead_pause)


def _parts(seg: Segment, cuts: Iterable[int]) -> list[tuple[int, Segment]]:
    """`seg` cut at `cuts` (offsets into its text): (offset of the part, the part); the last part keeps what
    comes after the segment (its break, its structure)."""
    edges = [0, *sorted({k for k in cuts if 0 < k < len(seg.text)}), len(seg.text)]
    parts = []
    for lo, hi in itertools.pairwise(edges):
        part = replace(seg, text=seg.text[lo:hi], starts=seg.starts[lo:hi], ends=seg.ends[lo:hi])
        if hi < len(seg.text):
            part.pause_after = part.kind_after = None
        parts.append((lo, part))
    return parts


def _cut(segments: Iterable[Segment], cuts_of) -> Iterator[Segment]:
    for seg in segments:
        if seg.phonemes or not seg.text:
            yield seg
        else:
            yield from (part for _, part in _parts(seg, cuts_of(seg)))


def _chapter_voices(segments: list[Segment], voices: tuple[tuple[int, int, str], ...]) -> Iterator[Segment]:
    import numpy as np

    edges = np.array(sorted({e for s, end, _ in voices for e in (s, end)}), dtype=np.int64)
    for seg in _cut(segments, lambda seg: (np.flatnonzero(np.isin(seg.starts[1:], edges)) + 1).tolist()):
        at = int(seg.starts[0]) if len(seg.starts) else -1
        for s, e, voice in voices:
            if s <= at < e:
                seg.chapter_voice = voice
        yield seg


# Quoted speech: curly double quotes (which may run over paragraphs, so up to the closing one), straight
# double quotes within a paragraph, guillemets.
_QUOTED = re.compile(r"“[^”]*”|\"[^\"\n]*\"|«[^»]*»")


def _dialogue(segments: list[Segment]) -> Iterator[Segment]:
    for seg in segments:
        if seg.phonemes or not seg.text:
            yield seg
            continue
        quoted = {m.start() for m in _QUOTED.finditer(seg.text)}
        ends = [m.end() for m in _QUOTED.finditer(seg.text)]
        for lo, part in _parts(seg, [*quoted, *ends]):
            part.dialogue = lo in quoted
            yield part


def _split_at(segments: list[Segment], pattern: re.Pattern[str]) -> Iterator[Segment]:
    return _cut(segments, lambda seg: [m.end() for m in pattern.finditer(seg.text)])
