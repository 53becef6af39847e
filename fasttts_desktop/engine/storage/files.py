"""Files written whole or not at all: the one way every writer in the app saves (audio and subtitle exports,
`say`, the weights cache, the user's JSON files).

A save writes under a hidden name beside the target, `.NAME.PID.XXXXXXXX.part` (os.replace is atomic only
within one file system), and renames it over the target only once complete, so a full disk, an error, a
crash or a signal leaves the old file, or nothing:
- only a regular file or a new name is replaced. A folder, FIFO or device is refused up front: writing into
  a FIFO blocks forever, and as root replacing /dev/null would delete it. A symlink to a regular file is
  followed, so the file it points at is replaced and the link kept;
- the temporary file is 0600 while incomplete; it then gets the mode any new file gets under the umask, or
  keeps the mode (and, where allowed, the owner) of the file it replaces;
- its data is fsynced before the rename and the folder after it, so a power cut leaves one or the other;
- `.part` files of earlier saves to the same name whose process is gone (a killed save) are removed.

Every failure is a SaveError reading "Cannot save to PATH: <reason in lower case>." Lives in engine/ (which
imports nothing of the app's outside it) so that the engine's caches, export/, worker/, ui/ and the CLI
can all use it without an import going the wrong way.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import stat
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Self

from fasttts_desktop.engine.types import EngineError

log = logging.getLogger(__name__)

PART_SUFFIX = ".part"
_NAME_CHARS = 100  # of the target's name kept in the temporary name (names are limited to 255 bytes)


class SaveError(EngineError):
    """A file could not be saved (or an export could not be made): one line for the user.

    `reason` is what went wrong in lower case, for messages that name the place their own way."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason or message


def cannot_save(path: str | os.PathLike | None, reason: str) -> SaveError:
    """The one wording of a failed save: 'Cannot save to PATH: reason.'"""
    where = f" to {Path(path)}" if path is not None else ""
    return SaveError(f"Cannot save{where}: {reason}.", reason)


def describe_os_error(exc: OSError) -> str:
    """An OSError's reason without its errno, starting in lower case: "permission denied", "no space left
    on device", "read-only file system"…"""
    if isinstance(exc, PermissionError):
        return "permission denied"  # EACCES and EPERM alike: the user's remedy is the same
    reason = (exc.strerror or str(exc) or type(exc).__name__).strip().rstrip(".")
    return reason[:1].lower() + reason[1:]


def check_target(path: str | os.PathLike) -> Path:
    """The file a save to `path` would replace (a symlink followed); SaveError if it must not be written."""
    if not os.fspath(path):
        raise cannot_save(None, "no file name was given")
    given = Path(path).expanduser()
    try:
        target = Path(os.path.realpath(given)) if given.is_symlink() else given
        st = target.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:  # e.g. a name too long, a folder on the way that may not be entered
        raise cannot_save(given, describe_os_error(exc)) from exc
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise cannot_save(given, "it is a folder")
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise cannot_save(given, "it is not a regular file (a pipe, socket or device)")
    if not target.parent.is_dir():
        raise cannot_save(given, f"the folder {target.parent} does not exist")
    return target


class WholeOrNothing(ABC):
    """A writer over an AtomicFile (`_file`) used as a context manager: leaving the block normally closes it
    (the file is renamed into place), an exception aborts it (nothing is left behind)."""

    _file: AtomicFile

    @abstractmethod
    def close(self) -> Path:
        """Finish the file and rename it into place; its path."""

    @abstractmethod
    def abort(self) -> None:
        """Stop and leave nothing behind."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()
        elif not self._file.done:
            self.close()


class AtomicFile:
    """A temporary file beside `path` that becomes `path` at `commit()` and vanishes at `discard()`.

    Write to `temp_path` by name (libraries open it themselves) or through `fd`. The descriptor stays open
    until `commit`, which fsyncs what was written through any handle and sets the mode on it. Use as a
    context manager: leaving the block without `commit()` (an error, Ctrl+C) discards the file.
    """

    def __init__(self, path: str | os.PathLike):
        self._fd: int | None = None
        self._temp: Path | None = None  # None once committed or discarded
        self.given = Path(path).expanduser()  # what messages name: the path as the user gave it
        self.target = check_target(path)
        remove_stale_parts(self.target)
        prefix = f".{self.target.name[:_NAME_CHARS]}.{os.getpid()}."
        for _ in range(100):
            candidate = self.target.with_name(f"{prefix}{secrets.token_hex(4)}{PART_SUFFIX}")
            try:
                # 0600 while incomplete; the final mode is set by commit()
                flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
                self._fd = os.open(candidate, flags, 0o600)
            except FileExistsError:
                continue
            except OSError as exc:
                raise self.os_error(exc) from exc
            self._temp = candidate
            return
        raise cannot_save(self.given, "no free temporary name beside it")

    @property
    def temp_path(self) -> Path:
        """The file being written, until `commit` or `discard`."""
        if self._temp is None:
            raise cannot_save(self.given, "the file was already closed")
        return self._temp

    @property
    def fd(self) -> int:
        if self._fd is None:
            raise cannot_save(self.given, "the file was already closed")
        return self._fd

    @property
    def done(self) -> bool:
        """Committed or discarded."""
        return self._temp is None

    def commit(self) -> Path:
        """fsync, set the mode, rename over the target, fsync the folder. On failure nothing is left."""
        if self._temp is None:
            raise cannot_save(self.given, "the file was already closed")
        try:
            self._set_mode(self.fd)
            os.fsync(self.fd)
            self._close_fd()  # before the rename: Windows cannot rename a file that is open
            check_target(self.target)  # still a regular file or absent (it could have changed meanwhile)
            self._temp.replace(self.target)
            self._temp = None
        except OSError as exc:
            self.discard()
            raise self.os_error(exc) from exc
        except SaveError:
            self.discard()
            raise
        _sync_folder(self.target.parent)
        return self.target

    def discard(self) -> None:
        """Remove the temporary file (safe to call more than once, and after commit)."""
        self._close_fd()
        if self._temp is None:
            return
        try:
            self._temp.unlink(missing_ok=True)
        except OSError:  # the folder itself is gone or went read-only; the next save cleans up
            log.warning("could not remove %s", self._temp)
        self._temp = None

    def os_error(self, exc: OSError) -> SaveError:
        """The SaveError for an OSError met writing this file."""
        return cannot_save(self.given, describe_os_error(exc))

    def failure(self, exc: BaseException) -> SaveError | None:
        """The SaveError for `exc`, raised while writing, where the system can tell why; else None (the
        caller words the library's own message). Libraries hide the errno: libsndfile reports every failed
        write as "System error", so what the file system says now stands in. Call it before `discard()`,
        which frees the space and forgets the file."""
        if isinstance(exc, SaveError):
            return exc
        if isinstance(exc, OSError):  # Python's own writes, and PyAV's errors (OSErrors with their errno)
            return self.os_error(exc)
        reason = self._file_system_reason()
        return cannot_save(self.given, reason) if reason else None

    def _file_system_reason(self) -> str:
        try:
            fs = os.statvfs(self.target.parent)
        except OSError:
            return ""
        if fs.f_flag & os.ST_RDONLY:
            return "read-only file system"
        if fs.f_bavail == 0:
            return "no space left on device"
        try:
            import resource

            limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
            if limit != resource.RLIM_INFINITY and os.fstat(self.fd).st_size >= limit:
                return "file too large"
        except (ImportError, OSError, SaveError):
            pass
        return ""

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

    def _close_fd(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.discard()

    def __del__(self):
        # A writer dropped without commit/discard (e.g. a crashed worker thread) must not leave a stray temp.
        try:
            self.discard()
        except Exception:  # noqa: BLE001, S110 - at interpreter shutdown os/pathlib may already be gone
            pass


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """`data` saved to `path` whole or not at all; SaveError if it cannot be."""
    with AtomicFile(path) as f:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(f.fd, view) :]
        except OSError as exc:
            raise f.os_error(exc) from exc
        return f.commit()


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """`text` saved as UTF-8 to `path` whole or not at all (small files: settings, JSON, metadata)."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def remove_stale_parts(target: Path) -> list[Path]:
    """Delete `.part` files of earlier saves to `target` whose process is gone; returns what went."""
    pattern = re.compile(rf"\.{re.escape(target.name[:_NAME_CHARS])}\.(\d+)\.[0-9a-f]{{8}}\.part")
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        m = pattern.fullmatch(entry.name)
        if m and not _alive(int(m.group(1))) and entry.is_file(follow_symlinks=False):
            try:
                Path(entry.path).unlink()
            except OSError:
                continue
            removed.append(Path(entry.path))
            log.info("removed %s, left by a save that was killed", entry.path)
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
        with Path("/proc/self/status").open(encoding="ascii") as f:
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
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
