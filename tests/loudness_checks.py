"""Measuring exported files with meters that are not the exporter's: pyloudnorm (a Python BS.1770-4
implementation) for integrated loudness, and scipy's polyphase resampler at 4x for the true peak."""

from __future__ import annotations

import numpy as np


def integrated_lufs(audio: np.ndarray, sr: int) -> float:
    import pyloudnorm

    return float(pyloudnorm.Meter(sr).integrated_loudness(np.asarray(audio, dtype=np.float64)))


def true_peak_dbtp(audio: np.ndarray) -> float:
    from scipy.signal import resample_poly

    return float(20 * np.log10(np.abs(resample_poly(np.asarray(audio, np.float64), 4, 1)).max()))


def decode(path) -> tuple[np.ndarray, int]:
    """Any exported file as mono float64, through FFmpeg (PyAV) for M4B/M4A and libsndfile otherwise."""
    from pathlib import Path

    if Path(path).suffix.lower() in (".m4b", ".m4a"):
        import av

        with av.open(str(path)) as c:
            frames = [f.to_ndarray()[0] for f in c.decode(audio=0)]
            return np.concatenate(frames).astype(np.float64), c.streams.audio[0].sample_rate
    import soundfile

    audio, sr = soundfile.read(str(path), dtype="float64")
    return audio, sr


def speech_like(seconds: float = 8.0, sr: int = 24_000, level: float = 0.05, seed: int = 0) -> np.ndarray:
    """Voiced syllables (harmonics of a gliding pitch, 4 per second) with short loud plosive bursts: its
    peaks stand ~20 dB above its loudness, as Kokoro's speech does, so normalising it needs the limiter."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 2
    audio = level * voiced * envelope
    for start in rng.integers(0, len(t) - 200, size=int(seconds * 2)):
        audio[start : start + 120] += rng.uniform(-1, 1, 120) * 10 * level
    return audio.astype(np.float32)
