"""Open time of a 1,000-page book (about 2 MB of text) in each format the importers read.

    PYTHONPATH=$PWD .venv/bin/python scripts/bench_documents.py [--dir /tmp/fasttts-books] [--runs 3]

Writes the books once (txt hard-wrapped at 72 columns, md, html, epub with nav + NCX, pdf via fpdf2 with
a running header, page numbers and an outline), then prints one line per format: the first open in a
fresh process (imports included) and the best of --runs warm opens, as wall time and as this process's
CPU time (on a shared machine CPU time is what the open costs when nothing else runs). Needs fpdf2 (the
test extra). Not a CI test: timings never decide a pass.
"""

from __future__ import annotations

import argparse
import html
import os
import platform
import random
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

_WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "they",
    "you",
    "were",
    "her",
    "she",
    "there",
    "been",
    "one",
    "all",
    "we",
    "their",
    "has",
    "would",
    "when",
    "if",
    "so",
    "no",
    "will",
    "what",
    "can",
    "more",
    "out",
    "other",
    "who",
    "about",
    "some",
    "time",
    "very",
    "into",
    "only",
    "them",
    "may",
    "could",
    "these",
    "new",
    "after",
    "two",
    "first",
    "over",
    "also",
    "upon",
    "like",
    "any",
    "many",
    "such",
    "must",
    "said",
    "through",
    "see",
    "well",
    "being",
    "where",
    "here",
    "never",
    "made",
    "before",
    "much",
    "great",
    "should",
    "most",
    "people",
    "life",
    "those",
    "while",
    "day",
    "without",
    "own",
    "little",
    "still",
    "work",
    "way",
    "man",
    "men",
    "might",
    "house",
    "world",
    "same",
    "long",
    "down",
    "years",
    "think",
    "thought",
    "against",
    "things",
    "water",
    "every",
    "place",
    "between",
    "last",
    "under",
    "old",
    "again",
    "back",
    "found",
    "eyes",
    "self-aware",
    "understanding",
    "extraordinary",
    "circumstances",
    "neighbourhood",
    "remembrance",
]
CHAPTERS = 50
TARGET_CHARS = 2_000_000


def _sentence(r: random.Random) -> str:
    n = r.randint(6, 22)
    words = [r.choice(_WORDS) for _ in range(n)]
    words[0] = words[0].capitalize()
    if n > 10 and r.random() < 0.5:
        words[n // 2] += ","
    return " ".join(words) + r.choice(".....?!")


def make_book(seed: int = 1) -> list[tuple[str, list[str]]]:
    r = random.Random(seed)
    chapters = []
    for c in range(CHAPTERS):
        paragraphs, size = [], 0
        while size < TARGET_CHARS // CHAPTERS:
            paragraph = " ".join(_sentence(r) for _ in range(r.randint(2, 8)))
            paragraphs.append(paragraph)
            size += len(paragraph) + 2
        chapters.append((f"Chapter {c + 1}", paragraphs))
    return chapters


def write_txt(book, path: Path) -> None:
    parts = []
    for title, paragraphs in book:
        parts.append(title.upper())
        parts += [textwrap.fill(p, 72) for p in paragraphs]
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")


def write_md(book, path: Path) -> None:
    parts = []
    for title, paragraphs in book:
        parts.append(f"# {title}")
        parts += [
            p.replace(" house ", " *house* ").replace(" world ", " [world](https://example.org) ")
            for p in paragraphs
        ]
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")


def _xhtml(title: str, paragraphs: list[str]) -> str:
    body = "\n".join(f"<p>{html.escape(p).replace(' house ', ' <em>house</em> ')}</p>" for p in paragraphs)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
        f"<head><title>{title}</title><style>p {{ margin: 0 }}</style></head>"
        f'<body><section id="s"><h1>{title}</h1>\n{body}</section></body></html>'
    )


def write_html(book, path: Path) -> None:
    body = "".join(_xhtml(t, ps).split("<body>")[1].split("</body>")[0] for t, ps in book)
    path.write_text(
        f"<!DOCTYPE html><html><head><title>Book</title></head><body>{body}</body></html>", "utf-8"
    )


def write_epub(book, path: Path) -> None:
    ids = [f"c{i + 1}" for i in range(len(book))]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        z.writestr(
            "META-INF/container.xml",
            '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" version="1.0"><rootfiles>'
            '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
            "</rootfiles></container>",
        )
        items = "".join(f'<item id="{i}" href="{i}.xhtml" media-type="application/xhtml+xml"/>' for i in ids)
        spine = "".join(f'<itemref idref="{i}"/>' for i in ids)
        z.writestr(
            "OEBPS/content.opf",
            '<package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Bench Book</dc:title></metadata>'
            f'<manifest><item id="nav" href="nav.xhtml" properties="nav" media-type="application/xhtml+xml"/>'
            f'<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>{items}</manifest>'
            f'<spine toc="ncx">{spine}</spine></package>',
        )
        links = "".join(f'<li><a href="{i}.xhtml">{t}</a></li>' for i, (t, _) in zip(ids, book, strict=True))
        z.writestr(
            "OEBPS/nav.xhtml",
            '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><body>'
            f'<nav epub:type="toc"><ol>{links}</ol></nav></body></html>',
        )
        points = "".join(
            f'<navPoint id="n{i}"><navLabel><text>{t}</text></navLabel><content src="{i}.xhtml"/></navPoint>'
            for i, (t, _) in zip(ids, book, strict=True)
        )
        z.writestr(
            "OEBPS/toc.ncx",
            f'<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/"><navMap>{points}</navMap></ncx>',
        )
        for i, (title, paragraphs) in zip(ids, book, strict=True):
            z.writestr(f"OEBPS/{i}.xhtml", _xhtml(title, paragraphs))


def write_pdf(book, path: Path) -> None:
    from fpdf import FPDF

    class Book(FPDF):
        def header(self):
            self.set_font("Helvetica", size=8)
            self.cell(0, 10, "The Bench Book", align="C")
            self.ln(12)

        def footer(self):
            self.set_y(-15)
            self.set_font("Helvetica", size=8)
            self.cell(0, 10, str(self.page_no()), align="C")

    pdf = Book(format=(148, 210))
    pdf.set_margins(14, 14, 14)
    for title, paragraphs in book:
        pdf.add_page()
        pdf.set_font("Helvetica", size=14)
        pdf.start_section(title)
        pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10)
        for p in paragraphs:
            pdf.multi_cell(0, 4.8, p, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1.5)
    pdf.output(str(path))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default="/tmp/fasttts-books")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--formats", default="txt,md,html,epub,pdf")
    args = ap.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    book = make_book()
    writers = {"txt": write_txt, "md": write_md, "html": write_html, "epub": write_epub, "pdf": write_pdf}
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    for kind in args.formats.split(","):
        path = folder / f"book.{kind}"
        if not path.exists():
            writers[kind](book, path)
        cold = subprocess.run(
            [sys.executable, "-c", _COLD, str(path)], capture_output=True, text=True, check=True
        ).stdout.strip()
        from fasttts_desktop.engine.text.documents import load_document

        best, best_cpu = float("inf"), float("inf")
        for _ in range(args.runs):
            t, c = time.perf_counter(), time.process_time()
            doc = load_document(path)
            best, best_cpu = min(best, time.perf_counter() - t), min(best_cpu, time.process_time() - c)
        pages = f", {_pages(path)} pages" if kind == "pdf" else ""
        print(
            f"{kind:4s} {path.stat().st_size / 1e6:5.2f} MB file{pages}: {len(doc.text) / 1e6:.2f} M chars, "
            f"{len(doc.headings)} headings · first open {cold} (imports included) · "
            f"warm best {best:.2f} s (CPU {best_cpu:.2f} s) · load {os.getloadavg()[0]:.1f}"
        )


def _pages(path: Path) -> int:
    import pypdfium2

    return len(pypdfium2.PdfDocument(path))


_COLD = (
    "import sys, time; t, c = time.perf_counter(), time.process_time(); "
    "from fasttts_desktop.engine.text.documents import load_document; load_document(sys.argv[1]); "
    "print(f'{time.perf_counter() - t:.2f} s (CPU {time.process_time() - c:.2f} s)')"
)

if __name__ == "__main__":
    main()
