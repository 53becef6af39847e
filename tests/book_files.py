"""Small real documents for the window's tests, written by the tests themselves: EPUB (zipfile), Markdown,
plain text.
"""

from __future__ import annotations

import html
import zipfile
from pathlib import Path

_CONTAINER = (
    '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
    '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
    "</rootfiles></container>"
)

# Three chapters of a few sentences each: enough to skip, jump and remember a position in.
CHAPTERS = [
    (
        "Chapter One",
        [
            "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background.",
            "It is easy to tell the depth of a well. These days a chicken leg is a rare dish.",
        ],
    ),
    (
        "Chapter Two",
        [
            "Rice is often served in round bowls. The juice of lemons makes fine punch.",
            "The box was thrown beside the parked truck. The hogs were fed chopped corn and garbage.",
        ],
    ),
    (
        "Chapter Three",
        [
            "Four hours of steady work faced us. A large size in stockings is hard to sell.",
        ],
    ),
]


def write_epub(path: Path, chapters=CHAPTERS, title: str = "Harvard Lines") -> Path:
    """An EPUB 3 book: one XHTML file per chapter in spine order, a nav document naming them."""
    files = {}
    for n, (heading, paragraphs) in enumerate(chapters, 1):
        body = f"<h1>{html.escape(heading)}</h1>" + "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
        files[f"ch{n}.xhtml"] = (
            '<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
            f"<head><title>{html.escape(heading)}</title></head><body>{body}</body></html>"
        )
    nav_items = "".join(
        f'<li><a href="ch{n}.xhtml">{html.escape(h)}</a></li>' for n, (h, _) in enumerate(chapters, 1)
    )
    files["nav.xhtml"] = (
        '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml" '
        'xmlns:epub="http://www.idpf.org/2007/ops"><head><title>Contents</title></head><body>'
        f'<nav epub:type="toc"><ol>{nav_items}</ol></nav></body></html>'
    )
    manifest = (
        '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
        + "".join(
            f'<item id="c{n}" href="ch{n}.xhtml" media-type="application/xhtml+xml"/>'
            for n in range(1, len(chapters) + 1)
        )
    )
    spine = "".join(f'<itemref idref="c{n}"/>' for n in range(1, len(chapters) + 1))
    opf = (
        '<?xml version="1.0" encoding="utf-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" '
        'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<dc:identifier id="id">test-book</dc:identifier><dc:title>{html.escape(title)}</dc:title>'
        f"<dc:language>en</dc:language></metadata><manifest>{manifest}</manifest><spine>{spine}</spine></package>"
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")  # first and stored, as EPUB wants
        z.writestr("META-INF/container.xml", _CONTAINER, zipfile.ZIP_DEFLATED)
        z.writestr("OEBPS/content.opf", opf, zipfile.ZIP_DEFLATED)
        for name, data in files.items():
            z.writestr(f"OEBPS/{name}", data, zipfile.ZIP_DEFLATED)
    return path


def write_markdown(path: Path, chapters=CHAPTERS) -> Path:
    parts = []
    for heading, paragraphs in chapters:
        parts.append(f"# {heading}")
        parts.extend(f"{p} See [the notes](https://example.com/notes)." for p in paragraphs[:1])
        parts.extend(paragraphs[1:])
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return path


def write_broken_epub(path: Path) -> Path:
    path.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    return path
