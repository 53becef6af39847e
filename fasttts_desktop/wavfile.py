"""WAV files written whole or not at all: shared by the CLI and the window's Save."""

from __future__ import annotations

import os
import tempfile
import wave
from pathlib import Path

import numpy as np

from fasttts_desktop.engine.types import SAMPLE_RATE, EngineError


def to_pcm16(audio: np.ndarray) -> bytes:
    clipped = np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)
    return (clipped * 32767.0).round().astype("<i2").tobytes()


def write_wav_atomic(path: str | os.PathLike, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write mono 16-bit PCM. The file appears only once it is complete (temp file + rename).

    Raises EngineError with one readable line when the place cannot be written.
    """
    target = Path(path).expanduser()
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise EngineError(f"Cannot save to {target}: it is a folder.")
    if not folder.is_dir():
        raise EngineError(f"Cannot save to {target}: the folder {folder} does not exist.")
    fd = None
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
        with os.fdopen(fd, "wb") as raw:
            fd = None
            with wave.open(raw, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(sample_rate)
                w.writeframes(to_pcm16(audio))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, target)
        tmp = None
    except PermissionError as exc:
        raise EngineError(f"Cannot save to {target}: permission denied.") from exc
    except OSError as exc:
        raise EngineError(f"Cannot save to {target}: {exc.strerror or exc}.") from exc
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return target


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Mono 16-bit WAV as float32 in [-1, 1] and its sample rate (for tests and the CLI's checks)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise EngineError(f"{path}: expected mono 16-bit PCM WAV.")
        frames = w.readframes(w.getnframes())
        rate = w.getframerate()
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32767.0, rate
