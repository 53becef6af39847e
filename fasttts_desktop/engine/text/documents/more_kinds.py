"""The document kinds beyond the first five: DOCX, ODT, RTF and FB2, by suffix or by their first bytes.

load.py asks here for what its own table does not know, so each format lives in a module of its own.
"""

from __future__ import annotations

from collections.abc import Callable

from fasttts_desktop.engine.text.documents.model import Document

MORE_SUFFIXES = {".docx": "docx", ".odt": "odt", ".rtf": "rtf", ".fb2": "fb2"}
MORE_KINDS = tuple(MORE_SUFFIXES.values())
_ODT_MIMETYPE = b"mimetypeapplication/vnd.oasis.opendocument.text"


def more_reader(kind: str) -> Callable[[bytes, str], Document]:
    # Imported on use, like the other importers: python-docx and striprtf load only when needed.
    if kind == "docx":
        from fasttts_desktop.engine.text.documents.docx import read_docx

        return read_docx
    if kind == "odt":
        from fasttts_desktop.engine.text.documents.odt import read_odt

        return read_odt
    if kind == "rtf":
        from fasttts_desktop.engine.text.documents.rtf import read_rtf

        return read_rtf
    from fasttts_desktop.engine.text.documents.fb2 import read_fb2

    return read_fb2


def sniff_more(data: bytes) -> str | None:
    """The kind of a document with no telling suffix, from its first bytes; None if none of these."""
    head = data[:4096]
    if head.startswith(b"PK\x03\x04"):
        if _ODT_MIMETYPE in head:
            return "odt"
        if b"word/" in head or b"[Content_Types].xml" in head:
            return "docx"
        return None
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{\\rtf"):
        return "rtf"
    if b"<FictionBook" in head:
        return "fb2"
    return None
