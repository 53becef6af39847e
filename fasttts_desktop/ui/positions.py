"""Where the user stopped in each document: the last sentence heard, kept in a small JSON file.

No Qt. Keyed by the document's path and a hash of its text, so an edited or replaced file starts afresh
and the same book at another path is another book (a copy may be a different edition). The file is
written whole or not at all (engine/storage/files.py), and a damaged one is ignored, never fatal.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

import platformdirs

from fasttts_desktop.engine.storage.files import SaveError, write_text_atomic
from fasttts_desktop.engine.storage.paths import APP_NAME

log = logging.getLogger(__name__)

KEEP = 200  # documents remembered; the least recently read are forgotten first
_FORMAT = 1


def default_path() -> Path:
    """positions.json in the user config dir (e.g. ~/.config/fasttts-desktop)."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "positions.json"


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class PositionStore:
    def __init__(self, path: Path | None = None, keep: int = KEEP):
        self.path = Path(path) if path is not None else default_path()
        self.keep = keep
        self._loaded: dict[str, dict] | None = None  # read on first use, not when the window opens
        self._dirty = False

    @property
    def _entries(self) -> dict[str, dict]:
        if self._loaded is None:
            self._loaded = self._read()
        return self._loaded

    @staticmethod
    def _key(path: str, digest: str) -> str:
        return f"{digest}:{Path(path).resolve()}"

    def get(self, path: str, digest: str) -> int | None:
        entry = self._entries.get(self._key(path, digest))
        offset = entry.get("offset") if isinstance(entry, dict) else None
        return offset if isinstance(offset, int) and offset > 0 else None

    def put(self, path: str, digest: str, offset: int) -> None:
        """Remember `offset` (0 forgets the document: it was read to the end or started over)."""
        key = self._key(path, digest)
        if offset > 0:
            self._entries[key] = {"path": str(Path(path).resolve()), "offset": offset, "time": time.time()}
            self._dirty = True
        elif self._entries.pop(key, None) is not None:
            self._dirty = True

    def flush(self) -> None:
        if not self._dirty:
            return
        newest = sorted(self._entries.items(), key=lambda kv: kv[1].get("time", 0), reverse=True)
        self._loaded = dict(newest[: self.keep])
        data = json.dumps({"format": _FORMAT, "documents": self._entries}, ensure_ascii=False, indent=1)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.path, data)
        except (OSError, SaveError) as exc:
            # Losing a bookmark is not worth interrupting the reading for; the log says why.
            log.warning("could not save reading positions to %s: %s", self.path, exc)
            return
        self._dirty = False

    def _read(self) -> dict[str, dict]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable reading positions in %s: %s", self.path, exc)
            return {}
        documents = data.get("documents") if isinstance(data, dict) else None
        if not isinstance(documents, dict) or data.get("format") != _FORMAT:
            log.warning("ignoring reading positions of an unknown shape in %s", self.path)
            return {}
        return {k: v for k, v in documents.items() if isinstance(v, dict)}
