r"""Rich Text Format (.rtf) through striprtf: its text, one paragraph per \par, in the code page the file
declares (\ansicpg, else Windows-1252) with \u Unicode escapes honoured.

RTF marks headings only through style sheets that each word processor names its own way, so an RTF file
is read as paragraphs without a heading list. Refused with one line: a file that does not start as RTF.
"""

from __future__ import annotations

import codecs
import re

from fasttts_desktop.engine.text.documents.builder import Builder
from fasttts_desktop.engine.text.documents.model import Document, DocumentError

_CODE_PAGE = re.compile(rb"\\ansicpg(\d+)")


def read_rtf(data: bytes, name: str = "") -> Document:
    from striprtf.striprtf import rtf_to_text

    label = name or "The document"
    if not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{\\rtf"):
        raise DocumentError(f"{label} is not an RTF document (it does not start with {{\\rtf).")
    encoding = "cp1252"
    found = _CODE_PAGE.search(data[:4096])
    if found:
        try:
            encoding = codecs.lookup(f"cp{int(found[1])}").name
        except LookupError:
            pass
    # RTF itself is 7-bit: bytes above 127 appear only as \'xx escapes, which striprtf decodes itself
    text = rtf_to_text(data.decode("latin-1"), encoding=encoding, errors="replace")
    builder = Builder(name)
    for paragraph in re.split(r"\n\s*\n|\n", text):
        builder.paragraph(paragraph)
    body, headings = builder.build()
    return Document(body, headings, None, "rtf", (), name)
