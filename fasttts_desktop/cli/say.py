"""`say`'s work once the engine is up: audio into the file as it is made, progress on stderr, and a report
of anything not spoken."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

from fasttts_desktop.engine.storage.files import describe_os_error
from fasttts_desktop.engine.text.prepare import describe_unspoken
from fasttts_desktop.engine.text.segments import Reading
from fasttts_desktop.engine.types import AudioChunk, EngineError


def print_out(line: str) -> None:
    """A line on stdout, now; a stdout that cannot take it (a closed pipe, /dev/full) is one clear error."""
    try:
        print(line, flush=True)
    except OSError as exc:
        devnull = os.open(os.devnull, os.O_WRONLY)  # or Python fails again flushing it at exit
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        raise EngineError(f"cannot write to standard output: {describe_os_error(exc)}") from exc


def _warn(message: str) -> None:
    print(f"fasttts-desktop: warning: {message}", file=sys.stderr, flush=True)


class Progress:
    """Where synthesis is, on stderr: rewritten in place on a terminal, else a line every 10 % or 30 s."""

    def __init__(self, expected: int, stream=None):
        self.stream = stream or sys.stderr
        self.expected = max(1, expected)
        self.tty = self.stream.isatty()
        self.t0 = self.last_t = time.perf_counter()
        self.last_tenth = 0
        self.shown = False
        self.done = 0  # chunks written

    def update(self, chunk: AudioChunk, audio_s: float) -> None:
        self.done += 1
        done = chunk.index + 1
        total = max(self.expected, chunk.total, done)
        now = time.perf_counter()
        tenth = 10 * done // total
        if not self.tty and tenth == self.last_tenth and now - self.last_t < 30:
            return
        line = (
            f"... speaking: chunk {done} of ~{total} ({100 * done // total}%), "
            f"{audio_s:.1f} s of audio in {now - self.t0:.1f} s"
        )
        if self.tty:
            print(f"\r{line}\x1b[K", end="", file=self.stream, flush=True)
        else:
            print(line, file=self.stream, flush=True)
        self.last_tenth, self.last_t, self.shown = tenth, now, True

    def close(self) -> None:
        if self.tty and self.shown:
            print(file=self.stream, flush=True)


def speak_to_file(
    engine,
    text: str,
    voice: str | None,
    speed: float,
    writer,
    load_s: float,
    lang: str | None = None,
    *,
    subtitles: str | None = None,
    chapters: Sequence[tuple[int, str]] = (),
    reading: Reading | None = None,
) -> int:
    """Speak `text` into `writer` (an export AudioWriter) and close it, with subtitles beside it when asked
    and chapter marks ((offset, title): M4B/M4A keep them); print the summary and the report.

    `voice`: a voice, saved blend or blend spec; `lang`: the language to read in (default: the voice's)."""
    from dataclasses import replace

    from fasttts_desktop.export.job import export_utterance
    from fasttts_desktop.export.readalong import ReadAlongWriter

    v = engine.voice(voice)
    lang_code = engine.language(voice, lang)
    writer.info = replace(writer.info, narrator=v.name)  # the narrator of an audiobook is its voice
    if engine.notice:
        print(engine.notice, file=sys.stderr)
    for start, end, warning in engine.script_warnings(text, voice, lang):
        _warn(f"characters {start}-{end}: {warning}")
    if reading is not None:
        from fasttts_desktop.engine.segmented import reading_notices

        for notice in reading_notices(engine, text, reading, v.name):
            _warn(notice)
    progress = Progress(engine.estimate_chunks(text, lang_code=lang_code))
    t0 = time.perf_counter()
    first: list[float] = []
    unspoken: list[tuple[int, str]] = []
    failed: list[AudioChunk] = []

    def watched(chunks):
        for chunk in chunks:
            if not first:
                first.append(time.perf_counter() - t0)
            unspoken.extend(chunk.unspoken)
            if chunk.failed:
                failed.append(chunk)
            yield chunk
            progress.update(chunk, writer.seconds)

    try:
        stream = engine.stream(text, v.name, speed, batch=engine.export_batch, lang=lang, reading=reading)
        if isinstance(writer, ReadAlongWriter):
            writer.set_language(lang_code)
            result = None
            for chunk in watched(stream):
                writer.add_chunk(chunk)
        elif subtitles is None and not chapters:
            result = None
            for chunk in watched(stream):
                writer.write(chunk.audio)
        else:
            result = export_utterance(watched(stream), writer, subtitles_path=subtitles, chapters=chapters)
    finally:
        progress.close()
    total = time.perf_counter() - t0
    if result is None:
        if not writer.samples_written:
            raise EngineError("no audio could be made from this text; nothing was written")
        out = writer.close()
    else:
        out = result.audio_path
    seconds = writer.seconds
    extra = ""
    if result is not None and result.subtitles_path is not None:
        extra += f", subtitles {result.subtitles_path}"
    if result is not None and result.chapters:
        extra += f", {len(result.chapters)} chapter marks"
    if getattr(writer, "gain_db", None) is not None:
        extra += f", loudness normalised ({writer.gain_db:+.1f} dB)"
    chunks = progress.done
    print_out(
        f"wrote {out} ({seconds:.2f} s of audio, {chunks} chunk{'s' * (chunks != 1)}{extra}) · "
        f"voice {v.name} · {engine.description} · first chunk after {first[0] * 1000:.0f} ms · "
        f"real-time factor {total / seconds:.3f} ({seconds / total:.1f}x realtime) · "
        f"engine load {load_s:.1f} s"
    )
    for chunk in failed:
        c = chunk.chunk
        excerpt = c.text if len(c.text) <= 60 else c.text[:57] + "…"
        _warn(f"characters {c.start}-{c.end} could not be spoken ({chunk.failed}): {excerpt!r}")
    if unspoken:
        _warn(describe_unspoken(unspoken))
    return 0
