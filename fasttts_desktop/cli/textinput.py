"""Text as it arrives from outside (a file, standard input, the command line): bounded, decoded, never lost.

Bytes become text through a byte order mark (UTF-8/16/32), else strict UTF-8, else UTF-8 with the bad
bytes replaced by U+FFFD and a notice saying how many (the engine then reports those characters as not
spoken). Command-line arguments come back as the bytes the user typed (Python hands them over with
undecodable bytes smuggled in as lone surrogates, which no G2P can take).
Files (plain text and documents) are read by the importers in engine/text/documents, whose byte order
marks these are too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import BinaryIO

from fasttts_desktop.engine.text.documents.encoding import BOMS
from fasttts_desktop.engine.types import EngineError

# More text than anyone would listen to (about 4,000 hours of speech), yet it still fits in memory.
MAX_TEXT_BYTES = 200 * 1024 * 1024
_READ_BLOCK = 1 << 20


@dataclass
class Text:
    text: str
    notices: list[str] = field(default_factory=list)  # one line each, e.g. how it was decoded
    chapters: tuple[tuple[int, str], ...] = ()  # (offset, title) for chapter marks, from a document
    title: str | None = None


def decode(data: bytes, label: str) -> Text:
    """`data` as text; never fails (bad bytes become U+FFFD, with a notice)."""
    for bom, codec, _label in BOMS:
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


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.3g} MB"
