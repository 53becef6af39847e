"""Small JSON files of the user's own making (saved blends, the lexicon): read leniently, written whole.

A file is replaced only once its new content is complete on disk (storage/files.py), so a crash or a full
disk leaves the previous version, never half of one.
"""

from __future__ import annotations

import json
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
