"""Word documents (.docx) through python-docx: paragraphs and tables in reading order, headings from the
paragraph styles (Title, Heading 1-9) or an outline level set on the paragraph.

python-docx parses the parts with lxml without resolving entities. Refused with one line: not a zip, no
main document part, parts unpacking to over 200 MB. Footnotes, comments, headers and footers are not read
(a reader hears the body, as on a page).
"""

from __future__ import annotations

import re

from fasttts_desktop.engine.text.documents.builder import Builder
from fasttts_desktop.engine.text.documents.html import CELL_SEPARATOR
from fasttts_desktop.engine.text.documents.model import Document, DocumentError
from fasttts_desktop.engine.text.documents.office_zip import open_zip

_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def read_docx(data: bytes, name: str = "") -> Document:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    label = name or "The document"
    parts = open_zip(data, label, "DOCX").namelist()  # the bounds, before python-docx reads every part
    try:
        import io

        word = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise DocumentError(f"{label} is not a readable DOCX document ({type(exc).__name__}).") from None
    except Exception as exc:  # noqa: BLE001 - lxml and python-docx raise many kinds on a damaged part
        raise DocumentError(f"{label} is damaged: {exc}.") from None
    builder = Builder(name)
    # without a core-properties part python-docx makes one up, titled "Word Document"
    title = (word.core_properties.title or "").strip() or None if "docProps/core.xml" in parts else None
    for block in word.iter_inner_content():
        if isinstance(block, Table):
            _table(builder, block)
            continue
        level = _level(block)
        start = builder.position()
        builder.paragraph(block.text)
        if level is not None and builder.length > start:
            builder.add_heading(builder.last_paragraph(), start, level)
            if title is None and level <= 1:
                title = builder.last_paragraph()
    body, headings = builder.build()
    return Document(body, headings, title, "docx", (), name)


def _level(paragraph) -> int | None:
    """1 for Title and Heading 1, N for Heading N, else the paragraph's own outline level (0-based)."""
    style = paragraph.style
    while style is not None:
        style_name = (style.name or "").strip()
        if style_name.lower() == "title":
            return 1
        found = _HEADING_STYLE.match(style_name)
        if found:
            return int(found[1])
        style = style.base_style
    outline = paragraph._p.find(f"{_W}pPr/{_W}outlineLvl")  # noqa: SLF001 - python-docx has no API for it
    if outline is not None and (value := outline.get(f"{_W}val", "")).isdigit() and int(value) < 9:
        return int(value) + 1
    return None


def _table(builder: Builder, table) -> None:
    builder.paragraph_break()
    for row in table.rows:
        seen = set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # noqa: SLF001 - a merged cell is listed once per grid column it spans
                continue
            seen.add(id(cell._tc))  # noqa: SLF001
            builder.separate(CELL_SEPARATOR)
            builder.text(" ".join(cell.text.split()))
        builder.line_break()
    builder.paragraph_break()
