"""PDF import on PDFs the tests draw with fpdf2: running heads, hyphenation, paragraphs, outline; and
the PDFs that cannot be read (scanned, password, not a PDF)."""

from __future__ import annotations

import pytest

from fasttts_desktop.engine.text.documents import DocumentError, Heading, read_document_bytes

fpdf = pytest.importorskip("fpdf")  # the test extra

LEFT, INDENT, STEP = 72, 90, 15  # points: the text block's edge, a first-line indent, the line step

# Each page: (outline entry or None, [(x, gap before, font size, line)]). The text block is ragged.
PAGE_1 = [
    (LEFT, 0, 16, "Chapter One"),
    (LEFT, 12, 11, "The quick brown fox jumped over the lazy dog and ran into the exam-"),
    (LEFT, 0, 11, "ple of a forest that nobody had ever seen before, where it found"),
    (LEFT, 0, 11, "a path through the trees that led to a small and very well-"),
    (LEFT, 0, 11, "known clearing in the middle of the wood where the fox would rest."),
    (INDENT, 0, 11, "There the fox met Jean-"),
    (LEFT, 0, 11, "Paul, an old badger who had lived in the clearing for many years,"),
    (LEFT, 0, 11, "and together the two of them talked until the sun went down behind"),
]
PAGE_2 = [
    (LEFT, 0, 11, "the hills of the far country, and then they both went home."),
    (LEFT, 12, 16, "Chapter Two"),
    (LEFT, 12, 11, "In the morning the fox woke early and looked out at the wide grey"),
    (LEFT, 0, 11, "sea, which was calm and quiet under a low sky without any wind at all"),
    (LEFT, 8, 11, "Nobody else was awake yet, so the fox walked down to the water alone"),
    (LEFT, 0, 11, "and sat on a rock to watch the boats, with a mask against COVID-"),
    (LEFT, 0, 11, "19 and the cold, until they all came in."),
]
TEXT = (
    "Chapter One\n\n"
    "The quick brown fox jumped over the lazy dog and ran into the example of a forest that nobody had ever "
    "seen before, where it found a path through the trees that led to a small and very well-known clearing "
    "in the middle of the wood where the fox would rest.\n\n"
    "There the fox met Jean-Paul, an old badger who had lived in the clearing for many years, and together "
    "the two of them talked until the sun went down behind the hills of the far country, and then they both "
    "went home.\n\n"
    "Chapter Two\n\n"
    "In the morning the fox woke early and looked out at the wide grey sea, which was calm and quiet under "
    "a low sky without any wind at all\n\n"
    "Nobody else was awake yet, so the fox walked down to the water alone and sat on a rock to watch the "
    "boats, with a mask against COVID-19 and the cold, until they all came in."
)


def draw_pages(pdf, pages, header: str | None = "The Test Book", outline=True) -> None:
    for number, lines in enumerate(pages, 1):
        pdf.add_page()
        if header:
            pdf.set_font("Helvetica", size=9)
            pdf.text(250, 40, header)
        y = 80
        for x, gap, size, line in lines:
            y += gap
            if outline and size == 16:
                pdf.start_section(line)
            pdf.set_font("Helvetica", size=size)
            pdf.text(x, y, line)
            y += STEP if size == 11 else 20
        if header:
            pdf.set_font("Helvetica", size=9)
            pdf.text(290, 800, str(number))


def book_pdf(**kwargs) -> bytes:
    pdf = fpdf.FPDF(unit="pt", format="A4")
    pdf.set_title("The Fox")
    draw_pages(pdf, [PAGE_1, PAGE_2], **kwargs)
    return bytes(pdf.output())


def pdf_doc(data: bytes, name: str = "book.pdf"):
    doc = read_document_bytes(data, "pdf", name)
    assert "\n\n\n" not in doc.text and doc.text == doc.text.strip()
    return doc


def test_two_pages_rejoined_without_running_heads():
    doc = pdf_doc(book_pdf())
    assert doc.text == TEXT
    assert doc.headings == (
        Heading("Chapter One", 0, 1),
        Heading("Chapter Two", TEXT.index("Chapter Two"), 1),
    )
    assert (doc.title, doc.kind, doc.notices) == ("The Fox", "pdf", ())


def test_without_outline_there_are_no_headings():
    doc = pdf_doc(book_pdf(outline=False, header=None))
    assert doc.text == TEXT and doc.headings == ()


def test_scanned_pdf_is_refused():
    from PIL import Image

    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.image(Image.new("L", (400, 200), 200), x=10, y=10, w=150)
    with pytest.raises(DocumentError) as err:
        pdf_doc(bytes(pdf.output()), "scan.pdf")
    assert (
        str(err.value)
        == "scan.pdf has no text layer (a scanned document?); fasttts-desktop cannot read images."
    )


def test_pages_without_text_are_named_in_a_notice():
    from PIL import Image

    pdf = fpdf.FPDF(unit="pt", format="A4")
    draw_pages(pdf, [PAGE_1], header=None, outline=False)
    pdf.add_page()
    pdf.image(Image.new("L", (400, 200), 200), x=10, y=10, w=150)
    doc = pdf_doc(bytes(pdf.output()))
    assert doc.text.startswith("Chapter One\n\nThe quick brown fox")
    assert doc.notices == ("1 of 2 pages have no text (scanned images?) and were left out.",)


def test_password_protected_pdf_is_refused_and_owner_only_encryption_is_read():
    from fpdf.enums import EncryptionMethod

    def encrypted(user_password: str) -> bytes:
        pdf = fpdf.FPDF(unit="pt", format="A4")
        pdf.set_encryption(
            owner_password="owner",  # noqa: S106 - a test PDF's password
            user_password=user_password,
            encryption_method=EncryptionMethod.RC4,
        )
        draw_pages(pdf, [PAGE_1, PAGE_2])
        return bytes(pdf.output())

    with pytest.raises(DocumentError) as err:
        pdf_doc(encrypted("secret"), "locked.pdf")
    assert str(err.value) == "locked.pdf is protected by a password; fasttts-desktop cannot open it."
    assert pdf_doc(encrypted("")).text == TEXT


@pytest.mark.parametrize("data", [b"%PDF-1.7\nnot really", book_pdf()[:300]], ids=["garbage", "truncated"])
def test_broken_pdf_is_refused(data):
    with pytest.raises(DocumentError) as err:
        pdf_doc(data, "broken.pdf")
    assert str(err.value) == "broken.pdf is not a PDF or is damaged."


def test_hyphens_leaders_and_section_starts_without_positions():
    from fasttts_desktop.engine.text.documents.builder import Builder
    from fasttts_desktop.engine.text.documents.pdf_layout import Line, add_pages, unhyphenate

    assert unhyphenate("an exam\x02ple, a mother-in\x02law, twenty\x02five, self\x02aware, COVID\x0219") == (
        "an example, a mother-in-law, twenty-five, self-aware, COVID-19"
    )
    assert unhyphenate("Jean\ufffePaul met Anne\x02marie") == "Jean-Paul met Annemarie"
    assert unhyphenate("1 Introduction . . . . . . . 1 and 2 Usage........7, so...") == (
        "1 Introduction 1 and 2 Usage 7, so..."
    )
    one, two, three = (
        f"line {w} of text that runs the whole width of the page, as wrapped lines do" for w in "ABC"
    )
    pages = [[Line(one), Line(two)], [Line("Chapter Two"), Line(three), Line("The end.")]]
    builder = Builder()
    add_pages(builder, pages, {1: ["Chapter  two"]})
    assert builder.build()[0] == f"{one} {two}\n\nChapter Two\n\n{three} The end."
    builder = Builder()
    add_pages(builder, pages)
    assert builder.build()[0] == f"{one} {two} Chapter Two\n\n{three} The end."
