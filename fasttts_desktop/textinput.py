"""Text as it arrives from outside (a file, standard input, the command line): bounded, decoded, never lost.

Bytes become text through a byte order mark (UTF-8/16/32), else strict UTF-8, else UTF-8 with the bad
bytes replaced by U+FFFD and a notice saying how many (the engine then reports those characters as not
spoken). Command-line arguments come back as the bytes the user typed (Python hands them over with
undecodable bytes smuggled in as lone surrogates, which no G2P can take).
Documents (EPUB, PDF, HTML, Markdown) have their own importers in engine/text/documents.
"""

from __future__ import annotations

import codecs
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from fasttts_desktop.engine.files import describe_os_error
from fasttts_desktop.engine.types import EngineError

# More text than anyone would listen to (about 4,000 hours of speech), yet it still fits in memory.
MAX_TEXT_BYTES = 200 * 1024 * 1024
_READ_BLOCK = 1 << 20

_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass
class Text:
    text: str
    notices: list[str] = field(default_factory=list)  # one line each, e.g. how it was decoded
    chapters: tuple[tuple[int, str], ...] = ()  # (offset, title) for chapter marks, from a document
    title: str | None = None


def decode(data: bytes, label: str) -> Text:
    """`data` as text; never fails (bad bytes become U+FFFD, with a notice)."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return _decoded(data[len(bom) :], codec, label)
    try:
        return Text(data.decode("utf-8"))
    except UnicodeDecodeError:
        return _decoded(data, "utf-8", label)


def _decoded(data: bytes, codec: str, label: str) -> Text:
    text = data.decode(codec, errors="replace")
    bad = text.count("\ufffd") - data.count("\ufffd".encode(codec))
    if bad <= 0:
        return Text(text)
    what = f"{bad} byte sequence{'s' * (bad != 1)}"
    return Text(
        text, [f"{label} is not valid {codec.upper()}: {what} could not be decoded and became U+FFFD."]
    )


def argument_text(arg: str) -> Text:
    """A command-line argument as the user meant it (undecodable bytes become U+FFFD, with a notice)."""
    try:
        arg.encode("utf-8")
        return Text(arg)
    except UnicodeEncodeError:
        return decode(os.fsencode(arg), "The text argument")


def read_stream(stream: BinaryIO, label: str, limit: int = MAX_TEXT_BYTES) -> Text:
    """All of a byte stream (standard input, a pipe), refusing more than `limit` bytes."""
    parts: list[bytes] = []
    size = 0
    while block := stream.read(min(_READ_BLOCK, limit + 1 - size)):
        parts.append(block)
        size += len(block)
        if size > limit:
            raise EngineError(f"{label} is too large: more than {_mb(limit)} of text.")
    return decode(b"".join(parts), label)


def read_text_file(path: str | os.PathLike, limit: int = MAX_TEXT_BYTES) -> Text:
    """A plain-text file, refusing folders, devices, pipes and sockets, and files over `limit` bytes."""
    name = os.fsdecode(path)
    try:
        st = Path(path).stat()
    except FileNotFoundError:
        raise EngineError(f"Cannot read {name}: there is no such file.") from None
    except OSError as exc:
        raise EngineError(f"Cannot read {name}: {describe_os_error(exc)}.") from None
    if stat.S_ISDIR(st.st_mode):
        raise EngineError(f"Cannot read {name}: it is a folder.")
    if not stat.S_ISREG(st.st_mode):
        raise EngineError(
            f"Cannot read {name}: it is not a regular file (a pipe, socket or device); "
            "to speak a stream, give it on standard input."
        )
    if st.st_size > limit:
        raise EngineError(
            f"Cannot read {name}: it is too large ({_mb(st.st_size)}; the limit is {_mb(limit)})."
        )
    try:
        # O_NONBLOCK: should the path have been swapped for a FIFO since stat(), opening it must not hang
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise EngineError(f"Cannot read {name}: {describe_os_error(exc)}.") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise EngineError(f"Cannot read {name}: it is not a regular file.")
        try:
            return read_stream(f, name, limit)
        except OSError as exc:
            raise EngineError(f"Cannot read {name}: {describe_os_error(exc)}.") from None


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.3g} MB"
