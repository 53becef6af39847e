r"""Assembles an importer's paragraphs into Document.text, keeping heading offsets right.

Every format goes through `Builder`, so the text rules live in one place:

- NFC (unicodedata.normalize) on every line.
- Control characters (C0, DEL, C1), tabs and the Unicode line/paragraph separators inside a line become
  spaces, so that words they separated stay separate; runs of them and of spaces collapse into one space
  and lines are stripped. Soft hyphens (U+00AD) and stray byte order marks (U+FEFF) are removed: both are
  invisible and only break words apart for G2P.
- One paragraph per line; paragraphs are separated by exactly one blank line ("\n\n"). A single "\n"
  is kept only inside a paragraph whose line breaks mean something (verse, list items, <br>, table rows).
  Empty lines and empty paragraphs never reach the text.
"""

from __future__ import annotations

import re
import time
import unicodedata

from fasttts_desktop.engine.text.documents import budget
from fasttts_desktop.engine.text.documents.budget import MAX_CHARS
from fasttts_desktop.engine.text.documents.model import DocumentError, Heading

# Runs of blanks that need rewriting: any with a control or separator in it, and runs of spaces. Single
# spaces are left alone: re.sub keeps one string per match, and a 20 MB line has millions of them.
_BLANKS = re.compile(r" *[\x00-\x1f\x7f-\x9f\u2028\u2029][\x00-\x20\x7f-\x9f\u2028\u2029]*|  +")
_INVISIBLE = str.maketrans("", "", "\u00ad\ufeff")


def clean_line(line: str) -> str:
    """One line as it goes into the text: controls and blank runs to one space, stripped, NFC."""
    line = _BLANKS.sub(" ", line).translate(_INVISIBLE).strip()
    return unicodedata.normalize("NFC", line) if not line.isascii() else line


def wrap_separator(before: str, after: str) -> str:
    """What a wrapped line break between two pieces of text becomes: a space, or nothing between two
    wide (CJK) characters, since Chinese and Japanese put no spaces between words."""
    wide = ("W", "F")
    if before and after and unicodedata.east_asian_width(before[-1]) in wide:
        return "" if unicodedata.east_asian_width(after[0]) in wide else " "
    return " "


class Builder:
    """Collects text piece by piece: pieces make a line, lines a paragraph, paragraphs the text."""

    def __init__(self, name: str = "", max_chars: int | None = None) -> None:
        self.name = name
        self.max_chars = MAX_CHARS if max_chars is None else max_chars
        self._deadline = time.monotonic() + budget.MAX_OPEN_SECONDS
        self.headings: list[Heading] = []
        self._paragraphs: list[str] = []
        self._length = 0  # len("\n\n".join(self._paragraphs))
        self._lines: list[str] = []  # finished lines of the open paragraph
        self._pieces: list[str] = []  # pieces of the open line

    # -- adding text ---------------------------------------------------------------------------------
    def text(self, piece: str) -> None:
        """Inline text; pieces are joined as they are (put spaces in them where words part)."""
        self._pieces.append(piece)

    def separate(self, separator: str) -> None:
        """Put `separator` between what the open line has and what comes next (table cells)."""
        if any(not p.isspace() for p in self._pieces) and not self._pieces[-1].endswith(separator):
            self._pieces.append(separator)

    def line_break(self) -> None:
        """End the open line (a meaningful line break: verse, list item, <br>)."""
        if self._pieces:
            line = clean_line("".join(self._pieces))
            self._pieces = []
            if line:
                self._lines.append(line)

    def paragraph_break(self) -> None:
        self.line_break()
        if self._lines:
            paragraph = "\n".join(self._lines)
            self._lines = []
            self._length += len(paragraph) + (2 if self._paragraphs else 0)
            if self._length > self.max_chars:
                raise DocumentError(
                    f"{self.name or 'The document'} has too much text to open "
                    f"(the limit is {self.max_chars:,} characters)."
                )
            self._paragraphs.append(paragraph)
            if time.monotonic() > self._deadline:
                raise DocumentError(
                    f"{self.name or 'The document'} takes too long to open "
                    f"(the limit is {budget.MAX_OPEN_SECONDS:g} seconds)."
                )

    def paragraph(self, text: str) -> None:
        r"""A whole paragraph; "\n" in it are kept as meaningful line breaks."""
        self.paragraph_break()
        for line in text.split("\n"):
            self._pieces.append(line)
            self.line_break()
        self.paragraph_break()

    def add_heading(self, title: str, offset: int, level: int) -> None:
        """An entry in `headings` pointing at text already added (a heading paragraph, a chapter start)."""
        title = clean_line(title)
        if title:
            self.headings.append(Heading(title, offset, level))

    # -- where we are --------------------------------------------------------------------------------
    def position(self) -> int:
        """Offset of the open paragraph if it has text yet, else of the next paragraph to come."""
        return self._length + (2 if self._paragraphs else 0)

    def last_paragraph(self) -> str:
        return self._paragraphs[-1] if self._paragraphs else ""

    @property
    def length(self) -> int:
        """Length of the text of the finished paragraphs."""
        return self._length

    def build(self) -> tuple[str, tuple[Heading, ...]]:
        self.paragraph_break()
        text = "\n\n".join(self._paragraphs)
        end = len(text)
        headings = sorted(
            (h if h.offset <= end else Heading(h.title, end, h.level) for h in self.headings),
            key=lambda h: h.offset,
        )
        return text, tuple(headings)
