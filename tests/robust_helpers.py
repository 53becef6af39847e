"""Real faults for the robustness tests: a full disk, a read-only folder, an unprivileged user.

Tests run as root on CI, and root ignores permission bits. So a read-only folder is a read-only tmpfs
mount (EROFS stops root too) where mounting is allowed, else a folder with its write bits off (which stops
anyone else); `unprivileged` drops this process's effective uid for a block. (A child process cannot run as
another user here: the interpreter lives under /root, which only root may enter.)
A full disk is a tiny tmpfs where mounting is allowed, else a file-size limit (RLIMIT_FSIZE, which the
kernel enforces the same way on any write; the error is then "File too large" instead of ENOSPC).
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NOBODY = 65534


def is_root() -> bool:
    return os.geteuid() == 0


def _mount(*args: str) -> bool:
    if not (is_root() and shutil.which("mount")):
        return False
    return subprocess.run(["mount", *args], capture_output=True, check=False).returncode == 0


@contextmanager
def read_only_folder(path: Path) -> Iterator[Path]:
    """An empty folder nobody (root included, where mounting is allowed) can write in."""
    path.mkdir(parents=True, exist_ok=True)
    if _mount("-t", "tmpfs", "-o", "ro,size=16k,mode=0755", "tmpfs", str(path)):
        try:
            yield path
        finally:
            subprocess.run(["umount", "-l", str(path)], check=False)
        return
    if is_root():
        import pytest

        pytest.skip("root without the right to mount cannot make a folder it cannot write")
    path.chmod(0o555)
    try:
        yield path
    finally:
        path.chmod(0o755)


@contextmanager
def unprivileged() -> Iterator[None]:
    """This process as `nobody` for the block (effective ids only, so root comes back after)."""
    if not is_root():
        yield
        return
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@contextmanager
def open_folder(prefix: str = "fasttts-robust-") -> Iterator[Path]:
    """A temp folder every user can enter and write (pytest's own is private to its user)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o777)
    try:
        yield path
    finally:
        for p in path.rglob("*"):  # a test may have locked some of it
            if p.is_dir() and not p.is_symlink():
                p.chmod(0o777)
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def full_disk(path: Path, size_kb: int = 64) -> Iterator[Path]:
    """A folder on which writing more than `size_kb` fails (see the module docstring)."""
    path.mkdir(parents=True, exist_ok=True)
    if _mount("-t", "tmpfs", "-o", f"size={size_kb}k,mode=0777", "tmpfs", str(path)):
        try:
            yield path
        finally:
            subprocess.run(["umount", "-l", str(path)], check=False)
        return
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write instead of death
    resource.setrlimit(resource.RLIMIT_FSIZE, (size_kb * 1024, old_limit[1]))
    try:
        yield path
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)


def full_disk_child_limit(size_kb: int):
    """preexec_fn for a child process writing to a `full_disk` folder that could not be mounted."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size_kb * 1024, resource.RLIM_INFINITY))

    return limit
