"""Files that appear whole or not at all: written under a temporary name beside the target, then renamed.

Every export writer goes through `AtomicFile`, so the rules live in one place:
- the temporary file is in the target's own folder (os.replace is atomic only within one file system);
- only a regular file or a new name is replaced: a folder, FIFO or device is refused up front (writing
  into a FIFO would block forever and a device would be overwritten in place);
- a symlink to a regular file is followed, so the file it points at is replaced and the link kept;
- a new file gets the mode any new file gets under the umask (created with 0o666, the kernel applies
  the umask); an existing file's permission bits are kept;
- the data is fsynced before the rename and the folder after it, so a crash leaves the old file or the
  new one, never a torn one.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from fasttts_desktop.export.errors import ExportError

TEMP_SUFFIX = ".part"


def describe_os_error(target: Path, exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return f"Cannot save to {target}: permission denied."
    return f"Cannot save to {target}: {exc.strerror or exc}."


def check_target(path: str | os.PathLike) -> Path:
    """The path a writer will replace (symlinks to regular files resolved); ExportError if it may not."""
    target = Path(path).expanduser()
    if not target.name:
        raise ExportError(f"Cannot save to {path!s}: no file name given.")
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise ExportError(describe_os_error(target, exc)) from exc
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise ExportError(f"Cannot save to {target}: it is a folder.")
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise ExportError(f"Cannot save to {target}: it is not a regular file (a pipe, socket or device).")
    folder = target.parent
    if not folder.is_dir():
        raise ExportError(f"Cannot save to {target}: the folder {folder} does not exist.")
    return target


class AtomicFile:
    """A temporary file beside `path` that becomes `path` on `commit()` and vanishes on `discard()`.

    Libraries open `temp_path` by name and write through their own handles; the descriptor opened here
    stays open so `commit` can fsync what they wrote to that same file after they closed theirs.
    """

    def __init__(self, path: str | os.PathLike):
        self.target = check_target(path)
        self._keep_mode = None
        if self.target.exists():
            self._keep_mode = stat.S_IMODE(os.stat(self.target).st_mode)
        self._fd: int | None = None
        self.temp_path: Path | None = None
        for _ in range(100):
            candidate = self.target.with_name(f".{self.target.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
            try:
                flags = (
                    os.O_RDWR
                    | os.O_CREAT
                    | os.O_EXCL
                    | getattr(os, "O_CLOEXEC", 0)
                    | getattr(os, "O_BINARY", 0)
                )
                self._fd = os.open(candidate, flags, 0o666)
            except FileExistsError:
                continue
            except OSError as exc:
                raise ExportError(describe_os_error(self.target, exc)) from exc
            self.temp_path = candidate
            break
        else:
            raise ExportError(f"Cannot save to {self.target}: no free temporary name beside it.")

    @property
    def done(self) -> bool:
        return self.temp_path is None

    def commit(self) -> Path:
        """fsync, rename over the target, fsync the folder. On failure the temporary file is removed."""
        if self.temp_path is None:
            raise ExportError(f"Cannot save to {self.target}: the file was already closed.")
        try:
            assert self._fd is not None
            os.fsync(self._fd)
            self._close_fd()  # before the rename: Windows cannot rename a file that is open
            if self._keep_mode is not None:
                os.chmod(self.temp_path, self._keep_mode)
            check_target(self.target)  # still a regular file or absent (it could have changed meanwhile)
            os.replace(self.temp_path, self.target)
            self.temp_path = None
            _fsync_folder(self.target.parent)
        except OSError as exc:
            self.discard()
            raise ExportError(describe_os_error(self.target, exc)) from exc
        except ExportError:
            self.discard()
            raise
        finally:
            self._close_fd()
        return self.target

    def discard(self) -> None:
        """Remove the temporary file (safe to call more than once, and after commit)."""
        self._close_fd()
        if self.temp_path is not None:
            self.temp_path.unlink(missing_ok=True)
            self.temp_path = None

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self):
        # A writer dropped without close/abort (e.g. a crashed worker thread) must not leave a stray temp.
        try:
            self.discard()
        except Exception:  # noqa: BLE001, S110 - at interpreter shutdown os/pathlib may already be gone
            pass


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # not every platform/file system lets a folder be opened; the rename is done regardless
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
