"""How long the silence is at each kind of join: after a comma, a sentence, a paragraph, a heading, before a
chapter; and the arithmetic that makes it so in the audio the model made.

No model and no Qt here. The model ends every chunk with ~0.5 s of near-silence and starts the next with
~0.3 s (measured on the offline weights), so a pause is set by trimming both sides to where the sound is
and putting the wanted silence in between; word timings move with the audio that was trimmed off.
A pause of None leaves that kind of join as the model speaks it (and, for commas and sentences, the
chunker free to keep them inside one chunk).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

from fasttts_desktop.engine.text.chunking import LINE_BREAK, SHORT_LINE
from fasttts_desktop.engine.types import SAMPLE_RATE, EngineError, WordTiming

# The window reads the pause settings from here; the arithmetic on audio below imports numpy (0.2-0.3 s)
# when it first runs, on the engine thread, so that the window is up before.
if TYPE_CHECKING:
    import numpy as np

KINDS = ("comma", "sentence", "paragraph", "heading", "chapter")
MAX_PAUSE_S = 10.0
# Sound below this (about -50 dBFS) is the model's silence; its breath and decay tails stay above it.
SILENCE_LEVEL = 3e-3
# Kept either side of the sound when trimming, so onsets and decays are not cut; part of the pause.
EDGE_S = 0.02

_SENTENCE_END = frozenset(".!?…。！？‼⁇⁈⁉")
_CLAUSE_END = frozenset(",;:—–、，；：")
_CLOSING = frozenset("\"'”’»)]}」』）")


@dataclass(frozen=True)
class Pauses:
    """Seconds of silence per kind of join; None: as the model says it."""

    comma: float | None = None
    sentence: float | None = None
    paragraph: float | None = 0.75
    heading: float | None = 1.0
    chapter: float | None = 2.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and not 0 <= value <= MAX_PAUSE_S:
                raise EngineError(f"A {f.name} pause must be 0 to {MAX_PAUSE_S:g} seconds (got {value:g}).")

    def of(self, kind: str | None) -> float | None:
        return getattr(self, kind) if kind in KINDS else None

    @classmethod
    def natural(cls) -> Pauses:
        """Every join as the model says it (what the engine did before pauses could be set)."""
        return cls(None, None, None, None, None)

    def with_spec(self, spec: str) -> Pauses:
        """These pauses changed by "comma=0.3,sentence=0.8,chapter=off" (seconds, or "off"/"natural")."""
        changes: dict[str, float | None] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            kind, _, value = part.partition("=")
            kind = kind.strip().lower()
            if kind not in KINDS or not value.strip():
                raise EngineError(f"Bad pause {part!r}: write kind=seconds, kinds {', '.join(KINDS)}.")
            changes[kind] = None if value.strip().lower() in ("off", "natural") else parse_seconds(value)
        return replace(self, **changes)


_DURATION = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s)?\s*", re.IGNORECASE)


def parse_seconds(value: str) -> float:
    """1.5s, 1.5 or 250ms -> seconds; anything else or over MAX_PAUSE_S is EngineError."""
    m = _DURATION.fullmatch(value)
    if not m:
        raise EngineError(f"Bad duration {value!r}: write seconds such as 1.5s or 250ms.")
    seconds = float(m.group(1)) / (1000 if (m.group(2) or "").lower() == "ms" else 1)
    if seconds > MAX_PAUSE_S:
        raise EngineError(f"A pause of {value.strip()} is longer than {MAX_PAUSE_S:g} s.")
    return seconds


def join_kind(
    spoken: str, text: str, end: int, next_start: int, chapters: tuple[int, ...], headings: tuple[int, ...]
) -> str | None:
    """The kind of join after a chunk whose spoken text is `spoken`, ending at `end` in `text`, when the
    next one starts at `next_start`; None for a cut inside a sentence with no punctuation."""
    if any(end < c <= next_start for c in chapters):
        return "chapter"
    titles = (*chapters, *headings)  # a chapter's title line is a heading too
    if any(end < h <= next_start for h in headings) or _heading_ends(text, end, next_start, titles):
        return "heading"
    gap = text[end:next_start]
    breaks = list(LINE_BREAK.finditer(gap))
    if breaks:
        line_start = max(text.rfind("\n", 0, end), text.rfind("\r", 0, end)) + 1
        if len(breaks) > 1 or "\f" in gap or len(text[line_start:end].strip()) < SHORT_LINE:
            return "paragraph"
    last = spoken.rstrip().rstrip("".join(_CLOSING))[-1:]
    if last in _SENTENCE_END:
        return "sentence"
    if last in _CLAUSE_END:
        return "comma"
    return "paragraph" if breaks else None


def _heading_ends(text: str, end: int, next_start: int, headings: tuple[int, ...]) -> bool:
    """The chunk ends the line of a heading (the join after a heading's title)."""
    if not LINE_BREAK.search(text, end, next_start):
        return False
    line_start = max(text.rfind("\n", 0, end), text.rfind("\r", 0, end)) + 1
    return any(line_start <= h < end for h in headings)


def sound_span(audio: np.ndarray) -> tuple[int, int]:
    """(first, last + 1) sample of the sound in `audio`; (0, 0) for silence."""
    import numpy as np

    loud = np.flatnonzero(np.abs(audio) > SILENCE_LEVEL)
    return (int(loud[0]), int(loud[-1]) + 1) if len(loud) else (0, 0)


def trim_start(audio: np.ndarray, words: list[WordTiming]) -> tuple[np.ndarray, list[WordTiming], float]:
    """`audio` from EDGE_S before its sound, the words moved to match, and the seconds cut."""
    first, last = sound_span(audio)
    if last == 0:
        return audio, words, 0.0
    cut = max(0, first - round(EDGE_S * SAMPLE_RATE))
    shift = cut / SAMPLE_RATE
    moved = [replace(w, start_s=max(0.0, w.start_s - shift), end_s=max(0.0, w.end_s - shift)) for w in words]
    return audio[cut:], moved, shift


def end_with_pause(audio: np.ndarray, words: list[WordTiming], pause_s: float) -> np.ndarray:
    """`audio` cut EDGE_S after its sound, then silence so the quiet after the sound lasts `pause_s` together
    with the next chunk's EDGE_S lead-in (see trim_start)."""
    _, last = sound_span(audio)
    if last == 0:
        return audio
    keep = min(len(audio), last + round(EDGE_S * SAMPLE_RATE))
    # a word the timings run past the sound ends with it (the timings are frames; the sound is the truth)
    words[:] = [
        replace(w, start_s=min(w.start_s, keep / SAMPLE_RATE), end_s=min(w.end_s, keep / SAMPLE_RATE))
        for w in words
    ]
    import numpy as np

    pad = max(0, round((pause_s - EDGE_S) * SAMPLE_RATE) - (keep - last))
    return np.concatenate([audio[:keep], np.zeros(pad, np.float32)]).astype(np.float32, copy=False)


def silence(seconds: float) -> np.ndarray:
    import numpy as np

    return np.zeros(round(seconds * SAMPLE_RATE), np.float32)
