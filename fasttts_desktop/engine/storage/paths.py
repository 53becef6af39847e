"""Where the app keeps what it can rebuild (converted weights), what it writes for people (logs) and what
people make themselves (saved voice blends, the pronunciation lexicon).

FASTTTS_CACHE_DIR / FASTTTS_LOG_DIR / FASTTTS_CONFIG_DIR / FASTTTS_DATA_DIR override the platform defaults:
portable installs, and test runs that must neither touch nor depend on the user's own files.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "fasttts-desktop"


def _dir(override: str, default: str) -> Path:
    path = Path(os.environ.get(override) or default).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir_path() -> Path:
    """Where the cache belongs, whether or not it exists or can be made."""
    default = platformdirs.user_cache_dir(APP_NAME, appauthor=False)
    return Path(os.environ.get("FASTTTS_CACHE_DIR") or default).expanduser()


def cache_dir() -> Path:
    """The user cache dir, e.g. ~/.cache/fasttts-desktop, made if missing: safe to delete, rebuilt on demand.

    Raises OSError when it cannot be made (an unwritable home); callers then work without a cache.
    """
    path = cache_dir_path()
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    """The user log dir, e.g. ~/.local/state/fasttts-desktop/log."""
    return _dir("FASTTTS_LOG_DIR", platformdirs.user_log_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """The user config dir, e.g. ~/.config/fasttts-desktop: the user's own work, never deleted by the app."""
    return _dir("FASTTTS_CONFIG_DIR", platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir_path() -> Path:
    """The user data dir, e.g. ~/.local/share/fasttts-desktop (installed voices), whether or not it exists."""
    default = platformdirs.user_data_dir(APP_NAME, appauthor=False)
    return Path(os.environ.get("FASTTTS_DATA_DIR") or default).expanduser()
