"""Where the app keeps what it can rebuild (converted weights) and what it writes for people (logs)."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "fasttts-desktop"


def cache_dir() -> Path:
    """The user cache dir, e.g. ~/.cache/fasttts-desktop: safe to delete, rebuilt on demand."""
    path = Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    """The user log dir, e.g. ~/.local/state/fasttts-desktop/log."""
    path = Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path
