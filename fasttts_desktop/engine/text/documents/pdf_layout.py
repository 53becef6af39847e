"""A PDF's printed lines -> paragraphs: running heads dropped, hyphenation undone, lines rejoined.

PDFium (see pdf.py) gives each page's lines in reading order, and joins a word hyphenated across two
lines itself, marking the hyphen with U+0002 (U+FFFE in get_text_range). From there:

- Running headers, footers and page numbers: a line among the first or last three of a page is dropped
  when the same line (case and digits ignored, so "Page 7" matches "Page 8") sits at the same edge of a
  page at most two pages away (two: books alternate left/right running heads), and every line between it
  and the edge was dropped too. A chapter title at the top of a page repeats like that only when the
  chapters are at most two pages long.
- End-of-line hyphens: "exam-|ple" becomes "example" when the second half starts with a lower-case
  letter. The hyphen stays when the second half starts with a capital or digit ("Jean-Paul",
  "COVID-19"), when the first half has a digit or a hyphen already ("mother-in-law"), or when the first
  half is a prefix that keeps its hyphen in English ("self-", "well-", "twenty-", ...): a dictionary
  would decide better, but the importers know no language.
- Dot leaders (four or more dots, spaced or not: a table of contents' "Intro . . . . 1") become one space.
- Paragraphs: a line ends its paragraph when it is short: in justified text (most lines end flush with
  the text block's right edge; edges are medians over the left and over the right pages) when it stops
  more than a font height before the edge, in ragged text when it covers under 3/4 of the text block.
  Without positions, by characters: under 3/4 of the document's usual line, or under 9/10 and ending a
  sentence. A paragraph also ends where the next line starts lower than the usual line step by a
  quarter or more (space between paragraphs) or further right by about one to eight letters (a first
  line's indent), or where a line starts with the title of an outline entry (bookmark) of its page.
  Every other line is wrapped text, joined with a space, across page breaks too.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from fasttts_desktop.engine.text.documents.builder import Builder, wrap_separator


@dataclass(frozen=True, slots=True)
class Line:
    """One line as PDFium printed it (or two, joined at a hyphen) and, where known, where it sits."""

    text: str
    left: float | None = None  # of its first printed line, in points
    bottom: float | None = None
    height: float | None = None  # the font's height: the unit for indents and margins
    last_left: float | None = None  # of its last printed line (differs when PDFium joined two)
    last_bottom: float | None = None
    right: float | None = None  # where its last character ends


@dataclass(frozen=True)
class _Margins:
    left: float
    right: float
    justified: bool  # most lines end flush with the right margin


EDGE_LINES = 3  # how deep into a page a running header/footer may sit
NEIGHBOURS = 2  # how many pages away its twin may be
MAX_RUNNING = 100  # longer lines are text, not running heads
SHORT, NEARLY = 0.75, 0.9  # shares of the usual line length (see the module doc)
SENTENCE_ENDS = (".", "!", "?", "…", ":", '"', "”", "’", ")")
FEW_LINES, BOOK_LINE = 20, 60  # under FEW_LINES lines there is no usual length: assume a book's
PARAGRAPH_SPACING = 1.25  # a step this many usual line steps down starts a paragraph
INDENT = (0.8, 8.0)  # a first-line indent, in line heights

MARK = re.compile(r"[\x02\ufffe]")  # PDFium's end-of-line hyphen
_HYPHEN = re.compile(r"(\w*)[\x02\ufffe](.?)", re.DOTALL)
_LEADER = re.compile(r"(?:\s?\.){4,}\s*")  # a table of contents' dot leader, "Intro . . . . . 1"
_DIGITS = re.compile(r"\d+")
_ROMAN = re.compile(r"(?i)\b[ivxlcdm]+\b")
_SPACES = re.compile(r"\s+")
_KEEPS_HYPHEN = frozenset(
    (
        *("self", "well", "ill", "half", "all", "ex", "cross", "great", "step"),
        *("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"),
    )
)


def add_pages(
    builder: Builder, pages: list[list[Line]], titles: dict[int, list[str]] | None = None
) -> list[int]:
    """Feed the pages' lines to `builder` as paragraphs; return where each page's text starts.

    titles: page index -> outline titles on it; a line starting with one starts a paragraph.
    """
    pages = drop_running(pages)
    folded = {p: tuple(_fold(t) for t in ts) for p, ts in (titles or {}).items()}
    lengths = sorted(len(part) for lines in pages for line in lines for part in MARK.split(line.text))
    usual = lengths[int(0.8 * (len(lengths) - 1))] if lengths else 0
    usual = max(usual, BOOK_LINE) if len(lengths) < FEW_LINES else usual
    spacing = _usual_spacing(pages)
    margins = [_margins(pages[parity::2]) for parity in (0, 1)]  # left and right pages differ
    offsets = []
    pending: list[str] = []  # the open paragraph's lines
    previous: Line | None = None
    for p, lines in enumerate(pages):
        offsets.append(builder.position())  # the open paragraph's start when the page continues it
        for i, line in enumerate(lines):
            # the margins of the page `previous` is on
            page_margins = margins[(p - (i == 0)) % 2]
            starts_section = p in folded and _fold(line.text).startswith(folded[p])
            if previous is not None and (
                starts_section or _breaks(previous, line, i > 0, usual, spacing, page_margins)
            ):
                builder.paragraph(unhyphenate(_join(pending)))
                pending = []
            pending.append(line.text)
            previous = line
    if pending:
        builder.paragraph(unhyphenate(_join(pending)))
    return offsets


def drop_running(pages: list[list[Line]]) -> list[list[Line]]:
    """Each page's lines without running headers/footers and page numbers (see the module doc)."""
    tops = [[_running_key(line.text) for line in lines[:EDGE_LINES]] for lines in pages]
    bottoms = [[_running_key(line.text) for line in lines[::-1][:EDGE_LINES]] for lines in pages]
    kept = []
    for p, lines in enumerate(pages):
        near = [q for q in range(p - NEIGHBOURS, p + NEIGHBOURS + 1) if q != p and 0 <= q < len(pages)]
        top = _run_length(tops[p], [tops[q] for q in near])
        bottom = _run_length(bottoms[p], [bottoms[q] for q in near])
        kept.append(lines[top : max(top, len(lines) - bottom)])
    return kept


def _fold(text: str) -> str:
    return _SPACES.sub(" ", text.casefold()).strip()


def _running_key(text: str) -> str | None:
    if len(text) > MAX_RUNNING:
        return None
    return _SPACES.sub(" ", _ROMAN.sub("#", _DIGITS.sub("#", text.casefold())))


def _run_length(keys: list[str | None], others: list[list[str | None]]) -> int:
    n = 0
    for key in keys:
        if key is None or not any(key in other for other in others):
            break
        n += 1
    return n


def _usual_spacing(pages: list[list[Line]]) -> float | None:
    steps = sorted(
        a.last_bottom - b.bottom
        for lines in pages
        for a, b in itertools.pairwise(lines)
        if a.last_bottom is not None and b.bottom is not None and a.last_bottom > b.bottom
    )
    return steps[len(steps) // 2] if steps else None


def _margins(pages: list[list[Line]]) -> _Margins | None:
    """The text block's edges on these pages (medians over pages) and whether it is justified."""
    lefts, rights, flush, total = [], [], 0, 0
    for lines in pages:
        # (left, right, height) of the lines that have all three
        placed = [
            (line.left, line.right, line.height)
            for line in lines
            if line.right is not None and line.left is not None and line.height
        ]
        if len(placed) < 5:
            continue
        right = _percentile([r for _, r, _ in placed], 0.9)
        lefts.append(_percentile([left for left, _, _ in placed], 0.1))
        rights.append(right)
        flush += sum(right - r < 0.5 * h for _, r, h in placed)
        total += len(placed)
    if not total:
        return None
    return _Margins(_percentile(lefts, 0.5), _percentile(rights, 0.5), flush > 0.6 * total)


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[int(q * (len(values) - 1))]


def _breaks(
    a: Line, b: Line, same_page: bool, usual: int, spacing: float | None, margins: _Margins | None
) -> bool:
    """Whether a paragraph ends between lines a and b (a's page has these margins)."""
    if margins is not None and a.right is not None and a.last_left is not None and a.height:
        if margins.justified:  # every line but a paragraph's last is flush right
            short = margins.right - a.right > a.height
        else:  # ragged: a line is short next to the text block's width, as below
            short = a.right - margins.left < SHORT * (margins.right - margins.left)
    else:  # no positions: count characters
        tail = MARK.split(a.text)[-1]  # the last printed line of a
        short = len(tail) < SHORT * usual or (len(tail) < NEARLY * usual and tail.endswith(SENTENCE_ENDS))
    if short:
        return True
    if not same_page or a.last_bottom is None or a.last_left is None or b.bottom is None or b.left is None:
        return False
    step = a.last_bottom - b.bottom
    if step <= 0:  # b is higher up: a new column
        return False
    if spacing and step > PARAGRAPH_SPACING * spacing:
        return True
    height = b.height or 0.0
    return INDENT[0] * height < b.left - a.last_left < INDENT[1] * height


def _join(lines: list[str]) -> str:
    text = lines[0]
    for line in lines[1:]:
        if text.endswith(("-", "\u2010")) and text[-2:-1].isalpha() and line[:1].isalpha():
            text = text[:-1] + "\x02" + line  # an unmarked end-of-line hyphen: the same rule as a marked one
        elif text.endswith(("\u2013", "\u2014")):  # dashes join without a space
            text += line
        else:
            text += wrap_separator(text, line) + line
    return text


def unhyphenate(text: str) -> str:
    if "\x02" in text or "\ufffe" in text:
        text = _HYPHEN.sub(_hyphen, text)
    return _LEADER.sub(" ", text) if ". . ." in text or "...." in text else text


def _hyphen(m: re.Match) -> str:
    left, right = m.group(1), m.group(2)
    before = m.string[max(0, m.start() - 40) : m.start()].rpartition(" ")[2]  # the word's earlier parts
    joined = (
        right[:1].islower()
        and not any(c.isdigit() for c in left)
        and left.casefold() not in _KEEPS_HYPHEN
        and "-" not in before
    )
    return left + ("" if joined else "-") + right
