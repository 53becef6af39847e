"""EPUB import on books the tests zip themselves: nav TOC, NCX-only, no TOC, DRM, broken books."""

from __future__ import annotations

import io
import zipfile

import pytest

from fasttts_desktop.engine.text.documents import DocumentError, Heading, load_document, read_document_bytes

CONTAINER = (
    '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
    '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
    "</rootfiles></container>"
)


def chapter(title: str, body: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">'
        f"<head><title>{title}</title></head><body>{body}</body></html>"
    )


CHAPTERS = {
    "text/cover.xhtml": chapter("Cover", '<div><img src="../cover.jpg" alt="The cover"/></div>'),
    "text/ch1.xhtml": chapter(
        "One",
        '<section epub:type="chapter"><h1>Chapter One</h1>'
        '<p>It begins <span epub:type="pagebreak" id="p5" title="5">5</span>here.</p>'
        '<h2 id="part2">A Second Part</h2><p>It goes on.</p></section>',
    ),
    "text/ch 2.xhtml": chapter(
        "Two", "<h1>Chapter Two</h1><p>The middle&#160;part, with <i>style</i>.</p><p>And more.</p>"
    ),
    "text/ch3.xhtml": chapter("Three", "<p>No heading in this one.</p>"),
}
SPINE = ["text/cover.xhtml", "text/ch1.xhtml", "text/ch 2.xhtml", "text/ch3.xhtml"]
TEXT = (
    "Chapter One\n\nIt begins here.\n\nA Second Part\n\nIt goes on.\n\n"
    "Chapter Two\n\nThe middle\u00a0part, with style.\n\nAnd more.\n\n"
    "No heading in this one."
)

NAV = (
    '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml" '
    'xmlns:epub="http://www.idpf.org/2007/ops"><head><title>Contents</title></head><body>'
    '<nav epub:type="landmarks"><ol><li><a href="text/ch3.xhtml">Not the TOC</a></li></ol></nav>'
    '<nav epub:type="toc"><h1>Contents</h1><ol>'
    '<li><a href="text/ch1.xhtml">1. The Beginning</a><ol>'
    '<li><a href="text/ch1.xhtml#part2">1.1 Part Two</a></li></ol></li>'
    '<li><a href="text/ch%202.xhtml">2. The Middle</a></li>'
    '<li><span>Unlinked group</span><ol><li><a href="text/ch3.xhtml">3. The <em>End</em></a></li></ol></li>'
    "</ol></nav></body></html>"
)
NCX = (
    '<?xml version="1.0"?><ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1"><navMap>'
    '<navPoint id="p1" playOrder="1"><navLabel><text>One (NCX)</text></navLabel>'
    '<content src="text/ch1.xhtml"/>'
    '<navPoint id="p1a" playOrder="2"><navLabel><text>Part two (NCX)</text></navLabel>'
    '<content src="text/ch1.xhtml#part2"/></navPoint></navPoint>'
    '<navPoint id="p2" playOrder="3"><navLabel><text>Two (NCX)</text></navLabel>'
    '<content src="text/ch%202.xhtml"/></navPoint>'
    "</navMap></ncx>"
)


def make_epub(
    *,
    nav: str | None = NAV,
    ncx: str | None = NCX,
    chapters: dict[str, str | bytes] = CHAPTERS,
    spine: list[str] = SPINE,
    extra: dict[str, bytes | str] | None = None,
    container: str | None = CONTAINER,
    omit: tuple[str, ...] = (),
) -> bytes:
    ids = {path: f"i{n}" for n, path in enumerate(chapters)}
    manifest = "".join(
        f'<item id="{ids[p]}" href="{p.replace(" ", "%20")}" media-type="application/xhtml+xml"/>'
        for p in chapters
    )
    if nav is not None:
        manifest += '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
    if ncx is not None:
        manifest += '<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>'
    itemrefs = "".join(f'<itemref idref="{ids.get(p, "missing-" + p)}"/>' for p in spine)
    opf = (
        '<?xml version="1.0" encoding="utf-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>A  Test Book</dc:title></metadata>'
        f"<manifest>{manifest}</manifest>"
        f"<spine{' toc=&quot;ncx&quot;' if ncx else ''}>{itemrefs}</spine></package>"
    ).replace("&quot;", '"')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        if container is not None:
            z.writestr("META-INF/container.xml", container)
        z.writestr("OEBPS/content.opf", opf)
        if nav is not None:
            z.writestr("OEBPS/nav.xhtml", nav)
        if ncx is not None:
            z.writestr("OEBPS/toc.ncx", ncx)
        for path, content in chapters.items():
            if path not in omit:
                z.writestr(f"OEBPS/{path}", content)
        for path, content in (extra or {}).items():
            z.writestr(path, content)
    return buf.getvalue()


def epub(data: bytes, name: str = "book.epub"):
    doc = read_document_bytes(data, "epub", name)
    assert "\n\n\n" not in doc.text and doc.text == doc.text.strip()
    return doc


def test_epub3_chapters_in_spine_order_titled_from_the_nav_toc(tmp_path):
    path = tmp_path / "book.epub"
    path.write_bytes(make_epub())
    doc = load_document(path)
    assert doc.text == TEXT
    assert doc.headings == (
        Heading("1. The Beginning", 0, 1),
        Heading("1.1 Part Two", TEXT.index("A Second Part"), 2),
        Heading("2. The Middle", TEXT.index("Chapter Two"), 1),
        Heading("3. The End", TEXT.index("No heading"), 2),
    )
    assert (doc.title, doc.kind, doc.notices) == ("A Test Book", "epub", ())


def test_epub2_ncx_only():
    doc = epub(make_epub(nav=None))
    assert doc.text == TEXT
    assert doc.headings == (
        Heading("One (NCX)", 0, 1),
        Heading("Part two (NCX)", TEXT.index("A Second Part"), 2),
        Heading("Two (NCX)", TEXT.index("Chapter Two"), 1),
    )


def test_epub_without_toc_titles_chapters_by_first_heading_else_file_name():
    doc = epub(make_epub(nav=None, ncx=None))
    assert doc.text == TEXT
    assert doc.headings == (
        Heading("Chapter One", 0, 1),
        Heading("Chapter Two", TEXT.index("Chapter Two"), 1),
        Heading("ch3", TEXT.index("No heading"), 1),
    )


def test_font_obfuscation_is_not_drm():
    encryption = (
        '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
        'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
        '<enc:EncryptionMethod Algorithm="http://www.idpf.org/2008/embedding"/>'
        '<enc:CipherData><enc:CipherReference URI="OEBPS/fonts/a.otf"/></enc:CipherData>'
        "</enc:EncryptedData></encryption>"
    )
    doc = epub(make_epub(extra={"META-INF/encryption.xml": encryption, "OEBPS/fonts/a.otf": b"\x00font"}))
    assert doc.text == TEXT


def test_drm_epub_is_refused_naming_the_scheme():
    encryption = (
        '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
        'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
        '<enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>'
        '<enc:CipherData><enc:CipherReference URI="OEBPS/text/ch%202.xhtml"/></enc:CipherData>'
        "</enc:EncryptedData></encryption>"
    )
    rights = '<adept:rights xmlns:adept="http://ns.adobe.com/adept"><adept:licenseToken/></adept:rights>'
    scrambled = dict(CHAPTERS, **{"text/ch 2.xhtml": bytes(range(256)).decode("latin-1") * 4})
    data = make_epub(
        chapters=scrambled, extra={"META-INF/encryption.xml": encryption, "META-INF/rights.xml": rights}
    )
    with pytest.raises(DocumentError) as err:
        epub(data)
    assert str(err.value) == "book.epub is protected by DRM (Adobe ADEPT); fasttts-desktop cannot read it."
    without_rights = make_epub(chapters=scrambled, extra={"META-INF/encryption.xml": encryption})
    with pytest.raises(DocumentError) as err:
        epub(without_rights)
    assert str(err.value) == "book.epub is protected by DRM; fasttts-desktop cannot read it."


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            make_epub()[:-200],
            "book.epub is not a valid EPUB (not a zip archive, or damaged).",
            id="truncated-zip",
        ),
        pytest.param(
            b"not a zip at all",
            "book.epub is not a valid EPUB (not a zip archive, or damaged).",
            id="not-a-zip",
        ),
        pytest.param(
            make_epub(container=None),
            "book.epub is damaged: META-INF/container.xml is missing.",
            id="no-container",
        ),
        pytest.param(
            make_epub(container=CONTAINER.replace("content.opf", "gone.opf")),
            "book.epub is damaged: its package document (OPF) (OEBPS/gone.opf) is missing.",
            id="no-opf",
        ),
        pytest.param(
            make_epub(spine=[*SPINE, "text/ch4.xhtml"]),
            "book.epub is damaged: its spine names 'missing-text/ch4.xhtml', which is not in its manifest.",
            id="spine-not-in-manifest",
        ),
        pytest.param(
            make_epub(omit=("text/ch 2.xhtml",)),
            "book.epub is damaged: its spine names OEBPS/text/ch 2.xhtml, which is not in the book.",
            id="spine-file-missing",
        ),
        pytest.param(
            make_epub(chapters=dict(CHAPTERS, **{"text/ch3.xhtml": bytes(range(256)) * 4})),
            "book.epub is damaged: the chapter OEBPS/text/ch3.xhtml is not text (encrypted or corrupt).",
            id="binary-chapter",
        ),
    ],
)
def test_broken_epubs_are_refused_with_one_line(data, message):
    with pytest.raises(DocumentError) as err:
        epub(data)
    assert str(err.value) == message


def test_a_book_with_no_text_is_refused():
    data = make_epub(chapters={"text/cover.xhtml": CHAPTERS["text/cover.xhtml"]}, spine=["text/cover.xhtml"])
    with pytest.raises(DocumentError, match=r"^book\.epub has no text to read\.$"):
        epub(data)


def test_zip_bomb_is_bounded(monkeypatch):
    from fasttts_desktop.engine.text.documents import epub as epub_module

    monkeypatch.setattr(epub_module, "MAX_UNPACKED", 5000)
    big = chapter("Big", "<p>" + "word " * 2000 + "</p>")
    data = make_epub(chapters=dict(CHAPTERS, **{"text/ch3.xhtml": big}))
    with pytest.raises(DocumentError, match=r"^book\.epub is too large to open \(its files unpack to over "):
        epub(data)


@pytest.mark.slow
def test_cli_speaks_an_epub(cli_env, tmp_path):
    import subprocess
    import sys

    from audio_checks import read_wav

    book = tmp_path / "book.epub"
    book.write_bytes(
        make_epub(chapters={"a.xhtml": chapter("A", "<h1>One</h1><p>Hello there.</p>")}, spine=["a.xhtml"])
    )
    out = tmp_path / "book.wav"
    r = subprocess.run(
        [sys.executable, "-m", "fasttts_desktop", "say", "-f", str(book), "-o", str(out), "--device", "cpu"],
        check=False,
        capture_output=True,
        text=True,
        env=cli_env,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    audio, rate = read_wav(out)
    assert 0.8 < len(audio) / rate < 6.0 and abs(audio).max() > 0.05
