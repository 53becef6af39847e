"""WAV files written whole or not at all: shared by the CLI and the window's Save.

Audio is streamed into a hidden `.NAME.PID.XXXXXXXX.part` file beside the target as it is made, and renamed
over the target only once complete, so a full disk, an error or a signal leaves the old file (or nothing).
Only a regular file or a new name is ever replaced: never a device, a pipe or a folder. The file gets the
mode any new file gets under the umask, or keeps the mode (and owner) of the file it replaces. `.part` files
left behind by a killed save (their process is gone) are removed by the next save to the same name.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import stat
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

import numpy as np

from fasttts_desktop.engine.paths import describe_os_error
from fasttts_desktop.engine.types import SAMPLE_RATE, EngineError

log = logging.getLogger(__name__)

# RIFF sizes are 32-bit: 16-bit mono at 24 kHz holds a little over 24 hours.
MAX_DATA_BYTES = 0xFFFFFFFF - 36
_NAME_CHARS = 100  # of the target's name kept in the temp file's name (names are limited to 255 bytes)


def to_pcm16(audio: np.ndarray) -> bytes:
    clipped = np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)
    return (clipped * 32767.0).round().astype("<i2").tobytes()


def check_target(path: str | os.PathLike) -> Path:
    """The file a save to `path` would write (symbolic links followed); EngineError if it must not be."""
    if not os.fspath(path):
        raise EngineError("Cannot save: no file name was given.")
    given = target = Path(path).expanduser()
    try:
        target = Path(os.path.realpath(given)) if given.is_symlink() else given
        st = target.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise EngineError(f"Cannot save to {given}: {describe_os_error(exc)}.") from exc
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise EngineError(f"Cannot save to {given}: it is a folder.")
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise EngineError(f"Cannot save to {given}: it is not a regular file (a device, pipe or socket).")
    folder = target.parent
    if not folder.is_dir():
        raise EngineError(f"Cannot save to {given}: the folder {folder} does not exist.")
    return target


class WavWriter:
    """Mono 16-bit PCM written as it comes; the target appears only at `commit()`.

    Use as a context manager: leaving the block without `commit()` (an error, Ctrl+C) removes the
    partial file. Errors are EngineError with one readable line.
    """

    def __init__(self, path: str | os.PathLike, sample_rate: int = SAMPLE_RATE):
        self.given = Path(path).expanduser()
        self.target = check_target(path)
        self.frames = 0
        self._rate = sample_rate
        self._raw = self._wav = None
        remove_stale_parts(self.target)
        name = f".{self.target.name[:_NAME_CHARS]}.{os.getpid()}.{secrets.token_hex(4)}.part"
        self._tmp: Path | None = self.target.parent / name
        with self._saving():
            # 0600 while incomplete; the final mode is set just before the rename
            fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            self._raw = os.fdopen(fd, "wb")
            self._wav = wave.open(self._raw, "wb")  # noqa: SIM115 - closed by commit() or discard()
            self._wav.setnchannels(1)
            self._wav.setsampwidth(2)
            self._wav.setframerate(sample_rate)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.discard()

    @property
    def seconds(self) -> float:
        return self.frames / self._rate

    def write(self, audio: np.ndarray) -> None:
        data = to_pcm16(audio)
        if 2 * self.frames + len(data) > MAX_DATA_BYTES:
            hours = MAX_DATA_BYTES / 2 / self._rate / 3600
            raise EngineError(
                f"Cannot save to {self.given}: a WAV file holds at most {hours:.0f} hours of audio; "
                "split the text."
            )
        with self._saving():
            self._wav.writeframesraw(data)
        self.frames += len(data) // 2

    def commit(self) -> Path:
        """Finish the file and move it into place."""
        with self._saving():
            self._wav.close()  # writes the final sizes into the header
            self._raw.flush()
            self._set_mode(self._raw.fileno())
            os.fsync(self._raw.fileno())
            self._raw.close()
            os.replace(self._tmp, self.target)
        self._tmp = None
        _sync_folder(self.target.parent)
        return self.target

    def discard(self) -> None:
        """Forget the partial file (nothing happens after `commit`)."""
        if self._tmp is None:
            return
        for part in (self._wav, self._raw):
            try:
                if part is not None:
                    part.close()
            except (OSError, ValueError):  # the disk that failed a write may fail the header too
                pass
        try:
            self._tmp.unlink(missing_ok=True)
        except OSError:  # never created (a read-only folder), or the folder itself is gone
            log.warning("could not remove %s", self._tmp)
        self._tmp = None

    def _set_mode(self, fd: int) -> None:
        try:
            old = self.target.stat()
        except FileNotFoundError:
            os.fchmod(fd, 0o666 & ~current_umask())
            return
        os.fchmod(fd, stat.S_IMODE(old.st_mode))
        if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
            try:  # only root may give a file away; others write files of their own
                os.fchown(fd, old.st_uid, old.st_gid)
            except OSError:
                pass

    @contextmanager
    def _saving(self) -> Iterator[None]:
        """OSError -> EngineError naming the file; the partial file goes."""
        try:
            yield
        except OSError as exc:
            self.discard()
            raise EngineError(f"Cannot save to {self.given}: {describe_os_error(exc)}.") from exc


def write_wav_atomic(path: str | os.PathLike, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write mono 16-bit PCM in one go. The file appears only once it is complete."""
    with WavWriter(path, sample_rate) as writer:
        writer.write(audio)
        return writer.commit()


def remove_stale_parts(target: Path) -> list[Path]:
    """Delete `.part` files of earlier saves to `target` whose process is gone; returns what went."""
    pattern = re.compile(rf"\.{re.escape(target.name[:_NAME_CHARS])}\.(\d+)\.[0-9a-f]{{8}}\.part")
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        m = pattern.fullmatch(entry.name)
        if m and not _alive(int(m.group(1))) and entry.is_file(follow_symlinks=False):
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
                log.info("removed %s, left by a save that was killed", entry.path)
            except OSError:
                pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but is someone else's
        return True
    return True


def current_umask() -> int:
    """The process umask, read without changing it where Linux allows (other threads may create files)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sync_folder(folder: Path) -> None:
    # The rename is durable only once the folder is on disk too; best effort (not every OS allows it).
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Mono 16-bit WAV as float32 in [-1, 1] and its sample rate (for tests and the CLI's checks)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise EngineError(f"{path}: expected mono 16-bit PCM WAV.")
        frames = w.readframes(w.getnframes())
        rate = w.getframerate()
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32767.0, rate
