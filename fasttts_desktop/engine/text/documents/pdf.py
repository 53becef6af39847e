"""PDF: the text layer through pypdfium2 (PDFium); pdf_layout.py turns its lines into paragraphs.

pypdfium2 over pypdf: on the 990-page bench book (scripts/bench_documents.py) PDFium extracts the text in
about 0.5 s where pypdf takes several times as long (docs/documents.md), it gives each character's box
for the paragraph rules at almost no cost, and it marks end-of-line hyphens. Its licence (Apache-2.0 /
BSD-3-Clause) suits ours.

The outline (bookmarks) becomes the headings, each pointing at its title's text on its page when found
there, else at the page's first paragraph. Typographic ligatures (U+FB00-FB06: "ﬁ", "ﬂ", ...) are
spelled out: they are glyphs, not letters, and G2P knows no words written with them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from fasttts_desktop.engine.text.documents.builder import Builder
from fasttts_desktop.engine.text.documents.model import Document, DocumentError
from fasttts_desktop.engine.text.documents.pdf_layout import MARK, Line, add_pages

_LIGATURE = re.compile("[\ufb00-\ufb06]")
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})


def read_pdf(data: bytes, name: str = "") -> Document:
    import pypdfium2 as pdfium  # loads the PDFium library: only when a PDF is opened

    label = name or "The PDF"
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium.raw.FPDF_ERR_PASSWORD:
            raise DocumentError(
                f"{label} is protected by a password; fasttts-desktop cannot open it."
            ) from None
        if exc.err_code == pdfium.raw.FPDF_ERR_SECURITY:
            raise DocumentError(f"{label} is encrypted in a way fasttts-desktop cannot read.") from None
        raise DocumentError(f"{label} is not a PDF or is damaged.") from None
    try:
        pages = [_page_lines(pdf, i, pdfium.raw) for i in range(len(pdf))]
        outline = list(_outline(pdf, pdfium.raw))
        title = (pdf.get_metadata_value("Title") or "").strip() or None
    except pdfium.PdfiumError as exc:
        raise DocumentError(f"{label} is damaged ({exc}).") from None
    finally:
        pdf.close()
    empty = sum(not lines for lines in pages)
    if empty == len(pages):
        raise DocumentError(
            f"{label} has no text layer (a scanned document?); fasttts-desktop cannot read images."
        )
    notices = []
    if empty:
        notices.append(f"{empty} of {len(pages)} pages have no text (scanned images?) and were left out.")
    builder = Builder(name)
    titles: dict[int, list[str]] = {}
    for _, heading, page in outline:
        titles.setdefault(page, []).append(heading)
    page_offsets = add_pages(builder, pages, titles)
    text, _ = builder.build()
    for level, heading, page in outline:
        builder.add_heading(heading, _heading_offset(text, page_offsets, page, heading), level)
    text, headings = builder.build()
    return Document(text, headings, title, "pdf", tuple(notices), name)


def _page_lines(pdf, index: int, raw) -> list[Line]:
    page = pdf[index]
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range()
        # Its indices are PDFium's text indices (for the boxes) unless a character lies outside the BMP;
        # then take the full-Unicode text and go without boxes.
        if len(text.encode("utf-16-le", "surrogatepass")) != 2 * len(text):
            text = textpage.get_text_bounded()
            boxes = False
        else:
            boxes = True

        def box(text_index: int) -> tuple[float, float, float, float] | None:
            char = raw.FPDFText_GetCharIndexFromTextIndex(textpage, text_index)
            return textpage.get_charbox(char, loose=True) if char >= 0 else None

        lines = []
        start = 0
        ligatures = _LIGATURE.search(text) is not None  # spelt out line by line: the indices must hold
        for printed in text.split("\r\n"):
            stripped = printed.strip()
            stripped = stripped.translate(_LIGATURES) if ligatures else stripped
            if stripped and not boxes:
                lines.append(Line(stripped))
            elif stripped:
                first = box(start + len(printed) - len(printed.lstrip()))
                end = box(start + len(printed.rstrip()) - 1)
                marks = [m.end() for m in MARK.finditer(printed)]
                last = box(start + marks[-1]) if marks else first
                left, bottom, height = (
                    (first[0], first[1], first[3] - first[1]) if first else (None, None, None)
                )
                lines.append(
                    Line(
                        stripped,
                        left,
                        bottom,
                        height,
                        last[0] if last else None,
                        last[1] if last else None,
                        end[2] if end else None,
                    )
                )
            start += len(printed) + 2
        return lines
    finally:
        textpage.close()
        page.close()


def _outline(pdf, raw) -> Iterator[tuple[int, str, int]]:
    """(level from 1, title, page index) per bookmark that leads to a page."""
    for bookmark in pdf.get_toc():
        title = bookmark.get_title().strip()
        dest = bookmark.get_dest()
        index = dest.get_index() if dest is not None else None
        if index is None:  # a GoTo action instead of a plain destination
            action = raw.FPDFBookmark_GetAction(bookmark)
            raw_dest = raw.FPDFAction_GetDest(pdf, action) if action else None
            index = raw.FPDFDest_GetDestPageIndex(pdf, raw_dest) if raw_dest else -1
            index = index if index >= 0 else None
        if title and index is not None:
            yield bookmark.level + 1, title, index


def _heading_offset(text: str, page_offsets: list[int], page: int, title: str) -> int:
    """Where `title` is printed on `page`, else where the page's text starts."""
    if not page_offsets:
        return 0
    page = min(page, len(page_offsets) - 1)
    start = page_offsets[page]
    end = page_offsets[page + 1] if page + 1 < len(page_offsets) else len(text)
    pattern = r"\s+".join(map(re.escape, title.split()))
    m = re.compile(pattern, re.IGNORECASE).search(text, start, max(end, start + len(title)))
    if m is None:
        return min(start, len(text))
    line_start = text.rfind("\n", 0, m.start()) + 1
    return line_start if m.start() - line_start <= 12 else m.start()  # take in a number: "2.1 Syntax"
