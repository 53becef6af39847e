"""An EPUB's author and cover picture, for the tags and cover of what is made from it (M4B, read-along).

Read with the importer's bounded zip reader; a book without them, or one that cannot be read, has none.
The cover is the manifest item marked `cover-image` (EPUB 3), else the one a `<meta name="cover">` names
(EPUB 2), and only if it is a JPEG or PNG of at most 20 MB.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

from fasttts_desktop.engine.text.documents.epub import _Book, _manifest
from fasttts_desktop.engine.text.documents.model import DocumentError

_MAX_COVER = 20 * 1024 * 1024
_SIGNATURES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


@dataclass(frozen=True)
class EpubMeta:
    author: str | None = None
    cover: bytes | None = None
    cover_type: str | None = None  # "image/jpeg" or "image/png"
    language: str | None = None


def read_epub_meta(path: str | os.PathLike) -> EpubMeta:
    try:
        data = Path(path).read_bytes()
        book = _Book(data, Path(path).name)
        opf_path = book.rootfile()
        opf = book.xml(opf_path, "its package document")
    except (OSError, DocumentError):
        return EpubMeta()
    authors = [" ".join((el.text or "").split()) for el in opf.iter("{*}creator")]
    author = ", ".join(a for a in authors if a) or None
    language = next((t for el in opf.iter("{*}language") if (t := (el.text or "").strip())), None)
    items = _manifest(opf, posixpath.dirname(opf_path))
    cover = next((i for i in items.values() if "cover-image" in i.properties), None)
    if cover is None:
        named = next((m.get("content") for m in opf.iter("{*}meta") if m.get("name") == "cover"), None)
        cover = items.get(named or "")
    if cover is None or book.find(cover.path) is None:
        return EpubMeta(author, language=language)
    if book.zip.getinfo(book.find(cover.path) or "").file_size > _MAX_COVER:
        return EpubMeta(author, language=language)
    try:
        picture = book.read(cover.path, "its cover")
    except DocumentError:
        return EpubMeta(author, language=language)
    kind = next((t for sig, t in _SIGNATURES.items() if picture.startswith(sig)), None)
    return EpubMeta(author, picture if kind else None, kind, language)
