"""FictionBook 2 (.fb2, the e-book format of Russian-speaking readers and Project Gutenberg's FB2 files):
XML read with lxml (entities unresolved, no network).

Chapters are <section>s, titled by their <title>, nested sections one heading level deeper; the book
title comes from <book-title>. Spoken: titles, paragraphs, subtitles, poems (one line per verse),
epigraphs and citations. Not spoken: the notes body (footnotes), images, the binary parts.
"""

from __future__ import annotations

from lxml import etree

from fasttts_desktop.engine.text.documents.builder import Builder
from fasttts_desktop.engine.text.documents.model import Document, DocumentError

_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, recover=True)
_LINES = frozenset(("v", "text-author"))
_PARAGRAPHS = frozenset(("p", "subtitle"))


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _text(el) -> str:
    """The element's text without its note references (<a type="note">1</a>: the footnote's number)."""
    out = [el.text or ""]
    for child in el:
        if not (_local(child) == "a" and child.get("type") == "note"):
            out.append(_text(child))
        out.append(child.tail or "")
    return "".join(out)


def read_fb2(data: bytes, name: str = "") -> Document:
    label = name or "The document"
    try:
        root = etree.fromstring(data, _XML)
    except (etree.XMLSyntaxError, ValueError):
        root = None
    if root is None or _local(root) != "FictionBook":
        raise DocumentError(f"{label} is not a FictionBook (FB2) document.")
    title_el = next((el for el in root.iter("{*}book-title")), None)
    title = " ".join("".join(title_el.itertext()).split()) or None if title_el is not None else None
    builder = Builder(name)
    for body in root.iter("{*}body"):
        if body.get("name") in ("notes", "comments"):
            continue
        _section(builder, body, 0)
    text, headings = builder.build()
    return Document(text, headings, title, "fb2", (), name)


def _section(builder: Builder, parent, depth: int, headings: bool = True) -> None:
    """The blocks under `parent`; a <title> is a heading of level `depth` when `headings` (sections), a
    plain paragraph inside poems, epigraphs and citations."""
    for el in parent:
        kind = _local(el)
        if kind == "title":
            start = builder.position()
            for line in el.iter("{*}p"):
                builder.text(" ".join(_text(line).split()))
                builder.text(" ")
            builder.paragraph_break()
            if headings and depth and builder.length > start:
                builder.add_heading(builder.last_paragraph(), start, depth)
        elif kind == "section":
            _section(builder, el, depth + 1)
        elif kind in _PARAGRAPHS or kind in _LINES:
            builder.paragraph(_text(el))
        elif kind == "stanza":
            builder.paragraph_break()
            for verse in el:
                if _local(verse) in _LINES:
                    builder.text(_text(verse))
                    builder.line_break()
            builder.paragraph_break()
        elif kind in ("poem", "epigraph", "cite"):
            builder.paragraph_break()
            _section(builder, el, depth, headings=False)
            builder.paragraph_break()
