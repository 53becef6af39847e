"""Checks that a recording is a known signal with pauses cut into it, sample for sample (numpy only)."""

from __future__ import annotations

import numpy as np

from fasttts_desktop.engine.types import SAMPLE_RATE
from fasttts_desktop.playback.audio_output import PAUSE_FADE_S

PAUSE_FADE = round(PAUSE_FADE_S * SAMPLE_RATE)


def ramp(n: int, start: int = 0) -> np.ndarray:
    # Every sample differs from its neighbour, so a dropped, repeated or inserted sample shows.
    return ((np.arange(start, start + n) % 1999) / 2000 + 0.001).astype(np.float32)


def fade_gains(n: int, fade: int, down: bool) -> np.ndarray:
    k = np.arange(1, n + 1, dtype=np.float32) / fade
    return np.clip(1 - k if down else k, 0, 1)


def split_at_pause(played: np.ndarray, sent: np.ndarray) -> tuple[int, int, int]:
    """Check that `played` is `sent` with one pause in it, faded out and in again, nothing lost or repeated.

    `sent` must have no exact zeros (a ramp, or a sine with a phase offset). Returns (where the sound began
    in `played`, the sample of `sent` where the fade-out began, where in `played` the sound came back).
    """
    s0 = int(np.flatnonzero(played)[0])
    n = min(len(sent), len(played) - s0)
    p = int(np.flatnonzero(played[s0 : s0 + n] != sent[:n])[0])
    down = fade_gains(PAUSE_FADE, PAUSE_FADE, True)
    np.testing.assert_allclose(
        played[s0 + p : s0 + p + PAUSE_FADE], sent[p : p + PAUSE_FADE] * down, atol=1e-6
    )
    q = s0 + p + PAUSE_FADE + int(np.flatnonzero(played[s0 + p + PAUSE_FADE :])[0])
    r = p + PAUSE_FADE  # the next sample not yet handed over when the fade ended
    up = fade_gains(PAUSE_FADE, PAUSE_FADE, False)
    np.testing.assert_allclose(played[q : q + PAUSE_FADE], sent[r : r + PAUSE_FADE] * up, atol=1e-6)
    rest = len(sent) - r - PAUSE_FADE
    assert np.array_equal(played[q + PAUSE_FADE : q + PAUSE_FADE + rest], sent[r + PAUSE_FADE :])
    return s0, p, q
