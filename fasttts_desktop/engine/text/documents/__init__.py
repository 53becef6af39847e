"""Document importers: a file (txt, md, html, epub, pdf) in; plain text and heading offsets out; no Qt.

The window (File > Open, drag and drop, `fasttts-desktop PATH`), the CLI (`say -f book.epub`) and the
tests share these. Every importer writes through `builder.Builder`, which holds the text rules (NFC,
control characters, one paragraph per line, one blank line between paragraphs).
"""

from fasttts_desktop.engine.text.documents.load import SUPPORTED_SUFFIXES, load_document, read_document_bytes
from fasttts_desktop.engine.text.documents.model import Document, DocumentError, Heading, chapter_marks

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Document",
    "DocumentError",
    "Heading",
    "chapter_marks",
    "load_document",
    "read_document_bytes",
]
