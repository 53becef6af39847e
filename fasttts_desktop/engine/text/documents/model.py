"""What an importer hands out: plain text with heading offsets, and the one error type it raises."""

from __future__ import annotations

from dataclasses import dataclass

from fasttts_desktop.engine.types import EngineError

KINDS = ("txt", "md", "html", "epub", "pdf", "docx", "odt", "rtf", "fb2")


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


def chapter_marks(headings) -> tuple[tuple[int, str], ...]:
    """(offset, title) of the headings that are the book's chapters: the top level, or the top two
    levels when the top one is a single heading (a book title above its chapters)."""
    levels = sorted({h.level for h in headings})
    marks = []
    for depth in levels:
        marks = [h for h in headings if h.level <= depth]
        if len(marks) >= 2:
            break
    return tuple((h.offset, h.title) for h in marks)
