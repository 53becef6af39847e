"""Plain text: decode, then undo hard wrapping so each paragraph is one line.

Blank lines (and form feeds, U+2029) end paragraphs. Inside a paragraph a line break is a wrap, joined
with a space, when the file is hard-wrapped (most lines fill a common width of 50-120 characters) and the
next line's first word would not have fitted on the line: that is why a wrapping editor broke it. Other
breaks are meant (verse, lists, addresses): after a short line they stay a single newline, after a long
one they end the paragraph, matching how the front end reads them (see SHORT_LINE).
"""

from __future__ import annotations

import itertools
import re

from fasttts_desktop.engine.text.documents.builder import Builder
from fasttts_desktop.engine.text.documents.encoding import decode_text
from fasttts_desktop.engine.text.documents.model import Document

# The front end (engine chunking, `g2p_spans`) ends a paragraph after a line shorter than this and reads
# other single line breaks as spaces; a kept break after a longer line is written as a paragraph break.
SHORT_LINE = 50

_PARAGRAPH_BREAKS = re.compile(r"[\f\v\x1c-\x1e\u2029]")
_LINE_BREAKS = re.compile(r"\r\n?|[\x85\u2028]")
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n)+")
# "- item", "• item", "3. item", "(b) item", "iv) item"; not "Mr. Smith" (a wrapped line may start so).
_LIST_ITEM = re.compile(r"\s*(?:[-*+•‣◦▪]\s|\(?(?:\d{1,3}|[a-zA-Z]|[ivxIVX]{1,4})[.)]\s)")
_FIRST_WORD = re.compile(r"\s*(\S*)")


def read_plain(data: bytes, name: str = "", strict_utf8: bool = False) -> Document:
    text, notices = decode_text(data, name, strict_utf8=strict_utf8)
    builder = Builder(name)
    add_plain_text(builder, text)
    body, headings = builder.build()
    return Document(body, headings, None, "txt", tuple(notices), name)


def add_plain_text(builder: Builder, text: str) -> None:
    text = _LINE_BREAKS.sub("\n", _PARAGRAPH_BREAKS.sub("\n\n", text))
    blocks = [[line.rstrip() for line in block.split("\n")] for block in _BLANK_LINES.split(text)]
    width = _wrap_width(blocks)
    for lines in blocks:
        lines = [line for line in lines if line]
        for line, nxt in itertools.pairwise(lines):
            builder.text(line)
            if width and _is_wrap(line, nxt, width):
                builder.text(" ")
            elif len(line.strip()) < SHORT_LINE:
                builder.line_break()
            else:
                builder.paragraph_break()
        if lines:
            builder.text(lines[-1])
        builder.paragraph_break()


def _wrap_width(blocks: list[list[str]]) -> int | None:
    """The width the file was hard-wrapped at, or None when it was not."""
    inner = sorted(len(line) for lines in blocks for line in lines[:-1] if line)
    if len(inner) < 8:
        return None
    width = inner[int(0.95 * (len(inner) - 1))]
    if not 50 <= width <= 120:
        return None
    full = len(inner) - next((i for i, n in enumerate(inner) if n >= 0.75 * width), len(inner))
    return width if full >= 0.6 * len(inner) else None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _is_wrap(line: str, nxt: str, width: int) -> bool:
    if _indent(nxt) > _indent(line) or _LIST_ITEM.match(nxt):
        return False
    first_word = _FIRST_WORD.match(nxt).group(1)  # type: ignore[union-attr]  # the pattern always matches
    return len(line) + 1 + len(first_word) > width
