"""Document importers on documents the tests write themselves: plain text and its encodings, Markdown,
HTML, and opening files (what is refused and how it is said). EPUB and PDF have their own files."""

from __future__ import annotations

import codecs
import os
import sys
import textwrap
from pathlib import Path

import pytest

from fasttts_desktop.engine.text.documents import (
    SUPPORTED_SUFFIXES,
    Document,
    DocumentError,
    Heading,
    load_document,
    read_document_bytes,
)
from fasttts_desktop.engine.text.documents import load as load_module
from fasttts_desktop.engine.types import EngineError


def check_layout(doc: Document) -> None:
    """What every importer promises about Document.text."""
    assert doc.text == doc.text.strip()
    assert "\n\n\n" not in doc.text
    assert all(line == line.strip() and line for p in doc.text.split("\n\n") for line in p.split("\n"))
    assert not any(c < " " and c != "\n" for c in doc.text)
    assert [h.offset for h in doc.headings] == sorted(h.offset for h in doc.headings)
    assert all(0 <= h.offset <= len(doc.text) and h.title == h.title.strip() for h in doc.headings)


def txt(data: bytes, name: str = "a.txt") -> Document:
    doc = read_document_bytes(data, "txt", name)
    check_layout(doc)
    return doc


# -- plain text ------------------------------------------------------------------------------------


DICKENS = (
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
    "foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, "
    "it was the season of Darkness, it was the spring of hope, it was the winter of despair."
)
DICKENS_2 = (
    "There were a king with a large jaw and a queen with a plain face, on the throne of England; there "
    "were a king with a large jaw and a queen with a fair face, on the throne of France. In both countries "
    "it was clearer than crystal to the lords of the State preserves of loaves and fishes, that things in "
    "general were settled for ever."
)


def test_txt_unwraps_hard_wrapped_prose_and_keeps_verse_and_lists():
    wrapped = "\n\n".join(textwrap.fill(p, 72) for p in (DICKENS, DICKENS_2))
    assert wrapped.count("\n") > 8
    verse = "    Tyger Tyger, burning bright,\n    In the forests of the night;\n"
    items = "Things to bring:\n- a lamp\n- a rope that is long enough to reach the bottom of the old well\n"
    doc = txt(f"CHAPTER I\n\n{wrapped}\n\n\n{verse}\n{items}".encode())
    assert doc.text == (
        f"CHAPTER I\n\n{DICKENS}\n\n{DICKENS_2}\n\n"
        "Tyger Tyger, burning bright,\nIn the forests of the night;\n\n"
        "Things to bring:\n- a lamp\n- a rope that is long enough to reach the bottom of the old well"
    )
    assert doc.kind == "txt" and doc.headings == () and doc.title is None and doc.notices == ()


def test_wrapped_japanese_joins_without_spaces():
    first = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。" * 10
    second = "何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。" * 9
    wrapped = "\n\n".join("\n".join(p[i : i + 55] for i in range(0, len(p), 55)) for p in (first, second))
    assert wrapped.count("\n") > 8
    assert txt(wrapped.encode()).text == f"{first}\n\n{second}"
    source = "吾輩は猫である。\n名前はまだ無い。\nA soft\nbreak."
    assert read_document_bytes(source.encode(), "md").text == "吾輩は猫である。名前はまだ無い。 A soft break."


def test_txt_one_paragraph_per_line_becomes_paragraphs():
    long1 = "This file was written with one paragraph per line, as editors without wrapping do."
    long2 = "So every long line is a paragraph of its own, and gets a blank line after it."
    doc = txt(f"{long1}\r\n{long2}\r\nShort line\r\nanother short\r\n".encode())
    assert doc.text == f"{long1}\n\n{long2}\n\nShort line\nanother short"


def test_text_is_nfc_with_controls_turned_into_spaces():
    data = "Cafe\u0301 a\x07b\tc  d\u00adef \ufeffg\fnext\u2029third\x85line".encode()
    doc = txt(data)
    assert doc.text == "Café a b c def g\n\nnext\n\nthird\nline"
    assert doc.text.startswith("Caf\u00e9")


def test_empty_text_is_refused():
    with pytest.raises(DocumentError, match=r"^a\.txt has no text to read\.$"):
        txt(b"  \n\n \t\n")


@pytest.mark.parametrize(
    ("encoded", "notices"),
    [
        pytest.param(codecs.BOM_UTF8 + "Grüße, naïve café — 東京".encode(), (), id="utf8-bom"),
        pytest.param("Grüße, naïve café — 東京".encode(), (), id="utf8"),
        pytest.param(
            codecs.BOM_UTF16_LE + "Grüße, naïve café — 東京".encode("utf-16-le"), (), id="utf16le-bom"
        ),
        pytest.param(
            codecs.BOM_UTF16_BE + "Grüße, naïve café — 東京".encode("utf-16-be"), (), id="utf16be-bom"
        ),
        pytest.param(
            codecs.BOM_UTF32_LE + "Grüße, naïve café — 東京".encode("utf-32-le"), (), id="utf32le-bom"
        ),
    ],
)
def test_unicode_encodings_with_and_without_bom(encoded, notices):
    doc = txt(encoded)
    assert doc.text == "Grüße, naïve café — 東京"
    assert doc.notices == notices


def test_bomless_utf16_is_recognised_and_named():
    doc = txt("Plain words in UTF-16 without a mark.".encode("utf-16-le"))
    assert doc.text == "Plain words in UTF-16 without a mark."
    assert doc.notices == ("Decoded as UTF-16 LE without a byte order mark (detected).",)


def test_cp1252_is_detected_and_named():
    text = "Il était une fois une belle fête à la forêt; « ça va », dit-elle — naïve, déjà vu.\n" * 3
    doc = txt(text.encode("cp1252"))
    assert doc.text == "\n\n".join([text.strip().split("\n")[0]] * 3)
    assert doc.notices == ("Decoded as windows-1252 (detected).",)


def test_lossy_utf8_names_the_replaced_characters():
    data = "Café crème, déjà vu; naïve résumé.".encode() + b" Na\xefve and \xe9t\xe9."
    doc = txt(data)
    assert doc.text == "Café crème, déjà vu; naïve résumé. Na\ufffdve and \ufffdt\ufffd."
    assert doc.notices == ("Decoded as UTF-8; 3 characters could not be decoded and were replaced.",)


@pytest.mark.parametrize(
    ("text", "encoding", "named"),
    [
        pytest.param(
            "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"
            "何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。",
            "shift_jis",
            "Shift-JIS (cp932)",
            id="shift-jis",
        ),
        pytest.param(
            "这是一个测试文件，用于检测编码是否正确。我们的目标是让读者能够正确地阅读中文文本，而不会出现乱码。",
            "gb18030",
            "GB18030",
            id="gb18030",
        ),
    ],
)
def test_east_asian_encodings_via_the_detector(text, encoding, named):
    doc = txt(text.encode(encoding))
    assert doc.text == text
    assert doc.notices == (f"Decoded as {named} (detected).",)


@pytest.mark.parametrize(
    ("data", "what"),
    [
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "a PNG image", id="png"),
        pytest.param(bytes(range(256)) * 64, "binary data", id="nul-heavy"),
        pytest.param(b"text\x01\x02\x03\x04\x05\x06" * 50, "binary data", id="control-bytes"),
    ],
)
def test_binary_txt_is_refused(data, what):
    with pytest.raises(DocumentError) as err:
        txt(data, "picture.txt")
    assert str(err.value) == f"picture.txt is not a text file (it looks like {what})."
    assert isinstance(err.value, EngineError)


# -- Markdown --------------------------------------------------------------------------------------


def md(source: str) -> Document:
    doc = read_document_bytes(source.encode(), "md", "notes.md")
    check_layout(doc)
    return doc


def test_markdown_speaks_text_not_markup():
    doc = md(
        "---\ntitle: Notes\ntags: [a, b]\n---\n"
        "# The Title\n\n"
        "Some *emphasis*, **bold** and `code` with a [link](https://example.org/x) and "
        "![a picture](pic.png) inline.\nSoft break here.  \nHard break there.\n\n"
        "## Lists\n\n- first item\n- second item\n  - nested item\n\n1. one\n2. two\n\n"
        "> A quoted line.\n\n"
        "```python\nprint('hi')\n\nx = 1\n```\n\n"
        "| Name | Age |\n|------|-----|\n| Ann  | 31  |\n\n"
        '<div class="note">Raw <b>HTML</b> block<script>alert(1)</script></div>\n\n'
        "Setext heading\n--------------\n\n"
        "See <https://example.org> &amp; more &copy;.\n"
    )
    assert doc.text == (
        "The Title\n\n"
        "Some emphasis, bold and code with a link and inline. Soft break here.\nHard break there.\n\n"
        "Lists\n\n"
        "first item\nsecond item\nnested item\n\n"
        "one\ntwo\n\n"
        "A quoted line.\n\n"
        "print('hi')\nx = 1\n\n"
        "Name, Age\nAnn, 31\n\n"
        "Raw HTML block\n\n"
        "Setext heading\n\n"
        "See https://example.org & more ©."
    )
    assert doc.headings == (
        Heading("The Title", 0, 1),
        Heading("Lists", doc.text.index("Lists"), 2),
        Heading("Setext heading", doc.text.index("Setext heading"), 2),
    )
    assert doc.title == "The Title" and doc.kind == "md"


# -- HTML ------------------------------------------------------------------------------------------


def html(source: str | bytes, name: str = "page.html") -> Document:
    doc = read_document_bytes(source.encode() if isinstance(source, str) else source, "html", name)
    check_layout(doc)
    return doc


def test_html_body_text_blocks_and_headings():
    doc = html(
        "<!DOCTYPE html><html><head><title> The  Page </title><style>p{color:red}</style>"
        "<script>var hidden = 1;</script></head><body>"
        "<nav><a href='/'>Home</a></nav>"
        "<h1>Main <em>heading</em></h1>"
        "<p>First   paragraph\n with <a href='https://x.y/z'>a link</a>, <img src=a.png alt='a cat'>"
        "<span hidden>secret</span> and <!-- a comment --> an end.</p>"
        "<div>Block one<div>Block two</div>tail text</div>"
        "<p>Line one<br>Line two</p>"
        "<template><p>never shown</p></template><noscript>Enable JS</noscript>"
        "<h2 id='s2'>Second</h2>"
        "<ul><li>apple</li><li>pear<ul><li>green pear</li></ul></li></ul>"
        "<table><tr><th>Name</th><th>Age</th></tr><tr><td>Ann</td><td>31</td></tr></table>"
        "<pre>  code line 1\n  code line 2</pre>"
        "<p><ruby>漢字<rp>(</rp><rt>かんじ</rt><rp>)</rp></ruby>を読む。</p>"
        "<h3>Third&nbsp;level</h3><p>10&nbsp;km &amp; more<span aria-hidden='true'>★</span>"
        "<span role='doc-pagebreak'>17</span>, where <math alttext='x squared'><msup><mi>x</mi><mn>2</mn>"
        "</msup></math> grows</p>"
        "</body></html>"
    )
    assert doc.text == (
        "Home\n\nMain heading\n\n"
        "First paragraph with a link, and an end.\n\n"
        "Block one\n\nBlock two\n\ntail text\n\n"
        "Line one\nLine two\n\n"
        "Second\n\n"
        "apple\npear\ngreen pear\n\n"
        "Name, Age\nAnn, 31\n\n"
        "code line 1\ncode line 2\n\n"
        "漢字を読む。\n\n"
        "Third\u00a0level\n\n10\u00a0km & more, where x squared grows"
    )
    assert doc.headings == (
        Heading("Main heading", doc.text.index("Main heading"), 1),
        Heading("Second", doc.text.index("Second"), 2),
        Heading("Third\u00a0level", doc.text.index("Third"), 3),
    )
    assert doc.title == "The Page" and doc.kind == "html"


def test_html_declared_charset_is_used():
    page = '<html><head><meta charset="windows-1252"></head><body><p>Déjà vu — “quoted”</p></body></html>'
    doc = html(page.encode("cp1252"))
    assert doc.text == "Déjà vu — “quoted”"
    assert doc.notices == ()


def test_xhtml_self_closed_title_does_not_swallow_the_body():
    page = (
        '<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head><title/>'
        '<script src="x.js"/></head><body><h1>Heading</h1><p>Body text.</p></body></html>'
    )
    doc = html(page, "page.xhtml")
    assert doc.text == "Heading\n\nBody text."
    assert doc.headings == (Heading("Heading", 0, 1),)


# -- opening files ---------------------------------------------------------------------------------


def test_load_document_reads_by_suffix(tmp_path):
    (tmp_path / "a.md").write_text("# Hi\n\nThere *you*.\n", encoding="utf-8")
    doc = load_document(tmp_path / "a.md")
    assert (doc.text, doc.kind, doc.name) == ("Hi\n\nThere you.", "md", "a.md")
    (tmp_path / "b.HTM").write_bytes(b"<p>Upper-case suffix</p>")
    assert load_document(str(tmp_path / "b.HTM")).text == "Upper-case suffix"
    assert ".txt" in SUPPORTED_SUFFIXES and ".epub" in SUPPORTED_SUFFIXES and ".pdf" in SUPPORTED_SUFFIXES


def test_unknown_suffix_text_is_read_with_a_notice_and_binary_is_refused(tmp_path):
    (tmp_path / "notes.xyz").write_text("Just some words.\n", encoding="utf-8")
    doc = load_document(tmp_path / "notes.xyz")
    assert doc.text == "Just some words." and doc.kind == "txt"
    assert doc.notices == ("notes.xyz has an unknown type (.xyz); it was read as plain text.",)
    (tmp_path / "blob.xyz").write_bytes(bytes(range(256)) * 8)
    with pytest.raises(DocumentError) as err:
        load_document(tmp_path / "blob.xyz")
    assert str(err.value) == f"Unsupported document type: .xyz (supported: {', '.join(SUPPORTED_SUFFIXES)})."
    (tmp_path / "legacy.xyz").write_bytes("Déjà vu, naïve café.".encode("cp1252"))
    with pytest.raises(DocumentError, match=r"^legacy\.xyz is not UTF-8 text\.$"):
        load_document(tmp_path / "legacy.xyz")


def test_unknown_suffix_is_sniffed_for_html_and_pdf(tmp_path):
    (tmp_path / "page").write_bytes(b"<!DOCTYPE html><html><body><p>Sniffed.</p></body></html>")
    doc = load_document(tmp_path / "page")
    assert (doc.text, doc.kind, doc.notices) == ("Sniffed.", "html", ())
    (tmp_path / "fake.dat").write_bytes(b"%PDF-1.4\n garbage")
    with pytest.raises(DocumentError, match=r"^fake\.dat is not a PDF or is damaged\.$"):
        load_document(tmp_path / "fake.dat")


def test_missing_file_and_folder_are_refused(tmp_path):
    with pytest.raises(DocumentError, match=r"^Cannot open gone\.txt: there is no such file\.$"):
        load_document(tmp_path / "gone.txt")
    (tmp_path / "shelf.epub").mkdir()
    with pytest.raises(DocumentError, match=r"^shelf\.epub is a folder, not a document\.$"):
        load_document(tmp_path / "shelf.epub")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    with pytest.raises(DocumentError) as err:
        load_document(fifo)
    assert (
        str(err.value)
        == "pipe.txt is not a regular file (a pipe, socket or device); only files can be opened."
    )
    if Path("/dev/zero").exists():  # a device that would never stop giving bytes
        with pytest.raises(DocumentError, match=r"^zero is not a regular file"):
            load_document("/dev/zero")


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("hidden")
    secret.chmod(0)
    with pytest.raises(DocumentError, match=r"^Cannot open secret\.txt: permission denied\.$"):
        load_document(secret)


def test_size_bounds(tmp_path, monkeypatch):
    monkeypatch.setattr(load_module, "MAX_FILE_BYTES", 1 << 20)
    (tmp_path / "big.txt").write_bytes(b"word " * 300_000)
    with pytest.raises(
        DocumentError, match=r"^big\.txt is too large to open \(1\.43 MB; the limit is 1 MB\)\.$"
    ):
        load_document(tmp_path / "big.txt")
    from fasttts_desktop.engine.text.documents import builder

    monkeypatch.setattr(builder, "MAX_CHARS", 1000)
    with pytest.raises(
        DocumentError, match=r"^long\.txt has too much text to open \(the limit is 1,000 characters\)\.$"
    ):
        read_document_bytes(("A paragraph of text.\n\n" * 100).encode(), "txt", "long.txt")


# -- the CLI's `say -f` ------------------------------------------------------------------------------


def test_cli_reads_documents_and_keeps_their_notices(tmp_path):
    import argparse

    from fasttts_desktop import cli
    from fasttts_desktop.engine.text.documents import DocumentError

    page = tmp_path / "page.html"
    page.write_bytes("<title>T</title><h1>Hello</h1><p>Déjà vu.</p>".encode("cp1252"))
    given = cli._read_text(argparse.Namespace(file=str(page), text=None))
    # `say` prints the notices (as warnings) before it speaks
    assert (given.text, given.notices) == ("Hello\n\nDéjà vu.", ["Decoded as windows-1252 (detected)."])
    with pytest.raises(DocumentError, match=r"^Cannot open gone\.epub: there is no such file\.$"):
        cli._read_text(argparse.Namespace(file=str(tmp_path / "gone.epub"), text=None))
