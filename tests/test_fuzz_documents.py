"""Fuzzing the document importers with Hypothesis: generated text, Markdown, HTML and EPUB structures, and
raw or damaged bytes in each format.

For every input: no exception but DocumentError (a one-line message), and what was read is the input's
text, in order: for plain text every character (cleaned as the builder cleans: NFC, controls to spaces,
soft hyphens and stray BOMs dropped) either reaches the text or the import is refused or noticed; for
the structures, every word the generator placed where a reader sees it, once, in order, and none of the
words it hid (scripts, styles, ruby readings, link targets, its own DTD entities).

The budget is fixed so that CI spends about a minute here on 2 cores: a bounded number of examples per
test, no example database (a failure is shrunk and printed with the call that reproduces it; only
Hypothesis's own caches go to the ignored .hypothesis/), derandomized under CI so a failure there is
reproducible; a deadline per example far above what one takes (milliseconds) catches a hang or a
quadratic blow-up and names the example; the peak memory of the whole run is bounded.
"""

from __future__ import annotations

import io
import os
import re
import unicodedata
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fasttts_desktop.engine.text.documents import DocumentError, read_document_bytes

settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("FASTTTS_FUZZ_EXAMPLES", "600")),
    deadline=timedelta(seconds=10),
    database=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ = settings.get_profile("fuzz")
MAX_PEAK_GROWTH_MB = 512  # the whole fuzzing run: one example's document is at most kilobytes


@pytest.fixture(autouse=True)
def bounded_memory():
    """The peak resident memory of the process may grow by at most MAX_PEAK_GROWTH_MB during a test."""

    def peak_kb() -> int:
        with Path("/proc/self/status").open(encoding="ascii") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

    try:
        with Path("/proc/self/clear_refs").open("w", encoding="ascii") as clear:
            clear.write("5")  # the peak starts again from what is resident now
    except OSError:
        pytest.skip("needs Linux's /proc/self/clear_refs to measure the peak")
    before = peak_kb()
    yield
    assert (peak_kb() - before) / 1024 < MAX_PEAK_GROWTH_MB


def read(data: bytes, kind: str, name: str):
    """The Document, or None when refused with a one-line DocumentError (any other exception fails)."""
    try:
        return read_document_bytes(data, kind, name)
    except DocumentError as exc:
        message = str(exc)
        assert message and "\n" not in message and len(message) < 500, message
        return None


def check_shape(document) -> None:
    text = document.text
    assert text == text.strip() and "\n\n\n" not in text
    assert all(0 <= h.offset <= len(text) and "\n" not in h.title for h in document.headings)
    assert all("\n" not in n for n in document.notices)


WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
WORDS = st.lists(WORD, min_size=1, max_size=6)


def tokens(text: str) -> list[str]:
    """The generated words in `text`: its runs of a-z (punctuation and separators the importers add,
    such as table cells' commas, are not words)."""
    return re.findall(r"[a-z]+", text)


# --- plain text: every character read or reported ---------------------------------------------------------

_CONTROLS = dict.fromkeys([*range(32), *range(127, 160), 8232, 8233], " ")
_CONTROLS.update({0xAD: None, 0xFEFF: None})


def visible(text: str) -> str:
    """What of `text` must reach the document: NFC, controls dropped, soft hyphens and BOMs gone, no
    white space (where lines and paragraphs break is the importer's to decide)."""
    cleaned = unicodedata.normalize("NFC", text.translate(_CONTROLS))
    return "".join(c for c in cleaned if not c.isspace())


@FUZZ
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=400))
def test_plain_text_every_character_is_read_or_reported(text):
    document = read(text.encode("utf-8"), "txt", "fuzz.txt")
    if document is None:  # refused: binary-looking, or nothing to read
        return
    check_shape(document)
    if document.notices:  # decoded another way than UTF-8, and said so
        return
    got = "".join(c for c in unicodedata.normalize("NFC", document.text) if not c.isspace())
    assert got == visible(text)


@FUZZ
@given(st.lists(WORDS, min_size=1, max_size=12), st.sampled_from(["\n", "\r\n", "\n\n", "\f", "\u2029"]))
def test_plain_text_lines_keep_their_words_in_order(lines, newline):
    text = newline.join(" ".join(words) for words in lines)
    document = read(text.encode(), "txt", "lines.txt")
    assert document is not None
    assert tokens(document.text) == [w for words in lines for w in words]


# --- Markdown structures ---------------------------------------------------------------------------------


@st.composite
def markdown(draw):
    """(source, the words a reader sees, in order)."""
    parts, seen = [], []
    for _ in range(draw(st.integers(1, 8))):
        words = draw(WORDS)
        kind = draw(
            st.sampled_from(
                ["p", "h", "ul", "ol", "quote", "code", "fence", "link", "image", "table", "html"]
            )
        )
        line = " ".join(words)
        if kind == "p":
            parts.append(line)
        elif kind == "h":
            parts.append("#" * draw(st.integers(1, 6)) + " " + line)
        elif kind == "ul":
            parts.append("\n".join(f"- {w}" for w in words))
        elif kind == "ol":
            parts.append("\n".join(f"{n}. {w}" for n, w in enumerate(words, 1)))
        elif kind == "quote":
            parts.append("> " + line)
        elif kind == "code":
            parts.append("    " + line)
        elif kind == "fence":
            parts.append(f"```\n{line}\n```")
        elif kind == "link":
            parts.append(f"[{line}](https://example.com/{draw(WORD)}hidden)")
        elif kind == "image":
            parts.append(f"![{line}](picture.png)")
            words = []
        elif kind == "table":
            parts.append(f"| {' | '.join(words)} |\n|{'---|' * len(words)}")
        else:
            parts.append(f"<div>\n<p>{line}</p>\n</div>")
        seen += words
    return "\n\n".join(parts) + "\n", seen


@FUZZ
@given(markdown())
def test_markdown_structures_read_their_visible_words_once_in_order(doc):
    source, seen = doc
    document = read(source.encode(), "md", "fuzz.md")
    if not seen:
        assert document is None  # only pictures: nothing to read, said in one line
        return
    assert document is not None
    check_shape(document)
    assert tokens(document.text) == seen


@FUZZ
@given(st.text(max_size=300))
def test_markdown_of_any_characters_never_fails_unexpectedly(source):
    document = read(source.encode("utf-8", "surrogatepass"), "md", "any.md")
    if document is not None:
        check_shape(document)


# --- HTML structures -------------------------------------------------------------------------------------

_CONTAINERS = ["p", "div", "span", "b", "i", "em", "section", "blockquote", "li", "td", "pre", "h2", "a"]
_HIDDEN = ["script", "style", "rt", "noscript", "template", "textarea"]


@st.composite
def html_body(draw, depth: int = 0):
    """(markup, the words it shows, in order). Text pieces are set off by spaces so words never fuse."""
    pieces, seen = [], []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["text", "element", "hidden", "entity", "comment", "br", "img"]))
        if kind == "text" or (kind == "element" and depth >= 3):
            words = draw(WORDS)
            pieces.append(" " + " ".join(words) + " ")
            seen += words
        elif kind == "element":
            tag = draw(st.sampled_from(_CONTAINERS))
            inner, inner_seen = draw(html_body(depth + 1))
            attrs = ' href="https://example.com/linktarget"' if tag == "a" else ""
            pieces.append(f"<{tag}{attrs}>{inner}</{tag}>")
            seen += inner_seen
        elif kind == "hidden":
            tag = draw(st.sampled_from(_HIDDEN))
            pieces.append(f"<{tag}> {' '.join(draw(WORDS)).upper()} </{tag}>")  # upper case: never a token
        elif kind == "entity":
            pieces.append(draw(st.sampled_from([" &amp; ", " &#233; ", " &lt;B&gt; ", " &ownentity; "])))
        elif kind == "comment":
            pieces.append(f"<!-- {draw(WORD)} -->")
        elif kind == "br":
            pieces.append("<br/>")
        else:
            pieces.append(f'<img alt="{draw(WORD).upper()}" src="x.png"/>')
    return "".join(pieces), seen


def html_page(body: str, *, xhtml: bool, dtd: bool) -> str:
    subset = ' [\n<!ENTITY ownentity "EXPANDED ]> TEXT">\n<!ENTITY % pe "x">\n]' if dtd else ""
    head = '<?xml version="1.0" encoding="utf-8"?>\n' if xhtml else ""
    ns = ' xmlns="http://www.w3.org/1999/xhtml"' if xhtml else ""
    title = "<head><title>TITLE</title></head>"
    return f"{head}<!DOCTYPE html{subset}>\n<html{ns}>{title}<body>{body}</body></html>"


@FUZZ
@given(html_body(), st.booleans(), st.booleans())
def test_html_structures_read_their_visible_words_once_in_order(body, xhtml, dtd):
    markup, seen = body
    if "&ownentity;" in markup and not dtd:
        markup = markup.replace("&ownentity;", "")
    page = html_page(markup, xhtml=xhtml, dtd=dtd)
    document = read(page.encode(), "html", "fuzz.xhtml" if xhtml else "fuzz.html")
    if not seen:
        return  # only hidden things: refused as empty, or read as punctuation
    assert document is not None
    check_shape(document)
    assert tokens(document.text) == seen
    assert "TITLE" not in document.text and "EXPANDED" not in document.text and "]>" not in document.text


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("<>/!-[]&;#=\"' ab\nDOCTYPEENTITYhtmlp")), max_size=300))
def test_markup_debris_never_fails_unexpectedly(source):
    for name in ("debris.html", "debris.xhtml"):
        document = read(source.encode(), "html", name)
        if document is not None:
            check_shape(document)
            assert "EXPANDED" not in document.text


# --- EPUB structures and damaged zips ----------------------------------------------------------------------

_CONTAINER = (
    '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
    '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
    "</rootfiles></container>"
)


def epub_bytes(chapters: list[str], *, nav: bool, method: int) -> bytes:
    items = "".join(
        f'<item id="c{n}" href="c{n}.xhtml" media-type="application/xhtml+xml"/>'
        for n in range(len(chapters))
    )
    if nav:
        items += '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
    spine = "".join(f'<itemref idref="c{n}"/>' for n in range(len(chapters)))
    opf = (
        '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata/>'
        f"<manifest>{items}</manifest><spine>{spine}</spine></package>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        z.writestr("META-INF/container.xml", _CONTAINER)
        z.writestr("OEBPS/content.opf", opf)
        if nav:
            links = "".join(f'<li><a href="c{n}.xhtml">CHAPTER</a></li>' for n in range(len(chapters)))
            z.writestr(
                "OEBPS/nav.xhtml",
                html_page(f'<nav epub:type="toc"><ol>{links}</ol></nav>', xhtml=True, dtd=False).replace(
                    "<html ", '<html xmlns:epub="http://www.idpf.org/2007/ops" '
                ),
            )
        for n, chapter in enumerate(chapters):
            z.writestr(f"OEBPS/c{n}.xhtml", chapter)
    return buf.getvalue()


@FUZZ
@given(
    st.lists(st.tuples(html_body(), st.booleans()), min_size=1, max_size=4),
    st.booleans(),
    st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]),
)
def test_epub_structures_read_their_chapters_words_once_in_order(chapters, nav, method):
    pages, seen = [], []
    for (markup, words), dtd in chapters:
        if not dtd:
            markup = markup.replace("&ownentity;", "")
        pages.append(html_page(markup, xhtml=True, dtd=dtd))
        seen += words
    document = read(epub_bytes(pages, nav=nav, method=method), "epub", "fuzz.epub")
    if not seen:
        return
    assert document is not None
    check_shape(document)
    assert tokens(document.text) == seen
    assert "EXPANDED" not in document.text and "CHAPTER" not in document.text


_SAMPLE_BOOK = epub_bytes(
    [html_page("<h1>One</h1><p>first words</p>", xhtml=True, dtd=False)],
    nav=True,
    method=zipfile.ZIP_DEFLATED,
)


@FUZZ
@given(
    st.lists(st.tuples(st.integers(0, len(_SAMPLE_BOOK) - 1), st.integers(0, 255)), min_size=1, max_size=8)
)
def test_damaged_epubs_are_read_or_refused_in_one_line(flips):
    data = bytearray(_SAMPLE_BOOK)
    for at, value in flips:
        data[at] = value
    document = read(bytes(data), "epub", "damaged.epub")
    if document is not None:
        check_shape(document)


@FUZZ
@given(st.binary(max_size=600), st.sampled_from(["txt", "md", "html", "epub", ""]))
def test_any_bytes_in_any_format_are_read_or_refused_in_one_line(data, kind):
    document = read(data, kind, "bytes")
    if document is not None:
        check_shape(document)
