"""Signal measurements the tests use: is audio speech, where does a known sound lie in a recording (numpy
only)."""

from __future__ import annotations

import numpy as np


def frames(audio: np.ndarray, size: int, hop: int) -> np.ndarray:
    n = 1 + max(0, len(audio) - size) // hop
    idx = np.arange(size)[None, :] + hop * np.arange(n)[:, None]
    return audio[idx]


def rms_db(audio: np.ndarray, sr: int, frame_s: float = 0.02) -> np.ndarray:
    size = int(sr * frame_s)
    f = frames(audio, size, size)
    return 20 * np.log10(np.sqrt((f**2).mean(axis=1)) + 1e-9)


def pitch_track(audio: np.ndarray, sr: int, fmin: float = 60.0, fmax: float = 500.0) -> np.ndarray:
    """Per 40 ms frame: the pitch in Hz where the frame is clearly periodic, else 0 (unvoiced/silent)."""
    size, hop = int(0.04 * sr), int(0.01 * sr)
    lo, hi = int(sr / fmax), int(sr / fmin)
    loud = rms_db(audio, sr).max() - 35
    out = []
    for f in frames(audio, size, hop):
        f = f - f.mean()
        energy = float((f**2).sum())
        if energy <= 0 or 10 * np.log10(energy / len(f) + 1e-12) < loud:
            out.append(0.0)
            continue
        ac = np.correlate(f, f, mode="full")[len(f) - 1 :]
        ac = ac / ac[0]
        lag = lo + int(np.argmax(ac[lo:hi]))
        out.append(sr / lag if ac[lag] > 0.5 else 0.0)
    return np.asarray(out)


def log_mel(audio: np.ndarray, sr: int = 24_000, n_fft: int = 1024, hop: int = 256, n_mels: int = 80):
    """Log-mel spectrogram [frames, n_mels]: the space where two noise seeds of one model agree."""
    win = np.hanning(n_fft).astype(np.float32)
    spec = np.abs(np.fft.rfft(frames(np.pad(audio, (0, n_fft)), n_fft, hop) * win, axis=1)) ** 2

    def mel(hz):
        return 2595 * np.log10(1 + hz / 700)

    pts = 700 * (10 ** (np.linspace(mel(0), mel(sr / 2), n_mels + 2) / 2595) - 1)
    bins = np.floor((n_fft + 1) * pts / sr).astype(int)
    fb = np.zeros((n_mels, n_fft // 2 + 1), np.float32)
    for m in range(1, n_mels + 1):
        a, b, c = bins[m - 1], bins[m], bins[m + 1]
        fb[m - 1, a:b] = (np.arange(a, b) - a) / max(b - a, 1)
        fb[m - 1, b:c] = (c - np.arange(b, c)) / max(c - b, 1)
    return np.log(spec @ fb.T + 1e-6)


def log_mel_distance(a: np.ndarray, b: np.ndarray, sr: int = 24_000) -> float:
    """Mean absolute log-mel difference over the common length."""
    ma, mb = log_mel(a, sr), log_mel(b, sr)
    n = min(len(ma), len(mb))
    return float(np.abs(ma[:n] - mb[:n]).mean())


SILENCE = 0.003  # the null sink adds no noise: anything above this is sound


def upsample_2x(audio: np.ndarray) -> np.ndarray:
    """24 kHz -> 48 kHz, band-limited (zero-padding the spectrum), as a sound server's resampler would."""
    n = len(audio)
    spectrum = np.fft.rfft(audio)
    return (np.fft.irfft(spectrum, 2 * n) * 2).astype(np.float32)


def locate(heard: np.ndarray, ref: np.ndarray) -> tuple[int, float]:
    """Where `ref` best lines up in `heard`, and the normalized correlation there (1.0 = identical shape)."""
    size = 1 << int(np.ceil(np.log2(len(heard) + len(ref))))
    xc = np.fft.irfft(np.fft.rfft(heard, size) * np.conj(np.fft.rfft(ref, size)), size)[
        : len(heard) - len(ref) + 1
    ]
    lag = int(np.argmax(xc))
    segment = heard[lag : lag + len(ref)]
    return lag, float(segment @ ref / (np.linalg.norm(segment) * np.linalg.norm(ref) + 1e-12))


def loud(audio: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.abs(audio) > SILENCE)


def read_wav(path) -> tuple[np.ndarray, int]:
    """A mono 16-bit WAV as float32 in [-1, 1] and its sample rate, read with the standard library (not
    with the libsndfile that wrote it)."""
    import wave

    with wave.open(str(path), "rb") as w:
        assert (w.getsampwidth(), w.getnchannels()) == (2, 1), f"{path}: expected mono 16-bit PCM WAV"
        frames = w.readframes(w.getnframes())
        rate = w.getframerate()
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32767.0, rate
