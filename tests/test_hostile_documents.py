"""Hostile documents the tests craft themselves: zip bombs whose headers lie, a 10 MB single-line text
file, a document's own DTD entities, and the budget (documents/budget.py) that bounds all of them.

Memory is measured in a fresh interpreter (robust_helpers.open_in_fresh_process): the growth of its peak
resident set while one document is opened, so the number is the importer's and nothing else's.
"""

from __future__ import annotations

import random
import zipfile

import pytest
from robust_helpers import lie_about_size, one_chapter_epub, open_in_fresh_process

from fasttts_desktop.engine.text.documents import DocumentError, load_document, read_document_bytes

MB = 1 << 20


def zeros(megabytes: int):
    block = bytes(MB)
    return (block for _ in range(megabytes))


# --- zip bombs: bounded by what is inflated, not by what the headers say ----------------------------------


def test_a_bzip2_chapter_that_claims_1_kb_and_inflates_to_128_mb_is_refused_without_inflating(tmp_path):
    # bzip2 is what made this a bomb: zipfile inflates a whole bzip2 block at once, before any cap can
    # count it (at 251d4a0 this one reached its full 128 MB, the 1 GB one 2.1 GB).
    book = one_chapter_epub(tmp_path / "bomb.epub", zeros(128), method=zipfile.ZIP_BZIP2, declared=1000)
    result = open_in_fresh_process(book)
    assert result["error"] == (
        "bomb.epub is damaged: a chapter (ch.xhtml) is compressed with bzip2, which EPUB does not allow "
        "(only deflate)."
    )
    assert result["peak_growth_mb"] < 32, result


def test_a_deflate_chapter_that_claims_1_kb_and_inflates_to_128_mb_stops_at_one_block(tmp_path):
    # deflate is allowed; read whole (as zipfile.read does) the member would still be inflated at once
    book = one_chapter_epub(tmp_path / "bomb.epub", zeros(128), method=zipfile.ZIP_DEFLATED, declared=1000)
    result = open_in_fresh_process(book)
    assert result["error"] == "bomb.epub is damaged: a chapter (ch.xhtml) cannot be unpacked."
    assert result["peak_growth_mb"] < 32, result


def test_the_unpacked_budget_counts_inflated_bytes_not_declared_ones(monkeypatch, tmp_path):
    from fasttts_desktop.engine.text.documents import epub as epub_module

    monkeypatch.setattr(epub_module, "MAX_UNPACKED", 3 * MB)
    monkeypatch.setattr(epub_module, "UNPACK_BLOCK", 64 * 1024)
    body = b"<html><body><p>" + b"word " * (MB // 5) * 4 + b"</p></body></html>"  # 4 MB of text
    book = one_chapter_epub(tmp_path / "big.epub", [body], method=zipfile.ZIP_DEFLATED)
    lie_about_size(book, "ch.xhtml", len(body))  # honest; but the cap must not need the header to be
    with pytest.raises(
        DocumentError, match=r"^big\.epub is too large to open \(its files unpack to over 3 MB\)"
    ):
        load_document(book)
    # a header claiming more than the budget does not refuse a book whose members are small (at 251d4a0
    # the declared sizes were added up instead)
    small = one_chapter_epub(
        tmp_path / "small.epub", [b"<html><body><p>Small.</p></body></html>"], method=zipfile.ZIP_DEFLATED
    )
    lie_about_size(small, "ch.xhtml", 100 * MB)
    assert load_document(small).text == "Small."


def test_a_10_mb_single_line_text_file_is_read_in_bounded_memory(tmp_path):
    words = b"alpha beta gamma delta reading the words and".split()
    rng = random.Random(7)  # varied words: with a repeating pattern the old cost did not show
    line = b" ".join(rng.choice(words) for _ in range(2_000_000)) + b"."
    path = tmp_path / "line.txt"
    path.write_bytes(line)
    result = open_in_fresh_process(path)
    assert result["chars"] == len(line)
    # measured: 3x the file at most now (the bytes, the decoded text, the text kept); at 251d4a0 the
    # cleaning of the line kept one string per space, 17x the file (369 MB for 22 MB)
    assert result["peak_growth_mb"] < 6 * len(line) / MB, result


def test_opening_is_bounded_in_time(monkeypatch):
    from fasttts_desktop.engine.text.documents import budget

    monkeypatch.setattr(budget, "MAX_OPEN_SECONDS", -1.0)  # already over when the first paragraph lands
    with pytest.raises(
        DocumentError, match=r"^slow\.md takes too long to open \(the limit is -1 seconds\)\.$"
    ):
        read_document_bytes(b"# Title\n\nText.", "md", "slow.md")


# --- a document's own DTD: never expanded, the text read once, in order -----------------------------------

DTD_PAGE = (
    '<!DOCTYPE html [\n  <!ENTITY author "Alice Walker">\n  <!ENTITY note "a ]> trap">\n'
    "  <!-- a comment ]> too -->\n]>\n"
    "<html><head><title>By &author;</title></head>"
    "<body><p>Written by &author; in spring.</p><p>Then &amp; now &eacute;t&#233; ends.</p></body></html>"
)
DTD_TEXT = "Written by in spring.\n\nThen & now été ends."


@pytest.mark.parametrize(
    ("name", "data"),
    [
        pytest.param("page.html", DTD_PAGE, id="html"),
        pytest.param("page.xhtml", DTD_PAGE.replace("&eacute;", "&#233;"), id="xhtml-well-formed"),
        pytest.param(
            "page.xhtml",
            '<?xml version="1.0" encoding="utf-8"?>\n' + DTD_PAGE,
            id="xhtml-not-well-formed-read-as-html",
        ),
    ],
)
def test_a_documents_own_entities_are_read_as_nothing_and_reported(name, data):
    document = read_document_bytes(data.encode(), "html", name)
    text = document.text
    assert text == DTD_TEXT, text
    assert "]>" not in text and "author" not in text and text.count("in spring") == 1
    assert document.title == "By"  # the <title> too: never "By &author;"
    assert any("&author;" in n and "left out" in n for n in document.notices), document.notices


def test_an_epub_chapter_with_its_own_entities_is_read_once_in_order(tmp_path):
    chapter = (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html [<!ENTITY author "Alice Walker">]>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>Written by &author; in spring.</p>'
        "<p>The end.</p></body></html>"
    )
    book = one_chapter_epub(tmp_path / "book.epub", [chapter.encode()], method=zipfile.ZIP_DEFLATED)
    document = load_document(book)
    assert document.text == "Written by in spring.\n\nThe end."
    notice = (
        "ch.xhtml: 1 reference to entities the document declares itself (&author;) was left out "
        "(such entities are never expanded)."
    )
    assert document.notices == (notice,)


def test_a_billion_laughs_stays_small():
    lol = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))
    page = f'<!DOCTYPE html [<!ENTITY l0 "lol">{lol}]><html><body><p>A &l9; B</p></body></html>'
    for name in ("laughs.html", "laughs.xhtml"):
        document = read_document_bytes(page.encode(), "html", name)
        assert document.text == "A B", name


def test_a_damaged_subset_still_never_reads_its_declarations():
    page = '<!DOCTYPE html [<!ENTITY a "x" <!ELEMENT ]> <p>Text &a; here.</p>'
    document = read_document_bytes(page.encode(), "html", "odd.html")
    assert document.text == "Text here."


def test_zip_members_are_streamed_not_read_whole(monkeypatch, tmp_path):
    """The running cap needs the member read block by block; zipfile.read would inflate it at once."""

    def whole(*_args, **_kwargs):
        raise AssertionError("a member was read whole")

    book = one_chapter_epub(tmp_path / "b.epub", [b"<html><body><p>Hi.</p></body></html>"], method=8)
    monkeypatch.setattr(zipfile.ZipFile, "read", whole)
    assert load_document(book).text == "Hi."


def test_a_zip_whose_directory_offset_points_past_itself_is_damaged_not_a_traceback(tmp_path):
    # found by the fuzzer (test_fuzz_documents): the end record claims the central directory starts 64 KB
    # further on than it does, so zipfile shifts every member's offset to before the file's start and
    # raises ValueError("negative seek value") on opening one
    book = one_chapter_epub(tmp_path / "b.epub", [b"<html><body><p>Hi.</p></body></html>"], method=8)
    blob = bytearray(book.read_bytes())
    end = blob.rindex(b"PK\x05\x06")
    offset = int.from_bytes(blob[end + 16 : end + 20], "little")
    blob[end + 16 : end + 20] = (offset + 65536).to_bytes(4, "little")
    book.write_bytes(bytes(blob))
    with pytest.raises(
        DocumentError, match=r"^b\.epub is damaged: its container file \(META-INF/container\.xml\) cannot"
    ):
        load_document(book)


def test_a_zip_asking_for_a_newer_zip_version_is_refused_in_one_line(tmp_path):
    # found by the fuzzer: zipfile's constructor raises NotImplementedError("zip file version 6.4")
    book = one_chapter_epub(tmp_path / "b.epub", [b"<html><body><p>Hi.</p></body></html>"], method=8)
    blob = bytearray(book.read_bytes())
    with zipfile.ZipFile(book) as z:
        central = z.start_dir
    blob[central + 6] = 64  # the first directory entry's "version needed to extract": 6.4
    book.write_bytes(bytes(blob))
    with pytest.raises(
        DocumentError, match=r"^b\.epub is not a valid EPUB \(not a zip archive, or damaged\)\.$"
    ):
        load_document(book)
