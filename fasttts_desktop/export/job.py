"""Drive the audio and subtitle writers from the engine's chunk stream: one call per export."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fasttts_desktop.engine.types import AudioChunk, Cancelled, Progress
from fasttts_desktop.export.audio import AudioWriter, open_audio_writer
from fasttts_desktop.export.subtitles import SubtitleWriter
from fasttts_desktop.export.tags import BookInfo


@dataclass
class ExportResult:
    audio_path: Path
    subtitles_path: Path | None
    seconds: float  # length of the audio written
    chunks: int
    chapters: list[tuple[str, float]] = field(default_factory=list)  # (title, start in seconds)


def export_utterance(
    chunks: Iterable[AudioChunk],
    audio_path: str | os.PathLike | AudioWriter,
    *,
    subtitles_path: str | os.PathLike | None = None,
    chapters: Sequence[tuple[int, str]] = (),
    format: str | None = None,
    title: str | None = None,
    loudness: float | None = None,
    info: BookInfo | None = None,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> ExportResult:
    """Write `chunks` (e.g. `engine.stream(text, voice, batch=engine.export_batch)`) to `audio_path`,
    and subtitles to `subtitles_path` if given, as they arrive.

    `chapters`: (character offset into the text, title); each is marked at the first chunk whose text
    starts at or after its offset (stored in M4B/M4A, reported in the result for every format).
    Each file appears whole or not at all, and neither appears unless the whole stream was written (the
    subtitles are renamed into place right after the audio; only a failure between those two renames
    would leave the audio alone). `cancel` is polled between chunks; when it returns True nothing is
    left behind and Cancelled is raised. Errors: ExportError/EngineError, one line.
    `loudness` (LUFS) normalises the file, `info` tags it (export/loudness.py, export/tags.py).
    `audio_path` may be a writer opened already (the CLI opens it before loading the model, so a place it
    cannot write is said at once); it is closed or aborted here either way.
    """
    marks = sorted(chapters, key=lambda c: c[0])
    writer: AudioWriter = (
        audio_path
        if isinstance(audio_path, AudioWriter)
        else open_audio_writer(audio_path, format=format, title=title, loudness=loudness, info=info)
    )
    subs: SubtitleWriter | None = None
    try:
        if subtitles_path is not None:
            subs = SubtitleWriter(subtitles_path)
        next_mark = count = 0
        for chunk in feeding(chunks, writer.path.name, progress, cancel):
            while next_mark < len(marks) and marks[next_mark][0] <= chunk.chunk.start:
                writer.mark_chapter(marks[next_mark][1])
                next_mark += 1
            if subs is not None:
                subs.add_chunk(chunk, writer.seconds)
            writer.write(chunk.audio)
            count += 1
        audio = writer.close()
        written = subs.close() if subs is not None else None
        return ExportResult(audio, written, writer.seconds, count, writer.chapters)
    except BaseException:
        writer.abort()
        if subs is not None:
            subs.abort()
        raise


def feeding(
    chunks: Iterable[AudioChunk], name: str, progress: Progress | None, cancel: Callable[[], bool] | None
) -> Iterator[AudioChunk]:
    """`chunks` one by one into the file `name`, `progress` told after each is written. Cancelled is raised
    when `cancel` says so, before each and after the last: the engine's stream just ends when cancelled,
    and a short file must not be taken for a whole one."""
    stopped = cancel or (lambda: False)
    for chunk in chunks:
        if stopped():
            raise Cancelled
        yield chunk
        if progress is not None:
            progress(f"Exporting {name}", (chunk.index + 1) / max(chunk.total, chunk.index + 1))
    if stopped():
        raise Cancelled
