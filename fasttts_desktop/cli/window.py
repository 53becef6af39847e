"""Checks made before the window's Qt starts: a document PATH that is not there (often a mistyped command)
and a session with no display, each one line and exit status 2 instead of Qt's abort (SIGABRT, a core).
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

# Qt platform plugins that draw without a desktop session (tests, kiosks, remote framebuffers)
_NEEDS_NO_SESSION = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay")


def missing_path(path: str, commands: Sequence[str]) -> str | None:
    """The one line for a document PATH that does not exist (None if it does): a word close to a command
    is named as a mistyped command."""
    if Path(path).expanduser().exists():
        return None
    close = difflib.get_close_matches(path, commands, n=1, cutoff=0.6)
    if close:
        return f"unknown command or missing file {path!r} (did you mean {close[0]!r}?)"
    if os.sep not in path and "." not in path:
        return f"unknown command or missing file {path!r} (commands: {', '.join(commands)})"
    return f"{path}: no such file"


def no_display() -> str | None:
    """The one line for a session the window cannot show in (None where it can, or where Qt is told to
    draw elsewhere): on X11/Wayland systems, neither DISPLAY nor WAYLAND_DISPLAY is set."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return None  # macOS and Windows always have their own window system
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip().lower()
    if platform in _NEEDS_NO_SESSION:
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        "no display found (neither DISPLAY nor WAYLAND_DISPLAY is set): the window needs a desktop "
        "session; `fasttts-desktop say TEXT -o FILE` works without one"
    )
