"""EPUB 2 and 3 with zipfile + lxml: chapters in spine order, titled from the table of contents.

Why not a library: ebooklib (the maintained one) is AGPL-licensed, reads every item of the book into
memory, and its NCX/nav handling would still need the walk below; the container format is small (a zip,
container.xml -> OPF -> manifest + spine), and lxml already reads the chapters.

Headings come from the EPUB 3 nav document (nav epub:type="toc") or else the EPUB 2 NCX, each pointing
at its chapter's start or at the element its #fragment names. A book without a usable table of
contents gets one heading per chapter: the chapter's first h1-h6, else the chapter file's name.

Refused with one line: not a zip, no container.xml/OPF, a spine naming files that are not in the book,
and DRM: content documents listed as encrypted in META-INF/encryption.xml (fonts obfuscated with the IDPF
or Adobe algorithms are not DRM and are fine). A rights.xml without encrypted chapters is read: the
chapters are plain, so there is nothing to refuse.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
import zlib
from dataclasses import dataclass
from urllib.parse import unquote, urldefrag

from lxml import etree

from fasttts_desktop.engine.text.documents.budget import MAX_UNPACKED, UNPACK_BLOCK, megabytes
from fasttts_desktop.engine.text.documents.builder import Builder
from fasttts_desktop.engine.text.documents.dtd import unread_notice
from fasttts_desktop.engine.text.documents.encoding import looks_binary
from fasttts_desktop.engine.text.documents.html import add_html, decode_html, element_text, parse_html
from fasttts_desktop.engine.text.documents.model import Document, DocumentError

# ZIP_STORED, ZIP_DEFLATED: the two methods the EPUB container standard (OCF) allows; zipfile inflates
# them block by block, bounded by the read size asked for.
_METHODS = frozenset((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED))
# zipfile raises NotImplementedError for a compression method it lacks, RuntimeError for encryption,
# ValueError for a member offset that points before the file's start (a damaged directory record)
_UNPACK_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
    ValueError,
)
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 9: "Deflate64", 93: "Zstandard"}

_FONT_OBFUSCATION = frozenset(("http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"))
_OPS_TYPE = "{http://www.idpf.org/2007/ops}type"
_CHAPTER_TYPES = frozenset(("application/xhtml+xml", "text/html", "application/xml", "text/xml"))
_XML = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=True)


@dataclass(frozen=True)
class _Item:
    path: str  # zip member name
    media_type: str
    properties: tuple[str, ...]


@dataclass(frozen=True)
class _TocEntry:
    title: str
    path: str
    fragment: str
    level: int


def read_epub(data: bytes, name: str = "") -> Document:
    book = _Book(data, name or "The EPUB")
    opf_path = book.rootfile()
    opf = book.xml(opf_path, "its package document (OPF)")
    items = _manifest(opf, posixpath.dirname(opf_path))
    spine = book.spine(opf, items)
    book.refuse_drm(spine)
    toc = book.toc(opf, items)
    wanted: dict[str, set[str]] = {}
    for entry in toc:
        wanted.setdefault(entry.path, set()).add(entry.fragment)

    builder = Builder(name)
    starts: dict[str, int] = {}  # chapter path -> offset, for chapters with text
    anchors: dict[str, dict[str, int]] = {}
    first_headings: dict[str, str | None] = {}
    notices: list[str] = []
    for item in spine:
        unread: list[str] = []
        root = book.chapter(item, notices, unread)
        if root is None:
            continue
        builder.paragraph_break()
        start = builder.position()
        found = add_html(builder, root, headings=False, anchors=frozenset(wanted.get(item.path, ())))
        unread += found.unread
        if unread:
            notices.append(unread_notice(posixpath.basename(item.path), unread))
        if builder.length > start:
            starts.setdefault(item.path, start)
            anchors[item.path] = found.anchors
            first_headings[item.path] = found.first_heading
    usable = [entry for entry in toc if entry.path in starts]
    for entry in usable:
        offset = anchors[entry.path].get(entry.fragment, starts[entry.path])
        builder.add_heading(entry.title, offset, entry.level)
    if not usable:
        for path, start in starts.items():
            stem = posixpath.splitext(posixpath.basename(path))[0]
            builder.add_heading(first_headings[path] or stem, start, 1)
    text, headings = builder.build()
    if not text:
        raise DocumentError(f"{book.label} has no text to read.")
    return Document(text, headings, book.title(opf), "epub", tuple(notices), name)


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _manifest(opf: etree._Element, base: str) -> dict[str, _Item]:
    items = {}
    for el in opf.iter("{*}item"):
        href, item_id = el.get("href"), el.get("id")
        if href and item_id:
            path = posixpath.normpath(posixpath.join(base, unquote(urldefrag(href)[0])))
            items[item_id] = _Item(path, el.get("media-type", ""), tuple(el.get("properties", "").split()))
    return items


class _Book:
    """The zip, read with bounds: every byte inflated counts against MAX_UNPACKED (budget.py)."""

    def __init__(self, data: bytes, label: str) -> None:
        self.label = label
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
        # NotImplementedError: a directory entry asking for a newer zip version than zipfile reads
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, NotImplementedError, EOFError):
            raise DocumentError(f"{label} is not a valid EPUB (not a zip archive, or damaged).") from None
        self.names = set(self.zip.namelist())
        self._folded = {n.casefold(): n for n in self.names}
        self._unpacked = 0

    def damaged(self, what: str) -> DocumentError:
        return DocumentError(f"{self.label} is damaged: {what}.")

    def find(self, path: str) -> str | None:
        """The member's name, forgiving a difference in case (common in hand-made books)."""
        return path if path in self.names else self._folded.get(path.casefold())

    def read(self, path: str, what: str) -> bytes:
        member = self.find(path)
        if member is None:
            raise self.damaged(f"{what} ({path}) is missing")
        info = self.zip.getinfo(member)
        if info.compress_type not in _METHODS:
            method = _METHOD_NAMES.get(info.compress_type, f"compression method {info.compress_type}")
            raise self.damaged(
                f"{what} ({path}) is compressed with {method}, which EPUB does not allow (only deflate)"
            )
        # The declared size is not trusted: what counts is what comes out of the decompressor.
        blocks = []
        try:
            with self.zip.open(info) as f:
                while block := f.read(UNPACK_BLOCK):
                    self._unpacked += len(block)
                    if self._unpacked > MAX_UNPACKED:
                        raise DocumentError(
                            f"{self.label} is too large to open "
                            f"(its files unpack to over {megabytes(MAX_UNPACKED)})."
                        )
                    blocks.append(block)
        except _UNPACK_ERRORS:
            raise self.damaged(f"{what} ({path}) cannot be unpacked") from None
        return b"".join(blocks)

    def xml(self, path: str, what: str) -> etree._Element:
        data = self.read(path, what)
        try:
            root = etree.fromstring(data, _XML)
        except etree.XMLSyntaxError:
            root = None
        if root is None:
            raise self.damaged(f"{what} ({path}) is not readable XML")
        return root

    def rootfile(self) -> str:
        if self.find("META-INF/container.xml") is None:
            raise self.damaged("META-INF/container.xml is missing")
        container = self.xml("META-INF/container.xml", "its container file")
        for el in container.iter("{*}rootfile"):
            path = el.get("full-path")
            if (
                path
                and el.get("media-type", "application/oebps-package+xml") == "application/oebps-package+xml"
            ):
                return unquote(path)
        raise self.damaged("container.xml names no package document (OPF)")

    def spine(self, opf: etree._Element, items: dict[str, _Item]) -> list[_Item]:
        spine = []
        for ref in opf.iter("{*}itemref"):
            item = items.get(ref.get("idref", ""))
            if item is None:
                raise self.damaged(f"its spine names {ref.get('idref')!r}, which is not in its manifest")
            member = self.find(item.path)
            if member is None:
                raise self.damaged(f"its spine names {item.path}, which is not in the book")
            spine.append(_Item(member, item.media_type, item.properties))
        if not spine:
            raise self.damaged("its spine lists no chapters")
        return spine

    def refuse_drm(self, spine: list[_Item]) -> None:
        if self.find("META-INF/encryption.xml") is None:
            return
        encryption = self.xml("META-INF/encryption.xml", "its encryption list")
        encrypted = set()
        for data in encryption.iter("{*}EncryptedData"):
            method = next(data.iter("{*}EncryptionMethod"), None)
            ref = next(data.iter("{*}CipherReference"), None)
            algorithm = method.get("Algorithm", "") if method is not None else ""
            if ref is not None and algorithm not in _FONT_OBFUSCATION:
                encrypted.add(posixpath.normpath(unquote(ref.get("URI", ""))).casefold())
        if any(item.path.casefold() in encrypted for item in spine):
            raise DocumentError(
                f"{self.label} is protected by DRM{self._scheme()}; fasttts-desktop cannot read it."
            )

    def _scheme(self) -> str:
        if self.find("META-INF/rights.xml") is not None:
            rights = self.read("META-INF/rights.xml", "its rights file")
            return " (Adobe ADEPT)" if b"ns.adobe.com/adept" in rights else ""
        if self.find("META-INF/license.lcpl") is not None:
            return " (Readium LCP)"
        if self.find("META-INF/sinf.xml") is not None:
            return " (Apple FairPlay)"
        return ""

    def chapter(self, item: _Item, notices: list[str], unread: list[str]) -> etree._Element | None:
        """The chapter's parsed document, or None for a spine item that is not text (an SVG page);
        `unread` gets the entity references the HTML parser's path took out (see parse_html)."""
        is_html = item.path.casefold().endswith((".xhtml", ".html", ".htm", ".xht"))
        if item.media_type not in _CHAPTER_TYPES and not is_html:
            return None
        data = self.read(item.path, "a chapter")
        if looks_binary(data) is not None:  # encrypted without saying so in encryption.xml, or broken
            raise self.damaged(f"the chapter {item.path} is not text (encrypted or corrupt)")
        text, chapter_notices = decode_html(data, item.path)
        notices.extend(f"{posixpath.basename(item.path)}: {n}" for n in chapter_notices)
        try:
            return parse_html(text, item.path, xhtml=True, unread=unread)  # None: an empty chapter
        except DocumentError:
            notices.append(f"{posixpath.basename(item.path)} could not be read and was left out.")
            return None

    def toc(self, opf: etree._Element, items: dict[str, _Item]) -> list[_TocEntry]:
        nav = next((item for item in items.values() if "nav" in item.properties), None)
        if nav is not None and self.find(nav.path) is not None:
            entries = self._nav_entries(nav.path)
            if entries:
                return entries
        spine = next(opf.iter("{*}spine"), None)
        ncx = items.get(spine.get("toc", "")) if spine is not None else None
        if ncx is None:
            ncx = next((i for i in items.values() if i.media_type == "application/x-dtbncx+xml"), None)
        if ncx is not None and self.find(ncx.path) is not None:
            return self._ncx_entries(ncx.path)
        return []

    def _nav_entries(self, path: str) -> list[_TocEntry]:
        text, _ = decode_html(self.read(path, "its table of contents"), path)
        root = parse_html(text, path, xhtml=True)
        navs = [el for el in root.iter("{*}nav") if isinstance(el.tag, str)] if root is not None else []
        toc = next((n for n in navs if "toc" in (n.get(_OPS_TYPE) or n.get("epub:type") or "").split()), None)
        toc = toc if toc is not None else (navs[0] if navs else None)
        entries: list[_TocEntry] = []
        top = next((el for el in toc.iter() if _local(el) == "ol"), None) if toc is not None else None
        if top is not None:
            self._nav_list(top, posixpath.dirname(path), 1, entries)
        return entries

    def _nav_list(self, ol: etree._Element, base: str, level: int, out: list[_TocEntry]) -> None:
        for li in ol:
            if _local(li) != "li":
                continue
            for child in li:
                tag = _local(child)
                if tag in ("a", "span"):
                    self._entry(element_text(child), child.get("href"), base, level, out)
                elif tag == "ol":
                    self._nav_list(child, base, level + 1, out)

    def _ncx_entries(self, path: str) -> list[_TocEntry]:
        root = self.xml(path, "its table of contents (NCX)")
        nav_map = next(root.iter("{*}navMap"), None)
        entries: list[_TocEntry] = []
        if nav_map is not None:
            self._ncx_points(nav_map, posixpath.dirname(path), 1, entries)
        return entries

    def _ncx_points(self, parent: etree._Element, base: str, level: int, out: list[_TocEntry]) -> None:
        for point in parent:
            if _local(point) != "navPoint":
                continue
            label = next(point.iter("{*}text"), None)
            content = next((c for c in point if _local(c) == "content"), None)
            title = element_text(label) if label is not None else ""
            self._entry(title, content.get("src") if content is not None else None, base, level, out)
            self._ncx_points(point, base, level + 1, out)

    def _entry(self, title: str, href: str | None, base: str, level: int, out: list[_TocEntry]) -> None:
        title = " ".join(title.split())
        if not title or not href:
            return
        target, fragment = urldefrag(href)
        path = posixpath.normpath(posixpath.join(base, unquote(target)))
        member = self.find(path)
        if member is not None:
            out.append(_TocEntry(title, member, unquote(fragment), level))

    def title(self, opf: etree._Element) -> str | None:
        el = next(opf.iter("{http://purl.org/dc/elements/1.1/}title"), None)
        title = " ".join(element_text(el).split()) if el is not None else ""
        return title or None
