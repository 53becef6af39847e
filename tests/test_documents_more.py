"""DOCX, ODT, RTF and FB2 documents written by the tests (tests/office_files.py) and read through the same
entry points as every other document (load_document, read_document_bytes): text, headings pointing at
their text, titles, what is left out, and the failure rules (one line; damaged files, zip bombs, unknown
bytes)."""

from __future__ import annotations

import zipfile

import pytest
from office_files import FB2, RTF, write_docx, write_docx_by_hand, write_odt

from fasttts_desktop.engine.text.documents import (
    DocumentError,
    chapter_marks,
    load_document,
    office_zip,
    read_document_bytes,
)


def _check_headings(document):
    for heading in document.headings:
        assert document.text[heading.offset :].startswith(heading.title)


@pytest.mark.parametrize("writer", [write_docx, write_odt], ids=["docx", "odt"])
def test_word_processor_documents(tmp_path, writer):
    path = writer(tmp_path / f"book.{writer.__name__.split('_')[1]}")
    document = load_document(path)
    assert document.title == "Harvard Lines"
    assert [(h.title, h.level) for h in document.headings] == [
        ("The First Chapter", 1), ("A Smaller Part", 2), ("The Second Chapter", 1)
    ]  # fmt: skip
    _check_headings(document)
    assert [t for _, t in chapter_marks(document.headings)] == ["The First Chapter", "The Second Chapter"]
    paragraphs = document.text.split("\n\n")
    assert (
        "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background." in paragraphs
    )
    assert "Name, Colour\nCanoe, Birch" in paragraphs  # a table: a row per line, cells as a list


def test_odt_lists_spaces_and_notes(tmp_path):
    document = load_document(write_odt(tmp_path / "b.odt"))
    assert "First item\nSecond item" in document.text.split("\n\n")
    assert "A line with a note" in document.text
    assert "NOTE TEXT" not in document.text


def test_docx_outline_level_and_no_core_properties(tmp_path):
    document = load_document(write_docx_by_hand(tmp_path / "b.docx"))
    assert document.text == "Only Chapter\n\nFour hours of steady work faced us."
    assert [(h.title, h.offset, h.level) for h in document.headings] == [("Only Chapter", 0, 1)]
    assert document.title == "Only Chapter"


def test_rtf(tmp_path):
    (tmp_path / "a.rtf").write_text(RTF, encoding="ascii")
    document = load_document(tmp_path / "a.rtf")
    assert document.text == "The café opened at nine.\n\nA dash— and a heart♥.\n\nBold words stay words."
    assert document.kind == "rtf"
    assert document.headings == ()


def test_fb2(tmp_path):
    (tmp_path / "a.fb2").write_text(FB2, encoding="utf-8")
    document = load_document(tmp_path / "a.fb2")
    assert document.title == "Harvard Lines"
    assert [(h.title, h.level) for h in document.headings] == [
        ("Chapter One", 1), ("Part A", 2), ("Chapter Two", 1)
    ]  # fmt: skip
    _check_headings(document)
    assert "First verse,\nsecond verse." in document.text.split("\n\n")  # a stanza: a verse per line
    assert document.text.endswith("Rice is often served in round bowls.")  # no note number
    assert "FOOTNOTE" not in document.text
    assert "A Poem" not in [h.title for h in document.headings]


@pytest.mark.parametrize("suffix", ["docx", "odt", "rtf", "fb2"])
def test_recognised_without_their_suffix(tmp_path, suffix):
    made = {
        "docx": write_docx,
        "odt": write_odt,
        "rtf": lambda p: p.write_text(RTF) and p,
        "fb2": lambda p: p.write_text(FB2) and p,
    }
    path = tmp_path / f"x.{suffix}"
    made[suffix](path)
    document = read_document_bytes(path.read_bytes(), "", "download")
    assert document.kind == suffix
    assert document.notices == ()


@pytest.mark.parametrize("suffix", ["docx", "odt"])
def test_not_a_zip_is_one_line(tmp_path, suffix):
    (tmp_path / f"bad.{suffix}").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DocumentError, match=rf"not a valid {suffix.upper()}") as caught:
        load_document(tmp_path / f"bad.{suffix}")
    assert "\n" not in str(caught.value)


def test_a_zip_without_the_document_part(tmp_path):
    with zipfile.ZipFile(tmp_path / "empty.odt", "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
    with pytest.raises(DocumentError, match="it has no content"):
        load_document(tmp_path / "empty.odt")
    with zipfile.ZipFile(tmp_path / "empty.docx", "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(DocumentError, match="DOCX"):
        load_document(tmp_path / "empty.docx")


@pytest.mark.parametrize("writer", [write_docx, write_odt], ids=["docx", "odt"])
def test_a_zip_bomb_is_refused_before_unpacking(tmp_path, writer, monkeypatch):
    path = writer(tmp_path / f"book.{writer.__name__.split('_')[1]}")
    monkeypatch.setattr(office_zip, "MAX_UNPACKED", 2000)  # the real documents unpack to more than this
    with pytest.raises(DocumentError, match="too large to open"):
        load_document(path)


def test_damaged_xml_is_one_line(tmp_path):
    with zipfile.ZipFile(tmp_path / "bad.odt", "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", "<office:document-content <<< not xml")
    with pytest.raises(DocumentError, match="not readable XML"):
        load_document(tmp_path / "bad.odt")
    (tmp_path / "bad.fb2").write_text("<html>not a book</html>")
    with pytest.raises(DocumentError, match="not a FictionBook"):
        load_document(tmp_path / "bad.fb2")
    (tmp_path / "bad.rtf").write_text("plain text, not rtf")
    with pytest.raises(DocumentError, match="not an RTF"):
        load_document(tmp_path / "bad.rtf")


def test_fb2_entities_are_not_expanded(tmp_path):
    # an external entity must not pull a local file into the text
    (tmp_path / "secret.txt").write_text("SECRET")
    book = FB2.replace(
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<?xml version="1.0" encoding="utf-8"?><!DOCTYPE FictionBook [<!ENTITY x SYSTEM "file://{tmp_path}/secret.txt">]>',
    ).replace("An epigraph line.", "An epigraph &x; line.")
    (tmp_path / "x.fb2").write_text(book)
    assert "SECRET" not in load_document(tmp_path / "x.fb2").text


@pytest.mark.parametrize("kind", ["docx", "odt"])
def test_external_entities_are_not_read(tmp_path, kind):
    # a document part declaring an entity that names a local file: its text must not come in
    (tmp_path / "secret.txt").write_text("SECRET")
    doctype = f'<!DOCTYPE x [<!ENTITY s SYSTEM "file://{tmp_path}/secret.txt">]>'
    if kind == "docx":
        path = write_docx_by_hand(tmp_path / "x.docx")
        part, old, new = "word/document.xml", "faced us.", "faced us &s;."
    else:
        path = write_odt(tmp_path / "x.odt")
        part, old, new = "content.xml", "A line with a note", "A line with &s; a note"
    with zipfile.ZipFile(path) as z:
        members = [(info, z.read(info)) for info in z.infolist()]
    with zipfile.ZipFile(path, "w") as z:
        for info, data in members:
            if info.filename == part:
                body = data.decode().replace(old, new)
                declaration, _, rest = body.partition("?>") if body.startswith("<?xml") else ("", "", body)
                body = (declaration + "?>" if declaration else "") + doctype + rest
                data = body.encode()
            z.writestr(info, data)
    try:
        text = load_document(path).text
    except DocumentError as exc:  # refusing the part is as good as ignoring the entity
        text = str(exc)
    assert "SECRET" not in text
