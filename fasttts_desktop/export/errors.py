"""The one exception export raises: a line the CLI prints and the window shows as is."""

from __future__ import annotations

from fasttts_desktop.engine.storage.files import SaveError

# Unknown format, a place that cannot be written, or an encoder that failed. The same class as the file
# writer's (engine/storage/files.py), so "Cannot save to PATH: …" from any writer is caught, and reads, alike.
ExportError = SaveError
