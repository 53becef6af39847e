"""OpenDocument text (.odt, LibreOffice/OpenOffice): content.xml read with lxml, entities unresolved.

Headings are <text:h> with their outline level; paragraphs <text:p>, list items one line each, table rows
one line with the cells read as a list. Notes (footnotes), annotations, tracked deletions and the
sequence/field declarations are not read. Title: the document's dc:title (meta.xml), else its first
level-1 heading. Refused with one line: not a zip, no content.xml, unreadable XML, over 200 MB unpacked.
"""

from __future__ import annotations

from lxml import etree

from fasttts_desktop.engine.text.documents.builder import Builder
from fasttts_desktop.engine.text.documents.html import CELL_SEPARATOR
from fasttts_desktop.engine.text.documents.model import Document, DocumentError
from fasttts_desktop.engine.text.documents.office_zip import open_zip

_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
_SKIPPED = frozenset(
    f"{{{_TEXT}}}{t}"
    for t in ("note", "annotation", "tracked-changes", "sequence-decls", "variable-decls", "bookmark-ref")
) | frozenset((f"{{{_OFFICE}}}annotation",))


def read_odt(data: bytes, name: str = "") -> Document:
    label = name or "The document"
    archive = open_zip(data, label, "ODT")
    try:
        content = etree.fromstring(archive.read("content.xml"), _XML)
    except KeyError:
        raise DocumentError(f"{label} is damaged: it has no content.xml.") from None
    except (etree.XMLSyntaxError, OSError, ValueError):
        raise DocumentError(f"{label} is damaged: its content.xml is not readable XML.") from None
    title = _meta_title(archive)
    builder = Builder(name)
    for body in content.iter(f"{{{_OFFICE}}}text"):
        first_h1 = _blocks(builder, body)
        title = title or first_h1
    text, headings = builder.build()
    return Document(text, headings, title, "odt", (), name)


def _meta_title(archive) -> str | None:
    try:
        meta = etree.fromstring(archive.read("meta.xml"), _XML)
    except (KeyError, etree.XMLSyntaxError, OSError, ValueError):
        return None
    found = meta.find(".//{http://purl.org/dc/elements/1.1/}title")
    return " ".join((found.text or "").split()) or None if found is not None else None


def _blocks(builder: Builder, parent) -> str | None:
    """Add the block elements under `parent` in order; the first level-1 heading's text."""
    first_h1 = None
    for el in parent:
        tag = el.tag
        if not isinstance(tag, str) or tag in _SKIPPED:
            continue
        if tag == f"{{{_TEXT}}}h":
            start = builder.position()
            builder.paragraph(_inline(el))
            if builder.length > start:
                level = int(el.get(f"{{{_TEXT}}}outline-level", "1") or 1)
                builder.add_heading(builder.last_paragraph(), start, max(1, level))
                if level <= 1 and first_h1 is None:
                    first_h1 = builder.last_paragraph()
        elif tag == f"{{{_TEXT}}}p":
            builder.paragraph(_inline(el))
        elif tag == f"{{{_TEXT}}}list":
            builder.paragraph_break()
            for item in el.iter(f"{{{_TEXT}}}p", f"{{{_TEXT}}}h"):
                builder.text(_inline(item))
                builder.line_break()
            builder.paragraph_break()
        elif tag == f"{{{_TABLE}}}table":
            builder.paragraph_break()
            for row in el.iter(f"{{{_TABLE}}}table-row"):
                for cell in row.iter(f"{{{_TABLE}}}table-cell"):
                    builder.separate(CELL_SEPARATOR)
                    builder.text(" ".join(_inline(p) for p in cell.iter(f"{{{_TEXT}}}p")))
                builder.line_break()
            builder.paragraph_break()
        else:  # sections, frames' text boxes and the like hold blocks of their own
            first_h1 = _blocks(builder, el) or first_h1
    return first_h1


def _inline(el) -> str:
    """The text of a paragraph: spans and links read through, <text:s> spaces, tabs and line breaks."""
    out: list[str] = []

    def walk(node) -> None:
        if node.text:
            out.append(node.text)
        for child in node:
            tag = child.tag
            if isinstance(tag, str) and tag not in _SKIPPED:
                if tag == f"{{{_TEXT}}}s":
                    out.append(" " * int(child.get(f"{{{_TEXT}}}c", "1") or 1))
                elif tag in (f"{{{_TEXT}}}tab", f"{{{_TEXT}}}line-break"):
                    out.append(" ")
                else:
                    walk(child)
            if child.tail:
                out.append(child.tail)

    walk(el)
    return "".join(out)
