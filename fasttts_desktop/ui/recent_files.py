"""File > Open Recent: the last documents opened, newest first, kept in QSettings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal

KEEP = 10
_KEY = "recent/files"


class RecentFiles(QObject):
    changed = Signal()

    def __init__(self, settings: QSettings, parent: QObject | None = None):
        super().__init__(parent)
        self._settings = settings

    def paths(self) -> list[str]:
        value = self._settings.value(_KEY, [])
        if isinstance(value, str):  # QSettings (INI) hands back a one-item list as a bare string
            value = [value]
        return [str(p) for p in value if p] if isinstance(value, list) else []

    def add(self, path: str) -> None:
        path = str(Path(path).resolve())
        self._store([path] + [p for p in self.paths() if p != path])

    def remove(self, path: str) -> None:
        self._store([p for p in self.paths() if p != str(Path(path).resolve())])

    def clear(self) -> None:
        self._store([])

    def _store(self, paths: list[str]) -> None:
        self._settings.setValue(_KEY, paths[:KEEP])
        self.changed.emit()
