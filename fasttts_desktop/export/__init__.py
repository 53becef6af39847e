"""Audio files and subtitles from the engine's chunk stream (no Qt: the CLI and the window's worker share it).

export_utterance(engine.stream(text, voice, batch=engine.export_batch), "book.m4b",
                 subtitles_path="book.vtt", chapters=[(0, "Chapter 1"), (5120, "Chapter 2")])
"""

from fasttts_desktop.engine.storage.files import check_target
from fasttts_desktop.export.audio import SUPPORTED_FORMATS, AudioWriter, format_for, open_audio_writer
from fasttts_desktop.export.errors import ExportError
from fasttts_desktop.export.job import ExportResult, export_utterance
from fasttts_desktop.export.subtitles import SUBTITLE_FORMATS, SubtitleWriter, subtitle_format_for

__all__ = [
    "SUBTITLE_FORMATS",
    "SUPPORTED_FORMATS",
    "AudioWriter",
    "ExportError",
    "ExportResult",
    "SubtitleWriter",
    "check_target",
    "export_utterance",
    "format_for",
    "open_audio_writer",
    "subtitle_format_for",
]
