"""`say`'s output file: an audio writer or a read-along EPUB, with the loudness, tags and cover asked for."""

from __future__ import annotations

import argparse

from fasttts_desktop.engine.types import EngineError
from fasttts_desktop.export.tags import BookInfo, gather_info


def book_info(args: argparse.Namespace, title: str | None) -> BookInfo:
    """Title, author and cover for the file (the narrator, the voice, is added once the engine knows it):
    `--author` and `--cover` when given, else what an EPUB being read says about itself."""
    return gather_info(title, author=args.author, cover_path=args.cover, source=args.file)


def loudness_of(args: argparse.Namespace) -> float | None:
    from fasttts_desktop.export.loudness import parse_loudness

    try:
        return parse_loudness(args.loudness)
    except ValueError as exc:
        raise EngineError(str(exc)) from None


def open_output(args: argparse.Namespace, given, info: BookInfo):
    """The writer for `-o`, opened now (a place that cannot be written is said before any work)."""
    from fasttts_desktop.export.audio import format_for, open_audio_writer
    from fasttts_desktop.export.readalong import ReadAlongWriter, is_readalong

    loudness = loudness_of(args)
    if is_readalong(args.output) and not args.format:
        if args.subtitles:
            raise EngineError("a read-along EPUB carries its own timings; --subtitles goes with audio files")
        return ReadAlongWriter(args.output, given.text, chapters=given.chapters, info=info, loudness=loudness)
    fmt = format_for(args.output, args.format, default="wav").name
    return open_audio_writer(args.output, format=fmt, title=info.title, loudness=loudness, info=info)
