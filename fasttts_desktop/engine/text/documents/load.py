"""Opening a document: refuse what is not a readable regular file, pick the importer, bound the size."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from fasttts_desktop.engine.storage.files import describe_os_error
from fasttts_desktop.engine.text.documents.budget import MAX_FILE_BYTES
from fasttts_desktop.engine.text.documents.budget import megabytes as _mb
from fasttts_desktop.engine.text.documents.model import KINDS, Document, DocumentError
from fasttts_desktop.engine.text.documents.more_kinds import (
    MORE_KINDS,
    MORE_SUFFIXES,
    more_reader,
    sniff_more,
)

_SUFFIXES = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".epub": "epub",
    ".pdf": "pdf",
    **MORE_SUFFIXES,
}
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(_SUFFIXES)


def load_document(path: str | os.PathLike) -> Document:
    """Read the document at `path`; DocumentError (one line for the user) when it cannot be read."""
    path = Path(os.fsdecode(path))
    name = path.name or str(path)
    return read_document_bytes(_read_regular_file(path, name), path.suffix, name)


def read_document_bytes(data: bytes, kind: str, name: str = "") -> Document:
    """The same as load_document for bytes in hand. `kind`: one of KINDS or a file suffix (".md");
    anything else is sniffed from the bytes: EPUB, PDF, HTML or UTF-8 text, else DocumentError."""
    label = name or "The document"
    if len(data) > MAX_FILE_BYTES:
        raise DocumentError(
            f"{label} is too large to open ({_mb(len(data))}; the limit is {_mb(MAX_FILE_BYTES)})."
        )
    key = kind.lower()
    resolved = key if key in KINDS else _SUFFIXES.get(key if key.startswith(".") else "." + key)
    notices: tuple[str, ...] = ()
    if resolved is None:
        resolved = _sniff(data, kind, label)
        if resolved == "txt":
            notices = (
                f"{label} has an unknown type{f' ({kind})' if kind else ''}; it was read as plain text.",
            )
    if notices:  # an odd suffix on UTF-8 text is fine; a legacy encoding is too likely to be binary junk
        from fasttts_desktop.engine.text.documents.plain import read_plain

        document = read_plain(data, name, strict_utf8=True)
    else:
        document = _reader(resolved)(data, name)
    if not document.text:
        raise DocumentError(f"{label} has no text to read.")
    return Document(
        document.text, document.headings, document.title, document.kind, notices + document.notices, name
    )


def _reader(kind: str) -> Callable[[bytes, str], Document]:
    # Imported on use: pypdfium2 and lxml load native libraries, markdown-it builds its rules.
    if kind in MORE_KINDS:
        return more_reader(kind)
    if kind == "txt":
        from fasttts_desktop.engine.text.documents.plain import read_plain

        return read_plain
    if kind == "md":
        from fasttts_desktop.engine.text.documents.markdown import read_markdown

        return read_markdown
    if kind == "html":
        from fasttts_desktop.engine.text.documents.html import read_html

        def reader(data: bytes, name: str) -> Document:
            return read_html(data, name, xhtml=name.lower().endswith((".xhtml", ".xht")))

        return reader
    if kind == "epub":
        from fasttts_desktop.engine.text.documents.epub import read_epub

        return read_epub
    from fasttts_desktop.engine.text.documents.pdf import read_pdf

    return read_pdf


def _sniff(data: bytes, suffix: str, label: str) -> str:
    from fasttts_desktop.engine.text.documents.encoding import looks_binary

    head = data[:1024]
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04") and b"mimetypeapplication/epub+zip" in head:
        return "epub"
    more = sniff_more(data)
    if more is not None:
        return more
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<!doctype html", b"<html")):
        return "html"
    if looks_binary(data) is None:
        return "txt"  # read strictly: UTF-8 or BOM-marked text only, else DocumentError
    supported = ", ".join(SUPPORTED_SUFFIXES)
    raise DocumentError(f"Unsupported document type: {suffix or label} (supported: {supported}).")


def _read_regular_file(path: Path, name: str) -> bytes:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DocumentError(f"Cannot open {name}: there is no such file.") from None
    except OSError as exc:
        raise DocumentError(f"Cannot open {name}: {describe_os_error(exc)}.") from None
    if stat.S_ISDIR(st.st_mode):
        raise DocumentError(f"{name} is a folder, not a document.")
    if not stat.S_ISREG(st.st_mode):
        raise DocumentError(
            f"{name} is not a regular file (a pipe, socket or device); only files can be opened."
        )
    if st.st_size > MAX_FILE_BYTES:
        raise DocumentError(
            f"{name} is too large to open ({_mb(st.st_size)}; the limit is {_mb(MAX_FILE_BYTES)})."
        )
    # O_NONBLOCK: should the path have become a FIFO since stat(), opening it must not hang.
    flags = (
        os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    )
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise DocumentError(f"Cannot open {name}: {describe_os_error(exc)}.") from None
    with os.fdopen(fd, "rb") as f:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise DocumentError(f"{name} is not a regular file; only files can be opened.")
            data = f.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise DocumentError(f"Cannot read {name}: {describe_os_error(exc)}.") from None
    if len(data) > MAX_FILE_BYTES:
        raise DocumentError(f"{name} is too large to open (the limit is {_mb(MAX_FILE_BYTES)}).")
    return data
