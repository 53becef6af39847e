"""Where the app keeps what it can rebuild (converted weights), what it writes for people (logs) and what
people make themselves (saved voice blends, the pronunciation lexicon).

FASTTTS_CACHE_DIR / FASTTTS_LOG_DIR / FASTTTS_CONFIG_DIR / FASTTTS_DATA_DIR override the platform defaults:
portable installs, and test runs that must neither touch nor depend on the user's own files.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from fasttts_desktop.engine.storage import unsaved

APP_NAME = "fasttts-desktop"


def _dir(override: str, default: str, what: str | None) -> Path:
    """The folder, made if missing; where it cannot be made, a temporary one for this run (unsaved.py)
    standing in for `what`, or OSError when `what` is None."""
    path = Path(os.environ.get(override) or default).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # e.g. a read-only home
        if what is None:
            raise
        return unsaved.stand_in(what, path, exc)
    return path


def cache_dir_path() -> Path:
    """Where the cache belongs, whether or not it exists or can be made."""
    default = platformdirs.user_cache_dir(APP_NAME, appauthor=False)
    return Path(os.environ.get("FASTTTS_CACHE_DIR") or default).expanduser()


def cache_dir() -> Path:
    """The user cache dir, e.g. ~/.cache/fasttts-desktop, made if missing: safe to delete, rebuilt on demand;
    a temporary folder for this run where it cannot be made (an unwritable home)."""
    default = platformdirs.user_cache_dir(APP_NAME, appauthor=False)
    return _dir("FASTTTS_CACHE_DIR", default, "cache")


def home_notice() -> str:
    """Make the folders a run needs (settings, cache) now, and the one line saying which of them cannot be
    saved and why ("" when all can, or once said)."""
    config_dir()
    cache_dir()
    return unsaved.notice()


def log_dir() -> Path:
    """The user log dir, e.g. ~/.local/state/fasttts-desktop/log; OSError where it cannot be made (the
    window then logs to the system's temp folder, where the log outlives the run)."""
    return _dir("FASTTTS_LOG_DIR", platformdirs.user_log_dir(APP_NAME, appauthor=False), None)


def config_dir() -> Path:
    """The user config dir, e.g. ~/.config/fasttts-desktop: the user's own work, never deleted by the app."""
    return _dir("FASTTTS_CONFIG_DIR", platformdirs.user_config_dir(APP_NAME, appauthor=False), "config")


def data_dir_path() -> Path:
    """The user data dir, e.g. ~/.local/share/fasttts-desktop (installed voices), whether or not it exists."""
    default = platformdirs.user_data_dir(APP_NAME, appauthor=False)
    return Path(os.environ.get("FASTTTS_DATA_DIR") or default).expanduser()
