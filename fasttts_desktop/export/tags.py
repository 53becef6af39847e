"""What a book file says about itself: title, author, narrator (the voice) and a cover picture.

M4B/M4A store all four (export/m4b_tags.py); the soundfile formats take the title and the author. A cover
is a JPEG or PNG, checked by its first bytes and its size before anything is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fasttts_desktop.engine.storage.files import describe_os_error
from fasttts_desktop.export.errors import ExportError

MAX_COVER_BYTES = 20 * 1024 * 1024  # a cover is a picture, not a payload


@dataclass(frozen=True)
class Cover:
    data: bytes
    mime: str  # "image/jpeg" or "image/png"


@dataclass(frozen=True)
class BookInfo:
    title: str | None = None
    author: str | None = None
    narrator: str | None = None
    cover: Cover | None = None
    language: str | None = None  # BCP 47, e.g. "en" (a read-along book's; else the voice's)


def cover_kind(data: bytes) -> str | None:
    """The picture's MIME type by its signature, or None if it is neither JPEG nor PNG."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def cover_from_bytes(data: bytes, name: str = "The cover") -> Cover:
    if len(data) > MAX_COVER_BYTES:
        raise ExportError(f"{name} is too large for a cover ({len(data) >> 20} MB; the limit is 20 MB).")
    mime = cover_kind(data)
    if mime is None:
        raise ExportError(f"{name} is not a JPEG or PNG picture; a cover must be one.")
    return Cover(data, mime)


def load_cover(path: str | os.PathLike) -> Cover:
    """A cover picture from a file (ExportError, one line, when it is missing, too large or not a picture)."""
    p = Path(path)
    try:
        if not p.is_file():
            raise ExportError(f"Cannot use {p.name} as a cover: it is not a file.")
        if p.stat().st_size > MAX_COVER_BYTES:
            raise ExportError(f"{p.name} is too large for a cover (the limit is 20 MB).")
        data = p.read_bytes()
    except OSError as exc:
        raise ExportError(f"Cannot read the cover {p.name}: {describe_os_error(exc)}.") from None
    return cover_from_bytes(data, p.name)


def gather_info(
    title: str | None,
    *,
    author: str | None = None,
    cover_path: str | os.PathLike | None = None,
    source: str | os.PathLike | None = None,
    narrator: str | None = None,
) -> BookInfo:
    """The tags for a file made from `source` (the document read, if any): the author and cover given,
    else what an EPUB says about itself (its dc:creator, its cover image, its language)."""
    cover = load_cover(cover_path) if cover_path else None
    language = None
    if source is not None and Path(source).suffix.lower() == ".epub":
        from fasttts_desktop.engine.text.documents.epub_meta import read_epub_meta

        meta = read_epub_meta(source)
        author, language = author or meta.author, meta.language
        if cover is None and meta.cover and meta.cover_type:
            cover = Cover(meta.cover, meta.cover_type)
    return BookInfo(title=title, author=author, narrator=narrator, cover=cover, language=language)
