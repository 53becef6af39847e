"""EPUB 3 read-along books: the text, its speech, and media overlays that tie each sentence to its audio.

`say -f book.epub -o book-readalong.epub` and the window's Export… write one: per chapter an XHTML page
(every sentence a <span id="sN">, every word inside it a <span id="wN">), an MP3 of that chapter, and a
SMIL file whose <par>s pair each sentence with its clip of the MP3. Reading systems with media overlays
(Thorium, Apple Books, BookFusion…) then play the book and light each sentence as it is heard.

The chapters' audio is written as the engine speaks, into a temporary folder (an MP3 per chapter, each
normalised like any export); the word timings are kept (a few numbers a word). At `close()` the pages,
the SMIL files, the navigation document and the package file are made and everything is zipped into the
target, whole or not at all. A sentence's clip runs from its first word's start to the next sentence's,
so the clips of a chapter tile its audio and pauses are heard, not skipped.
"""

from __future__ import annotations

import bisect
import os
import shutil
import tempfile
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from fasttts_desktop.engine.files import AtomicFile, WholeOrNothing
from fasttts_desktop.engine.text.chunking import sentences
from fasttts_desktop.engine.types import AudioChunk
from fasttts_desktop.export.audio import AudioWriter, open_audio_writer
from fasttts_desktop.export.cues import word_spans
from fasttts_desktop.export.errors import ExportError
from fasttts_desktop.export.tags import BookInfo

READALONG_SUFFIXES = (".epub",)
ACTIVE_CLASS = "-epub-media-overlay-active"
_LANGUAGES = {"a": "en-US", "b": "en-GB", "e": "es", "f": "fr", "h": "hi", "i": "it", "j": "ja", "p": "pt-BR"}
_LANGUAGES["z"] = "zh"
_LATIN_AS_ENGLISH = ("j", "z", "h")
_NON_LATIN = 0x250  # past Latin Extended-B
_CSS = f""".{ACTIVE_CLASS} {{ background-color: #ffe28a; color: inherit; }}
body {{ line-height: 1.5; }}
"""


def is_readalong(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in READALONG_SUFFIXES


def clock(seconds: float) -> str:
    """SMIL's full clock value, H:MM:SS.mmm."""
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    return f"{h}:{m:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


@dataclass
class _Section:
    title: str
    start: int  # its text is text[start:end]
    end: int
    heading: bool  # its first paragraph is the chapter's heading
    words: list[tuple[int, int, float, float]] = field(default_factory=list)  # text offsets, seconds
    seconds: float = 0.0  # its audio's length (0: nothing was spoken in it)


def _sections(text: str, chapters, title: str) -> list[_Section]:
    marks = sorted((max(0, min(len(text), int(o))), str(t)) for o, t in chapters)
    out: list[_Section] = []
    if not marks or text[: marks[0][0]].strip():
        out.append(_Section(title, 0, marks[0][0] if marks else len(text), heading=False))
    for i, (offset, name) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else len(text)
        if end > offset:
            out.append(_Section(" ".join(name.split()) or f"Chapter {i + 1}", offset, end, heading=True))
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
                self._pack(book)
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

    # --- the package ---

    def _pack(self, book: zipfile.ZipFile) -> None:
        # the mimetype entry first and uncompressed: how a reading system knows the zip is an EPUB
        book.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        deflated = zipfile.ZIP_DEFLATED
        book.writestr("META-INF/container.xml", _CONTAINER, compress_type=deflated)
        book.writestr("OEBPS/style.css", _CSS, compress_type=deflated)
        spoken = [(i + 1, s) for i, s in enumerate(self.sections)]
        for n, section in spoken:
            page, clips = self._page(n, section)
            book.writestr(f"OEBPS/chapter_{n}.xhtml", page, compress_type=deflated)
            if section.seconds:
                book.writestr(f"OEBPS/chapter_{n}.smil", _smil(n, clips), compress_type=deflated)
                book.write(self._folder / f"chapter_{n}.mp3", f"OEBPS/audio/chapter_{n}.mp3")
        if self.info.cover is not None:
            book.writestr(f"OEBPS/cover{_cover_ext(self.info.cover.mime)}", self.info.cover.data)
        book.writestr("OEBPS/nav.xhtml", self._nav(spoken), compress_type=deflated)
        book.writestr("OEBPS/content.opf", self._opf(spoken), compress_type=deflated)

    def _page(self, n: int, section: _Section) -> tuple[str, list[tuple[str, float, float]]]:
        """The chapter's XHTML, and (sentence id, clip begin, clip end) for each sentence heard."""
        text = self.text
        words = section.words
        word_starts = [w[0] for w in words]
        body: list[str] = []
        paragraph: list[str] = []
        timed: list[tuple[str, float]] = []
        first = True
        for k, sentence in enumerate(sentences(text[: section.end], section.start), 1):
            sid = f"s{k}"
            lo = bisect.bisect_left(word_starts, sentence.start)
            hi = bisect.bisect_left(word_starts, sentence.end)
            inside = [w for w in words[lo:hi] if w[1] <= sentence.end]
            if inside:
                timed.append((sid, min(w[2] for w in inside)))
            paragraph.append(
                f'<span id="{sid}">{_marked(text, sentence.start, sentence.end, inside, k)}</span>'
            )
            if sentence.ends_paragraph:
                tag = "h1" if first and section.heading else "p"
                body.append(f"<{tag}>{' '.join(paragraph)}</{tag}>")
                paragraph, first = [], False
        if paragraph:
            body.append(f"<p>{' '.join(paragraph)}</p>")
        clips: list[tuple[str, float, float]] = []
        for i, (sid, begin) in enumerate(timed):
            start = 0.0 if i == 0 else max(begin, clips[-1][1])
            end = timed[i + 1][1] if i + 1 < len(timed) else section.seconds
            clips.append((sid, min(start, section.seconds), min(max(end, start), section.seconds)))
        page = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
            f'<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" '
            f'lang="{self.language}" xml:lang="{self.language}">\n'
            f'<head><meta charset="utf-8"/><title>{escape(section.title)}</title>'
            '<link rel="stylesheet" type="text/css" href="style.css"/></head>\n'
            f'<body><section epub:type="chapter" id="chapter_{n}">\n'
            + "\n".join(body)
            + "\n</section></body>\n</html>\n"
        )
        return page, clips

    def _nav(self, spoken: list[tuple[int, _Section]]) -> str:
        items = "\n".join(f'<li><a href="chapter_{n}.xhtml">{escape(s.title)}</a></li>' for n, s in spoken)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
            '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" '
            f'lang="{self.language}" xml:lang="{self.language}">\n'
            f'<head><meta charset="utf-8"/><title>{escape(self._title())}</title></head>\n'
            f'<body><nav epub:type="toc" id="toc"><h1>Contents</h1><ol>\n{items}\n</ol></nav></body>\n'
            "</html>\n"
        )

    def _opf(self, spoken: list[tuple[int, _Section]]) -> str:
        info = self.info
        meta = [
            f'<dc:identifier id="book-id">urn:uuid:{uuid.uuid4()}</dc:identifier>',
            f"<dc:title>{escape(self._title())}</dc:title>",
            f"<dc:language>{self.language}</dc:language>",
            f'<meta property="dcterms:modified">{datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}</meta>',
        ]
        if info.author:
            meta.append(f"<dc:creator>{escape(info.author)}</dc:creator>")
        if info.narrator:
            meta.append(f'<meta property="media:narrator">{escape(info.narrator)}</meta>')
        meta.append(f'<meta property="media:active-class">{ACTIVE_CLASS}</meta>')
        items = [
            '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>',
            '<item id="css" href="style.css" media-type="text/css"/>',
        ]
        if info.cover is not None:
            items.append(
                f'<item id="cover" href="cover{_cover_ext(info.cover.mime)}" '
                f'media-type="{info.cover.mime}" properties="cover-image"/>'
            )
        spine = []
        for n, s in spoken:
            overlay = f' media-overlay="mo{n}"' if s.seconds else ""
            items.append(
                f'<item id="c{n}" href="chapter_{n}.xhtml" media-type="application/xhtml+xml"{overlay}/>'
            )
            if s.seconds:
                items.append(f'<item id="mo{n}" href="chapter_{n}.smil" media-type="application/smil+xml"/>')
                items.append(f'<item id="a{n}" href="audio/chapter_{n}.mp3" media-type="audio/mpeg"/>')
                meta.append(f'<meta property="media:duration" refines="#mo{n}">{clock(s.seconds)}</meta>')
            spine.append(f'<itemref idref="c{n}"/>')
        # the book's duration is the sum of its overlays' (EPUB Media Overlays 3.3, 4.4)
        total = sum(round(s.seconds * 1000) for _, s in spoken) / 1000
        meta.append(f'<meta property="media:duration">{clock(total)}</meta>')
        nl = "\n    "
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="book-id" '
            f'xml:lang="{self.language}">\n'
            f'  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">\n    {nl.join(meta)}\n  </metadata>\n'
            f"  <manifest>\n    {nl.join(items)}\n  </manifest>\n"
            f"  <spine>\n    {nl.join(spine)}\n  </spine>\n</package>\n"
        )

    def _title(self) -> str:
        return self.info.title or self.path.stem


def _marked(
    text: str, start: int, end: int, words: list[tuple[int, int, float, float]], sentence: int
) -> str:
    """text[start:end] escaped, each word wrapped in <span id="wS-N">."""
    out = []
    pos = start
    for i, (a, b, _, _) in enumerate(words, 1):
        if a < pos or b > end:
            continue
        out.append(escape(text[pos:a]))
        out.append(f'<span id="w{sentence}-{i}">{escape(text[a:b])}</span>')
        pos = b
    out.append(escape(text[pos:end]))
    return " ".join("".join(out).split())


def _smil(n: int, clips: list[tuple[str, float, float]]) -> str:
    pars = "\n".join(
        f'<par id="c{n}-{sid}"><text src="chapter_{n}.xhtml#{sid}"/>'
        f'<audio src="audio/chapter_{n}.mp3" clipBegin="{clock(a)}" clipEnd="{clock(b)}"/></par>'
        for sid, a, b in clips
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<smil xmlns="http://www.w3.org/ns/SMIL" xmlns:epub="http://www.idpf.org/2007/ops" version="3.0">\n'
        f'<body><seq id="seq{n}" epub:textref="chapter_{n}.xhtml#chapter_{n}" epub:type="chapter">\n'
        f"{pars}\n</seq></body>\n</smil>\n"
    )


def _cover_ext(mime: str) -> str:
    return ".png" if mime == "image/png" else ".jpg"


_CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>
"""


def export_readalong(
    chunks,
    path: str | os.PathLike,
    text: str,
    *,
    chapters=(),
    info: BookInfo | None = None,
    lang_code: str = "a",
    loudness: float | None = None,
    progress=None,
    cancel=None,
):
    """export_utterance's counterpart for a read-along EPUB: the same progress, cancel and result."""
    from fasttts_desktop.engine.types import Cancelled
    from fasttts_desktop.export.job import ExportResult

    stopped = cancel or (lambda: False)
    count = 0
    with ReadAlongWriter(
        path, text, chapters=chapters, info=info, lang_code=lang_code, loudness=loudness
    ) as writer:
        for chunk in chunks:
            if stopped():
                raise Cancelled
            writer.add_chunk(chunk)
            count += 1
            if progress is not None:
                progress(
                    f"Exporting {writer.path.name}", (chunk.index + 1) / max(chunk.total, chunk.index + 1)
                )
        if stopped():
            raise Cancelled
        seconds = writer.seconds
        book = writer.close()
    marks = [(s.title, 0.0) for s in writer.sections if s.seconds]
    return ExportResult(book, None, seconds, count, marks)
