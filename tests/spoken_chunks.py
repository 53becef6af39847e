"""AudioChunks built by hand: a voiced burst where each word is said, silence between, known timings.

For cue and export logic that needs exact, chosen timings; the real engine's chunks are used in the
slow tests beside these.
"""

from __future__ import annotations

import itertools
import re

import numpy as np

from fasttts_desktop.engine.types import SAMPLE_RATE, AudioChunk, TextChunk, WordTiming


def burst(seconds: float, f0: float = 150.0) -> np.ndarray:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 8))
    return (0.3 * tone / 2.6).astype(np.float32)


def spoken_chunk(
    document: str,
    start: int,
    end: int,
    *,
    index: int = 0,
    total: int = 1,
    word_s: float = 0.3,
    gap_s: float = 0.05,
) -> AudioChunk:
    """The chunk document[start:end], each word `word_s` long with `gap_s` between words and 0.4 s after
    a sentence end; 0.2 s of silence at each end, as the engine's chunks have."""
    text = document[start:end]
    lead = 0.2
    words, pieces, t = [], [np.zeros(int(lead * SAMPLE_RATE), np.float32)], lead
    for m in re.finditer(r"[\w'’-]+", text):
        words.append(WordTiming(m.group(), t, t + word_s))
        pieces.append(burst(word_s))
        t += word_s
        pause = 0.4 if re.match(r"[.!?]", text[m.end() : m.end() + 1]) else gap_s
        pieces.append(np.zeros(round(pause * SAMPLE_RATE), np.float32))
        t += pause
    pieces.append(np.zeros(int(0.2 * SAMPLE_RATE), np.float32))
    return AudioChunk(index, total, TextChunk(text, start, end, "x"), np.concatenate(pieces), words)


def spoken_document(document: str, cuts: list[int]) -> list[AudioChunk]:
    """The document cut into chunks at the given offsets (whitespace trimmed, as the engine's chunks are)."""
    bounds = [0, *cuts, len(document)]
    spans = []
    for a, b in itertools.pairwise(bounds):
        while a < b and document[a].isspace():
            a += 1
        while b > a and document[b - 1].isspace():
            b -= 1
        spans.append((a, b))
    return [spoken_chunk(document, a, b, index=i, total=len(spans)) for i, (a, b) in enumerate(spans)]
