"""What an importer hands out: plain text with heading offsets, and the one error type it raises."""

from __future__ import annotations

from dataclasses import dataclass

from fasttts_desktop.engine.types import EngineError

KINDS = ("txt", "md", "html", "epub", "pdf")


class DocumentError(EngineError):
    """A document that cannot be opened; the message is one line for the user."""


@dataclass(frozen=True)
class Heading:
    title: str
    offset: int  # character offset into Document.text where the chapter/heading starts
    level: int  # 1 = chapter / h1, 2 = h2, ...


@dataclass(frozen=True)
class Document:
    text: str  # NFC; one paragraph per line, paragraphs separated by exactly one blank line
    headings: tuple[Heading, ...]  # in text order
    title: str | None
    kind: str  # one of KINDS
    notices: tuple[str, ...]  # things the user should know (a guessed encoding, skipped pages, ...)
    name: str = ""  # the file name it came from, for messages
