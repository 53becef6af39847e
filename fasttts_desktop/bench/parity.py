"""Parity metrics between two renderings of the same text: plain numpy, no GPU (tested on CPU).

- log-mel L1 distance (80 mel bands, 1024-point frames, hop 256, 24 kHz): how far two spectra are apart;
  two fp32 reference runs with different noise seeds set the scale (kokoro's source draws random noise);
- duration match: the share of tokens with identical predicted durations, and the worst difference;
- clicks at chunk joins: the largest sample step near each join against the signal's own p99.9 step.
"""

from __future__ import annotations

import functools

import numpy as np

SAMPLE_RATE = 24_000
N_FFT, HOP, N_MELS = 1024, 256, 80


@functools.cache
def mel_basis(n_fft: int = N_FFT, n_mels: int = N_MELS, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Triangular filters on the HTK mel scale, [n_mels, n_fft // 2 + 1]."""

    def hz_to_mel(f):
        return 2595 * np.log10(1 + f / 700)

    mels = np.linspace(hz_to_mel(0), hz_to_mel(sr / 2), n_mels + 2)
    hz = 700 * (10 ** (mels / 2595) - 1)
    bins = np.fft.rfftfreq(n_fft, 1 / sr)
    fb = np.zeros((n_mels, len(bins)))
    for m in range(n_mels):
        lo, c, hi = hz[m], hz[m + 1], hz[m + 2]
        fb[m] = np.clip(np.minimum((bins - lo) / (c - lo), (hi - bins) / (hi - c)), 0, None)
    return fb


def log_mel(audio: np.ndarray) -> np.ndarray:
    """[frames, N_MELS] natural-log mel power (+1e-5), Hann window, centred frames."""
    x = np.pad(np.asarray(audio, dtype=np.float64), (N_FFT // 2, N_FFT // 2))
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP] * np.hanning(N_FFT)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    return np.log(power @ mel_basis().T + 1e-5)


def mel_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute log-mel difference over the frames both have."""
    ma, mb = log_mel(a), log_mel(b)
    n = min(len(ma), len(mb))
    return float(np.mean(np.abs(ma[:n] - mb[:n])))


def mean_distance(ours, ref) -> float:
    """Mean log-mel distance over paired results (anything with `.audio`), as many pairs as both have."""
    return float(np.mean([mel_distance(a.audio, b.audio) for a, b in zip(ours, ref, strict=False)]))


def duration_match(ours, ref) -> tuple[float, int]:
    """(share of tokens with identical durations, largest difference) over paired results (`.durations`),
    as many pairs as both have."""
    same = total = worst = 0
    for a, b in zip(ours, ref, strict=False):
        a, b = np.asarray(a.durations), np.asarray(b.durations)
        if a.shape != b.shape:
            raise ValueError(f"token counts differ: {a.shape} vs {b.shape}")
        same += int((a == b).sum())
        total += len(b)
        worst = max(worst, int(np.abs(a - b).max())) if len(b) else worst
    return (same / total if total else 1.0), worst


def join_clicks(chunks: list[np.ndarray], window: int = 48) -> dict:
    """Largest sample-to-sample step within `window` samples (2 ms) of each join of `chunks` (already
    edge-faded as the engine plays them), against the 99.9th percentile of steps over the whole signal."""
    signal = np.concatenate(chunks)
    steps = np.abs(np.diff(signal))
    joins, pos = [], 0
    for c in chunks[:-1]:
        pos += len(c)
        joins.append(float(steps[max(0, pos - window) : pos + window].max()))
    p999 = float(np.percentile(steps, 99.9))
    worst = max(joins) if joins else 0.0
    return {"join_max_step": round(worst, 5), "signal_p999_step": round(p999, 5), "ok": worst <= p999}


def spectral_verdict(ours: float, seed_pairs: list[float], strict_pairs: list[float]) -> dict:
    """Is `ours` (log-mel to the reference) as close as two fp32 reference runs with different seeds?

    A perfect implementation with its own noise lands anywhere in the spread of the distances between
    fp32 reference runs with different seeds (default and strict-fp32 convolutions alike), so "no larger
    than between two reference runs" is read as: within that spread."""
    floor = list(seed_pairs) + list(strict_pairs)
    return {
        "spectral_ok": ours <= max(floor),
        "spectral_below_pair_mean": ours <= float(np.mean(floor)),
        "spectral_below_default_pairs_max": ours <= max(seed_pairs),
    }
