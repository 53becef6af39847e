"""The one exception export raises: a line the CLI prints and the window shows as is."""

from __future__ import annotations

from fasttts_desktop.engine.types import EngineError


class ExportError(EngineError):
    """Unknown format, a place that cannot be written, or an encoder that failed: one clear line."""
