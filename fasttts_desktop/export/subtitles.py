"""SRT and WebVTT files written cue by cue as chunks arrive, whole or not at all (engine/storage/files.py)."""

from __future__ import annotations

import os
from pathlib import Path

from fasttts_desktop.engine.storage.files import AtomicFile, WholeOrNothing
from fasttts_desktop.engine.types import AudioChunk
from fasttts_desktop.export.cues import Cue, chunk_cues
from fasttts_desktop.export.errors import ExportError

SUBTITLE_FORMATS = ("srt", "vtt")
_EXTENSIONS = {".srt": "srt", ".vtt": "vtt", ".webvtt": "vtt"}


def subtitle_format_for(path: str | os.PathLike, format: str | None = None) -> str:
    if format:
        key = format.strip().lower().lstrip(".")
        key = {"webvtt": "vtt"}.get(key, key)
        if key not in SUBTITLE_FORMATS:
            raise ExportError(f"Unknown subtitle format {format!r}; choose srt or vtt.")
        return key
    ext = Path(path).suffix.lower()
    if ext not in _EXTENSIONS:
        shown = f"extension {ext!r}" if ext else "no extension"
        raise ExportError(
            f"Cannot tell the subtitle format of {Path(path).name} ({shown}); use .srt or .vtt."
        )
    return _EXTENSIONS[ext]


def timestamp(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def format_cue(cue: Cue, number: int, fmt: str) -> str:
    start, end = round(cue.start_s, 3), max(round(cue.end_s, 3), round(cue.start_s, 3) + 0.001)
    if fmt == "srt":
        return f"{number}\n{timestamp(start, ',')} --> {timestamp(end, ',')}\n{cue.text}\n\n"
    # WebVTT cue text is markup: &, < and > must be escaped, and "-->" may not appear.
    text = cue.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"{number}\n{timestamp(start, '.')} --> {timestamp(end, '.')}\n{text}\n\n"


class SubtitleWriter(WholeOrNothing):
    """Feed it each chunk with where its audio starts in the file; `close()` puts the file in place."""

    def __init__(self, path: str | os.PathLike, format: str | None = None):
        self.format = subtitle_format_for(path, format)
        self._file = AtomicFile(path)
        self.path = self._file.target
        self.cues_written = 0
        try:
            # open across add_chunk calls, closed in close() or abort()
            self._out = self._file.temp_path.open("w", encoding="utf-8", newline="\n")
            if self.format == "vtt":
                self._out.write("WEBVTT\n\n")
        except OSError as exc:
            error = self._file.os_error(exc)
            self._file.discard()
            raise error from exc

    def add_chunk(self, chunk: AudioChunk, offset_s: float) -> None:
        if self._file.done:
            raise ExportError(f"{self.path} is already closed.")
        try:
            for cue in chunk_cues(chunk, offset_s):
                self.cues_written += 1
                self._out.write(format_cue(cue, self.cues_written, self.format))
        except OSError as exc:
            error = self._file.os_error(exc)
            self.abort()
            raise error from exc

    def close(self) -> Path:
        if self._file.done:
            raise ExportError(f"{self.path} is already closed.")
        try:
            self._out.close()
        except OSError as exc:
            error = self._file.os_error(exc)
            self.abort()
            raise error from exc
        return self._file.commit()

    def abort(self) -> None:
        try:
            self._out.close()
        except OSError:
            pass
        self._file.discard()
