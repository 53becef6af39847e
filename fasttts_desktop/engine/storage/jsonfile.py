"""Small JSON files of the user's own making (saved blends, the lexicon): read leniently, written whole.

A file is replaced only once its new content is complete on disk (storage/files.py), so a crash or a full
disk leaves the previous version, never half of one. A change (read, modify, write) is made under an
exclusive lock on a file beside it (`locked`), so two processes changing it at once (two `lexicon add`,
the window and the CLI) both keep their change: the second reads what the first wrote.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fasttts_desktop.engine.storage.files import cannot_save, describe_os_error, write_text_atomic
from fasttts_desktop.engine.types import EngineError


def read_json(path: Path, default):
    """The file's JSON value; `default` when the file does not exist. Unreadable JSON is a one-line error
    (the file is left as it is, so nothing the user wrote is lost)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return default
    except (OSError, UnicodeDecodeError) as exc:
        reason = describe_os_error(exc) if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise EngineError(f"Cannot read {path}: {reason}.") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise EngineError(f"{path} is not valid JSON (line {exc.lineno}): fix or remove it") from exc


def write_json_atomic(path: Path, value) -> None:
    """Write `value` as indented UTF-8 JSON; the file appears only once complete. SaveError if it cannot."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_save(path, describe_os_error(exc)) from exc
    write_text_atomic(path, json.dumps(value, ensure_ascii=False, indent=2) + "\n")


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock for changing `path` (flock on `path` + ".lock", which stays behind: removing
    it would let a third process lock a new file while a second still holds the old one). Where no lock
    can be had (no fcntl, a folder that cannot be written), the change goes ahead unlocked and its write
    reports the real problem."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks
        yield
        return
    lock = path.with_name(path.name + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits for the other writer's read-modify-write to finish
        yield
    finally:
        os.close(fd)  # closing releases the lock
