"""Small JSON files of the user's own making (saved blends, the lexicon): read leniently, written whole.

A file is replaced only once its new content is complete on disk (temp file, fsync, rename), so a crash or
a full disk leaves the previous version, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from fasttts_desktop.engine.types import EngineError


def read_json(path: Path, default):
    """The file's JSON value; `default` when the file does not exist. Unreadable JSON is a one-line error
    (the file is left as it is, so nothing the user wrote is lost)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return default
    except (OSError, UnicodeDecodeError) as exc:
        raise EngineError(f"Cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise EngineError(f"{path} is not valid JSON (line {exc.lineno}): fix or remove it") from exc


def write_json_atomic(path: Path, value) -> None:
    """Write `value` as indented UTF-8 JSON; the file appears only once complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(value, ensure_ascii=False, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise EngineError(f"Cannot save {path}: {exc.strerror or exc}") from exc
