"""The files of a read-along EPUB 3 (export/readalong.py writes the audio, then has them made here): a page
per chapter with an id on every sentence and word, a SMIL file pairing each sentence with its clip of the
chapter's MP3, the navigation document and the package file with the media-overlay durations.

A sentence's clip runs from its first word's start to the next sentence's, so the clips of a chapter tile
its audio and pauses are heard, not skipped.
"""

from __future__ import annotations

import bisect
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from fasttts_desktop.engine.text.chunking import sentences
from fasttts_desktop.export.tags import BookInfo

ACTIVE_CLASS = "-epub-media-overlay-active"
_CSS = f""".{ACTIVE_CLASS} {{ background-color: #ffe28a; color: inherit; }}
body {{ line-height: 1.5; }}
"""


def clock(seconds: float) -> str:
    """SMIL's full clock value, H:MM:SS.mmm."""
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    return f"{h}:{m:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


@dataclass
class Section:
    title: str
    start: int  # its text is text[start:end]
    end: int
    heading: bool  # its first paragraph is the chapter's heading
    words: list[tuple[int, int, float, float]] = field(default_factory=list)  # text offsets, seconds
    seconds: float = 0.0  # its audio's length (0: nothing was spoken in it)


class BookPackage:
    def __init__(
        self, text: str, sections: list[Section], info: BookInfo, language: str, title: str, folder: Path
    ):
        self.text, self.sections, self.info = text, sections, info
        self.language, self.title, self.folder = language, title, folder

    def write(self, book: zipfile.ZipFile) -> None:
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
                book.write(self.folder / f"chapter_{n}.mp3", f"OEBPS/audio/chapter_{n}.mp3")
        if self.info.cover is not None:
            book.writestr(f"OEBPS/cover{_cover_ext(self.info.cover.mime)}", self.info.cover.data)
        book.writestr("OEBPS/nav.xhtml", self._nav(spoken), compress_type=deflated)
        book.writestr("OEBPS/content.opf", self._opf(spoken), compress_type=deflated)

    def _page(self, n: int, section: Section) -> tuple[str, list[tuple[str, float, float]]]:
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
        chapter = f'<section epub:type="chapter" id="chapter_{n}">\n' + "\n".join(body) + "\n</section>"
        style = '<link rel="stylesheet" type="text/css" href="style.css"/>'
        return _xhtml(self.language, section.title, chapter, head=style), clips

    def _nav(self, spoken: list[tuple[int, Section]]) -> str:
        items = "\n".join(f'<li><a href="chapter_{n}.xhtml">{escape(s.title)}</a></li>' for n, s in spoken)
        toc = f'<nav epub:type="toc" id="toc"><h1>Contents</h1><ol>\n{items}\n</ol></nav>'
        return _xhtml(self.language, self.title, toc)

    def _opf(self, spoken: list[tuple[int, Section]]) -> str:
        info = self.info
        meta = [
            f'<dc:identifier id="book-id">urn:uuid:{uuid.uuid4()}</dc:identifier>',
            f"<dc:title>{escape(self.title)}</dc:title>",
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


def _xhtml(language: str, title: str, body: str, head: str = "") -> str:
    """An XHTML content document of the book: `body` (markup) under `title` (text), `head` (markup) added."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" '
        f'lang="{language}" xml:lang="{language}">\n'
        f'<head><meta charset="utf-8"/><title>{escape(title)}</title>{head}</head>\n'
        f"<body>{body}</body>\n</html>\n"
    )


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
