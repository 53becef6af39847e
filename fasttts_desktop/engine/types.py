"""Plain data that leaves the engine: what the worker, the UI and the CLI see.

Everything here is numpy, str and numbers, so it can cross threads (Qt signals) and processes as is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only named in annotations: the window imports these types before numpy is needed
    import numpy as np

SAMPLE_RATE = 24_000
# One predicted duration unit is 600 samples at 24 kHz (iSTFT hop 5 x upsampling 10 x 6 x 2).
SAMPLES_PER_FRAME = 600
# Kokoro's ALBERT has 512 positions; two go to the start/end pad tokens.
MAX_PHONEMES = 510
# Speaking rates offered everywhere (window, CLI, engine): below 0.5 or above 3 kokoro's prosody breaks up.
MIN_SPEED, MAX_SPEED = 0.5, 3.0

# How slow work reports itself: (what is happening, fraction done 0..1; negative when unknown).
Progress = Callable[[str, float], None]


class EngineError(Exception):
    """A problem the user can act on (bad text, unknown voice, missing weights): one clear line."""


class Cancelled(Exception):
    """Raised out of a synthesis that was asked to stop."""


@dataclass(frozen=True)
class Voice:
    name: str  # e.g. "af_heart", "jm_kumo"
    language: str  # human-readable, e.g. "American English", "Japanese"
    gender: str | None  # "female", "male" or None when unknown
    lang_code: str  # kokoro's one-letter code: 'a', 'b', 'j', ...
    grade: str | None = None  # kokoro's overall quality grade ("A" to "F"), where its catalog has one
    blend: bool = False  # a saved blend (it speaks its first voice's language)

    @property
    def label(self) -> str:
        parts = [self.language] + ([self.gender] if self.gender else [])
        parts += [f"grade {self.grade}"] if self.grade else []
        return f"{self.name} ({', '.join(parts)})"


@dataclass(frozen=True)
class TextChunk:
    """One piece of the input that the model speaks in one call."""

    text: str  # the exact slice of the input text
    start: int  # offsets into the input text: text == input[start:end]
    end: int
    phonemes: str  # at most MAX_PHONEMES symbols


@dataclass(frozen=True)
class WordTiming:
    text: str
    start_s: float  # seconds from the start of the chunk's audio
    end_s: float
    # Where the word is in the utterance's text, when it cannot simply be searched for in the chunk's text
    # (markup: a tag's attributes may hold the same letters); None: the next occurrence after the last word.
    offset: int | None = None


@dataclass
class AudioChunk:
    index: int  # 0-based position in the utterance
    total: int  # number of chunks the utterance was split into
    chunk: TextChunk
    audio: np.ndarray  # float32 mono at SAMPLE_RATE
    words: list[WordTiming] = field(default_factory=list)
    durations: np.ndarray | None = None  # predicted frames per token (incl. the two pad tokens)
    synth_s: float = 0.0  # wall time spent making this chunk's audio
    # Characters of chunk.text that were not spoken (controls, symbols and scripts the front end cannot
    # say): (offset into the caller's text, the characters), one entry per run, in order.
    unspoken: tuple[tuple[int, str], ...] = ()
    # Why this chunk could not be made, one line ("" when it was). Its audio is then empty and its text
    # was not heard; the utterance goes on with the next chunk.
    failed: str = ""

    @property
    def seconds(self) -> float:
        return len(self.audio) / SAMPLE_RATE
