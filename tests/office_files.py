"""Word-processor and e-book documents written by the tests themselves: DOCX with python-docx (and one by
hand, zip + XML, for what python-docx cannot set), ODT with odfpy, RTF and FB2 as text."""

from __future__ import annotations

import zipfile
from pathlib import Path

# (heading level or 0 for a paragraph, text), in reading order
CONTENT = [
    (1, "The First Chapter"),
    (0, "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background."),
    (2, "A Smaller Part"),
    (0, "It is easy to tell the depth of a well."),
    (1, "The Second Chapter"),
    (0, "Rice is often served in round bowls."),
]


def write_docx(path: Path, title: str = "Harvard Lines") -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.author = "Ada Lovelace"
    for level, text in CONTENT:
        if level:
            document.add_heading(text, level)
        else:
            document.add_paragraph(text)
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([("Name", "Colour"), ("Canoe", "Birch")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("The end.")
    document.save(str(path))
    return path


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def write_docx_by_hand(path: Path) -> Path:
    """A minimal DOCX whose heading is marked only by an outline level on the paragraph (no styles part)."""
    body = (
        f'<w:document xmlns:w="{_W}"><w:body>'
        '<w:p><w:pPr><w:outlineLvl w:val="0"/></w:pPr><w:r><w:t>Only Chapter</w:t></w:r></w:p>'
        '<w:p><w:r><w:t xml:space="preserve">Four hours of steady work </w:t></w:r>'
        "<w:r><w:t>faced us.</w:t></w:r></w:p>"
        "</w:body></w:document>"
    )
    types = (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'wordprocessingml.document.main+xml"/></Types>'
    )
    rels = (
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="word/document.xml"/></Relationships>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", types)
        z.writestr("_rels/.rels", rels)
        z.writestr("word/document.xml", body)
    return path


def write_odt(path: Path, title: str = "Harvard Lines") -> Path:
    from odf import dc, table, text
    from odf.opendocument import OpenDocumentText

    document = OpenDocumentText()
    document.meta.addElement(dc.Title(text=title))
    for level, words in CONTENT:
        if level:
            document.text.addElement(text.H(outlinelevel=level, text=words))
        else:
            first, _, rest = words.partition(". ")
            paragraph = text.P(text=first + "." if rest else first)
            if rest:  # the second sentence in a span after an ODF space element
                paragraph.addElement(text.S(c=1))
                paragraph.addElement(text.Span(text=rest))
            document.text.addElement(paragraph)
    items = text.List()
    for word in ("First item", "Second item"):
        item = text.ListItem()
        item.addElement(text.P(text=word))
        items.addElement(item)
    document.text.addElement(items)
    grid = table.Table(name="T")
    for row_values in (("Name", "Colour"), ("Canoe", "Birch")):
        row = table.TableRow()
        for value in row_values:
            cell = table.TableCell()
            cell.addElement(text.P(text=value))
            row.addElement(cell)
        grid.addElement(row)
    document.text.addElement(grid)
    note_paragraph = text.P(text="A line with a note")
    note = text.Note(noteclass="footnote")
    body = text.NoteBody()
    body.addElement(text.P(text="NOTE TEXT NOT READ"))
    note.addElement(text.NoteCitation(text="1"))
    note.addElement(body)
    note_paragraph.addElement(note)
    document.text.addElement(note_paragraph)
    document.save(str(path))
    return path


RTF = (
    r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Times New Roman;}}"
    r"{\info{\title Not Spoken}}"
    "\n"
    r"\f0 The caf\'e9 opened at nine.\par "
    r"A dash\u8212? and a heart\u9829?.\par "
    r"{\b Bold} words stay words.\par}"
)


FB2 = """<?xml version="1.0" encoding="utf-8"?>
<FictionBook xmlns="http://www.gribuser.ru/xml/fictionbook/2.0" xmlns:l="http://www.w3.org/1999/xlink">
<description><title-info><book-title>Harvard Lines</book-title>
<author><first-name>Ada</first-name><last-name>Lovelace</last-name></author><lang>en</lang></title-info>
</description>
<body>
<title><p>Harvard Lines</p></title>
<section><title><p>Chapter One</p></title>
<p>The birch canoe slid on the smooth planks.</p>
<section><title><p>Part A</p></title><p>Glue the sheet to the dark blue background.</p></section>
</section>
<section><title><p>Chapter Two</p></title>
<epigraph><p>An epigraph line.</p></epigraph>
<poem><title><p>A Poem</p></title><stanza><v>First verse,</v><v>second verse.</v></stanza></poem>
<p>Rice is often served in round bowls<a l:href="#n1" type="note">1</a>.</p>
</section>
</body>
<body name="notes"><section id="n1"><p>FOOTNOTE NOT READ</p></section></body>
<binary id="cover.jpg" content-type="image/jpeg">AAAA</binary>
</FictionBook>
"""
