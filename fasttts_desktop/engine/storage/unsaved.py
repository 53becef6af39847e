"""Folders that could not be made (an unwritable home: a read-only file system, a path under a file):
the app then works from a temporary folder for this run, and says so once, in one line.

Settings, the lexicon and saved blends found nowhere start empty and live in the temporary folder until
the process ends; the converted weights stay in memory (weights/store.py; the next start converts again).
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

_missing: dict[str, tuple[Path, str]] = {}  # what -> (the folder it belongs in, why it cannot be made)
_temp: list[Path] = []  # this run's stand-in folder, made on first need
_told: list[bool] = []


def stand_in(what: str, wanted: Path, exc: OSError) -> Path:
    """A temporary folder for `what` ("settings", "cache"…), which could not be kept in `wanted`."""
    from fasttts_desktop.engine.storage.files import describe_os_error

    if what not in _missing:
        _missing[what] = (wanted, describe_os_error(exc))
        log.info("Cannot make %s (%s): using a temporary folder for this run", wanted, _missing[what][1])
    if not _temp:
        _temp.append(Path(tempfile.mkdtemp(prefix="fasttts-desktop-")))
        atexit.register(shutil.rmtree, _temp[0], ignore_errors=True)
    folder = _temp[0] / what
    folder.mkdir(exist_ok=True)
    return folder


def notice() -> str:
    """The one line saying what cannot be saved and why, the first time it is asked for; "" after that
    or when everything has its place."""
    if not _missing or _told:
        return ""
    _told.append(True)
    parts = [f"{_WHAT.get(what, what)} in {folder} ({reason})" for what, (folder, reason) in _missing.items()]
    return f"Cannot save {' or '.join(parts)}: this run keeps them only until it ends."


def why(what: str) -> str:
    """The words "cannot save <what> in <folder> (<reason>)", for a `what` that has a stand-in."""
    folder, reason = _missing[what]
    return f"cannot save {_WHAT.get(what, what)} in {folder} ({reason})"


def is_stand_in(path: Path) -> bool:
    """Whether `path` lies in this run's temporary folder (what is written there is lost at exit)."""
    return bool(_temp) and path.is_relative_to(_temp[0])


_WHAT = {
    "config": "settings, the lexicon and saved blends",
    "cache": "the converted model",
}
