"""HTML and XHTML: the text of the body, one paragraph per block element, h1-h6 as headings.

Parsed with lxml (libxml2): it parses a 2 MB book in milliseconds, as fast as selectolax and far ahead of
BeautifulSoup (docs/documents.md), and it reads the EPUB's XML too. XHTML (EPUB chapters, .xhtml files) is
tried as XML first: the HTML parser reads a self-closed `<title/>` or `<script/>` as an open element and
would swallow the body into it. Not spoken: head, scripts, styles, templates, noscript, SVG, form
controls, media fallbacks, `hidden` and aria-hidden elements, print page-break markers (epub:type or
role "pagebreak"), ruby annotations (rt/rp: the base text is what G2P reads), images (their alt text
describes a picture, it is not the document's text) and link targets. MathML is read from its alttext
where it has one.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from lxml import etree
from lxml import html as lxml_html

from fasttts_desktop.engine.text.documents.builder import Builder, clean_line
from fasttts_desktop.engine.text.documents.dtd import cut_internal_subset, drop_references, unread_notice
from fasttts_desktop.engine.text.documents.encoding import decode_as, decode_text, pretty_name
from fasttts_desktop.engine.text.documents.model import Document, DocumentError

_SKIP = frozenset(
    (
        *("head", "title", "script", "style", "template", "noscript"),  # not shown as text
        *("svg", "iframe", "object", "embed", "audio", "video", "canvas", "img", "map"),  # pictures, media
        *("select", "option", "button", "textarea", "input"),  # form controls
        *("rt", "rp"),  # ruby readings: G2P reads the base text
    )
)
_BLOCK = frozenset(
    (
        *("html", "body", "p", "div", "section", "article", "aside", "header", "footer", "nav", "main"),
        *("blockquote", "figure", "figcaption", "address", "details", "summary", "dialog", "fieldset"),
        *("legend", "form", "center", "hgroup", "caption", "search", "pre", "hr"),
        *("table", "thead", "tbody", "tfoot", "ul", "ol", "dl", "menu", "dir"),
    )
)
_LINES = frozenset(("li", "dt", "dd", "tr"))  # one line each inside their list/table paragraph
_LISTS = frozenset(("ul", "ol", "dl", "menu", "dir"))
_OPS_TYPE = "{http://www.idpf.org/2007/ops}type"  # epub:type, parsed as XML
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_CELLS = frozenset(("td", "th"))
CELL_SEPARATOR = ", "  # table cells read as a list: a short pause between them

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9._:-]+)""")

_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_pis=True)
_HTML_PARSER = lxml_html.HTMLParser(no_network=True, huge_tree=True, remove_pis=True)


@dataclass
class HtmlText:
    """What `add_html` found besides the text it added."""

    title: str | None = None  # <title>
    first_heading: str | None = None
    anchors: dict[str, int] = field(default_factory=dict)  # id -> offset, for the ids asked for
    unread: list[str] = field(default_factory=list)  # names of the entity references read as nothing


def read_html(data: bytes, name: str = "", xhtml: bool = False) -> Document:
    text, notices = decode_html(data, name)
    unread: list[str] = []
    root = parse_html(text, name, xhtml, unread)
    builder = Builder(name)
    found = add_html(builder, root, headings=True) if root is not None else HtmlText()
    body, headings = builder.build()
    unread += found.unread
    if unread:
        notices.append(unread_notice(name or "The document", unread))
    title = found.title or found.first_heading
    return Document(body, headings, title, "html", tuple(notices), name)


def decode_html(data: bytes, name: str = "") -> tuple[str, list[str]]:
    """A declared charset (meta or XML declaration) wins over detection, as in browsers; a BOM over both."""
    if not data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = data[:4096]
        m = _XML_ENCODING.match(head) or _META_CHARSET.search(head)
        try:
            codec = codecs.lookup(m.group(1).decode("ascii")).name if m else None
        except LookupError:
            codec = None
        if codec in ("latin-1", "iso8859-1", "ascii"):
            codec = "cp1252"  # what browsers do with these labels (WHATWG Encoding)
        if codec is not None and "16" not in codec and "32" not in codec:  # those would need a BOM
            return decode_as(data, codec, pretty_name(codec), announce=False)
    return decode_text(data, name)


def parse_html(
    text: str, name: str = "", xhtml: bool = False, unread: list[str] | None = None
) -> etree._Element | None:
    """The document's root element; None when it holds no markup at all (empty, or only comments).

    References to entities the document declares itself are never expanded: the XML parser keeps them as
    entity nodes (add_html reads them as nothing); for the HTML parser they are taken out of the text, and
    their names added to `unread`, along with the DOCTYPE's internal subset (see dtd.py).
    """
    text = _XML_DECLARATION.sub("", text, count=1)
    if xhtml:
        try:
            return etree.fromstring(text, _XML_PARSER)
        except etree.XMLSyntaxError:
            pass  # not well-formed after all (named entities, stray tags): read it as HTML
    text, declared = cut_internal_subset(text)
    text = drop_references(text, declared, unread if unread is not None else [])
    if not text.strip():
        return None
    try:
        return lxml_html.document_fromstring(text, parser=_HTML_PARSER)
    except etree.ParserError:
        return None  # lxml's "Document is empty"
    except ValueError as exc:
        raise DocumentError(f"{name or 'The document'} cannot be read as HTML ({exc}).") from None


def _local(tag: str) -> str:
    return tag.rpartition("}")[2].lower()


def _child(root: etree._Element, name: str) -> etree._Element | None:
    return next((el for el in root if isinstance(el.tag, str) and _local(el.tag) == name), None)


def add_html(
    builder: Builder, root: etree._Element, *, headings: bool, anchors: frozenset[str] = frozenset()
) -> HtmlText:
    """Append the readable text under `root` to `builder`; record headings when asked."""
    found = HtmlText()
    head = _child(root, "head")
    title = next(head.iter("{*}title"), None) if head is not None else None
    if title is not None:
        found.title = clean_line(element_text(title)) or None
    body = _child(root, "body")
    body = root if body is None else body
    pre = 0  # depth inside <pre>: keep its line breaks
    in_item = 0  # depth inside <li>/<dd>: a nested list stays in the item's paragraph
    heading: tuple[int, int] | None = None  # (level, start offset) of the open h1-h6
    walk = etree.iterwalk(body, events=("start", "end", "comment", "pi"))
    for event, el in walk:
        tag = el.tag
        if not isinstance(tag, str):  # comment, processing instruction or entity: only its tail is text
            if event != "end":  # an entity reference comes as "start" and "end"; its tail is read once
                if tag is etree.Entity:
                    found.unread.append(el.name)
                _text(builder, el.tail, pre)
            continue
        tag = _local(tag)
        if event == "start":
            if tag in _SKIP or _hidden(el):
                walk.skip_subtree()
                continue
            if tag == "math" and el.get("alttext"):
                builder.text(el.get("alttext"))
                walk.skip_subtree()
                continue
            if anchors:
                key = el.get("id") or el.get("name")
                if key in anchors and key not in found.anchors:
                    found.anchors[key] = builder.position()
            if tag in _HEADINGS:
                builder.paragraph_break()
                heading = (_HEADINGS[tag], builder.position())
            elif tag in _LINES:
                builder.line_break()
                in_item += tag != "tr"
            elif tag in _CELLS:
                builder.separate(CELL_SEPARATOR)
            elif tag == "br":
                builder.line_break()
            elif tag in _BLOCK:
                if tag in _LISTS and in_item:
                    builder.line_break()
                else:
                    builder.paragraph_break()
                pre += tag == "pre"
            _text(builder, el.text, pre)
        else:
            if tag in _SKIP or _hidden(el):
                pass
            elif tag in _HEADINGS and heading is not None:
                builder.paragraph_break()
                level, start = heading
                heading = None
                if builder.length > start:
                    title = builder.last_paragraph().replace("\n", " ")
                    found.first_heading = found.first_heading or title
                    if headings:
                        builder.add_heading(title, start, level)
            elif tag in _LINES:
                builder.line_break()
                in_item -= tag != "tr"
            elif tag in _BLOCK:
                if tag in _LISTS and in_item:
                    builder.line_break()
                else:
                    builder.paragraph_break()
                pre -= tag == "pre"
            if el is not body:
                _text(builder, el.tail, pre)
    builder.paragraph_break()
    return found


def element_text(el: etree._Element) -> str:
    """The text inside `el` as a reader sees it (titles, table-of-contents labels): an entity reference
    (never expanded), a comment or a processing instruction adds nothing, the text after it does.
    itertext() would give "&author;" for the reference."""
    parts = []
    for event, node in etree.iterwalk(el, events=("start", "end", "comment", "pi")):
        if event == "start" and isinstance(node.tag, str):
            parts.append(node.text or "")
        elif node is not el and event in ("end", "comment", "pi"):
            parts.append(node.tail or "")  # an entity reference ends once; a comment or PI only comes once
    return "".join(parts)


def _hidden(el: etree._Element) -> bool:
    """Hidden, or marked for assistive technology as not to be read: decoration, print page numbers."""
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    role = el.get(_OPS_TYPE) or el.get("epub:type") or el.get("role")
    return role is not None and "pagebreak" in role


def _text(builder: Builder, text: str | None, pre: int) -> None:
    if not text:
        return
    if not pre:
        builder.text(text)  # the builder collapses HTML's whitespace runs (and leaves no-break spaces)
        return
    lines = text.split("\n")
    for line in lines[:-1]:
        builder.text(line)
        builder.line_break()
    builder.text(lines[-1])
