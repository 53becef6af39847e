"""EPUB 3 read-along books: the text, its speech, and media overlays that tie each sentence to its audio.

`say -f book.epub -o book-readalong.epub` and the window's Export… write one: per chapter an XHTML page
(every sentence a <span id="sN">, every word inside it a <span id="wN">), an MP3 of that chapter, and a
SMIL file whose <par>s pair each sentence with its clip of the MP3. Reading systems with media overlays
(Thorium, Apple Books, BookFusion…) then play the book and light each sentence as it is heard.

The chapters' audio is written as the engine speaks, into a temporary folder (an MP3 per chapter, each
normalised like any export); the word timings are kept (a few numbers a word). At `close()` the pages,
the SMIL files, the navigation document and the package file are made and everything is zipped into the
target, whole or not at all (the files inside: readalong_package.py).
"""

from __future__ import annotations

import bisect
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from fasttts_desktop.engine.storage.files import AtomicFile, WholeOrNothing
from fasttts_desktop.engine.types import AudioChunk, Progress
from fasttts_desktop.export.audio import AudioWriter, open_audio_writer
from fasttts_desktop.export.cues import word_spans
from fasttts_desktop.export.errors import ExportError
from fasttts_desktop.export.job import ExportResult, feeding
from fasttts_desktop.export.readalong_package import BookPackage, Section
from fasttts_desktop.export.tags import BookInfo

READALONG_SUFFIXES = (".epub",)
_LANGUAGES = {"a": "en-US", "b": "en-GB", "e": "es", "f": "fr", "h": "hi", "i": "it", "j": "ja", "p": "pt-BR"}
_LANGUAGES["z"] = "zh"
_LATIN_AS_ENGLISH = ("j", "z", "h")
_NON_LATIN = 0x250  # past Latin Extended-B


def is_readalong(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in READALONG_SUFFIXES


def _sections(text: str, chapters, title: str) -> list[Section]:
    marks = sorted((max(0, min(len(text), int(o))), str(t)) for o, t in chapters)
    out: list[Section] = []
    if not marks or text[: marks[0][0]].strip():
        out.append(Section(title, 0, marks[0][0] if marks else len(text), heading=False))
    for i, (offset, name) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else len(text)
        if end > offset:
            out.append(Section(" ".join(name.split()) or f"Chapter {i + 1}", offset, end, heading=True))
    return out


class ReadAlongWriter(WholeOrNothing):
    """Feed it the engine's chunks of `text` (`add_chunk`); `close()` puts the EPUB in place."""

    def __init__(
        self,
        path: str | os.PathLike,
        text: str,
        *,
        chapters=(),
        info: BookInfo | None = None,
        lang_code: str = "a",
        loudness: float | None = None,
    ):
        self.text = text
        self.info = info or BookInfo()
        self.language = "en"
        self.set_language(lang_code)
        self.loudness = loudness
        self._file = AtomicFile(path)
        self.path = self._file.target
        self._folder = Path(tempfile.mkdtemp(prefix="fasttts-readalong-"))
        title = self.info.title or self.path.stem
        self.sections = _sections(text, chapters, title)
        self._starts = [s.start for s in self.sections]
        self._current = -1
        self._writer: AudioWriter | None = None
        self._done_s = 0.0  # audio in the chapters already closed
        self.samples_written = 0

    def set_language(self, lang_code: str) -> None:
        """The book's language: the document's own if it says, else the voice's (kokoro's one-letter
        codes), except that text in Latin letters alone is English under a Japanese, Mandarin or Hindi
        voice, as the engine reads it."""
        if self.info.language:
            self.language = self.info.language
        elif lang_code in _LATIN_AS_ENGLISH and all(ord(c) < _NON_LATIN for c in self.text if c.isalpha()):
            self.language = "en"
        else:
            self.language = _LANGUAGES.get(lang_code, "en")

    @property
    def seconds(self) -> float:
        return self._done_s + (self._writer.seconds if self._writer is not None else 0.0)

    def add_chunk(self, chunk: AudioChunk) -> None:
        if self._file.done:
            raise ExportError(f"{self.path} is already closed.")
        c = chunk.chunk
        first = c.start + len(c.text) - len(c.text.lstrip())  # a chunk may begin with the blank line before
        at = max(0, bisect.bisect_right(self._starts, first) - 1)
        while self._current < at:
            self._next_section()
        writer = self._writer
        if writer is None:  # never: _next_section opened it
            return
        section = self.sections[self._current]
        offset = writer.seconds
        base = chunk.chunk.start
        section.words.extend(
            (base + a, base + b, offset + t0, offset + t1) for a, b, t0, t1 in word_spans(chunk)
        )
        writer.write(chunk.audio)
        self.samples_written += len(chunk.audio)

    def _next_section(self) -> None:
        self._close_section()
        self._current += 1
        self._writer = open_audio_writer(
            self._folder / f"chapter_{self._current + 1}.mp3",
            title=self.sections[self._current].title,
            loudness=self.loudness,
            info=self.info,
        )

    def _close_section(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        if writer.samples_written:
            self.sections[self._current].seconds = writer.seconds
            self._done_s += writer.seconds
            writer.close()
        else:
            writer.abort()

    def close(self) -> Path:
        if self._file.done:
            raise ExportError(f"{self.path} is already closed.")
        try:
            self._close_section()
            if not any(s.seconds for s in self.sections):
                raise ExportError(f"Nothing to save to {self.path}: no audio was made.")
            with os.fdopen(os.dup(self._file.fd), "wb") as out, zipfile.ZipFile(out, "w") as book:
                BookPackage(
                    self.text, self.sections, self.info, self.language, self._title(), self._folder
                ).write(book)
        except OSError as exc:
            error = self._file.os_error(exc)
            self.abort()
            raise error from exc
        except BaseException:
            self.abort()
            raise
        shutil.rmtree(self._folder, ignore_errors=True)
        return self._file.commit()

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
            self._writer = None
        shutil.rmtree(self._folder, ignore_errors=True)
        self._file.discard()

    def _title(self) -> str:
        return self.info.title or self.path.stem


def export_readalong(
    chunks: Iterable[AudioChunk],
    writer: ReadAlongWriter,
    *,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> ExportResult:
    """export_utterance's counterpart for a read-along EPUB: `chunks` into `writer` (closed or aborted
    here either way), with the same progress, cancel and result."""
    count = 0
    with writer:
        for chunk in feeding(chunks, writer.path.name, progress, cancel):
            writer.add_chunk(chunk)
            count += 1
        seconds = writer.seconds
        book = writer.close()
    marks = [(s.title, 0.0) for s in writer.sections if s.seconds]
    return ExportResult(book, None, seconds, count, marks)
