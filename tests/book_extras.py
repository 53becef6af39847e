"""Documents with more in them than tests/book_files.py writes: an EPUB with an author and a cover, and a
small PNG picture made by hand (zlib + the PNG chunk layout), so no imaging library is needed."""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

from book_files import CHAPTERS, write_epub


def png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def write_epub_with_cover(
    path: Path, author: str = "Ada Lovelace", cover: bytes | None = None, chapters=CHAPTERS
) -> Path:
    """tests/book_files.write_epub's book with a dc:creator and a cover-image item (EPUB 3)."""
    write_epub(path, chapters)
    with zipfile.ZipFile(path) as z:
        members = [(info, z.read(info)) for info in z.infolist()]
    with zipfile.ZipFile(path, "w") as z:
        for info, data in members:
            if info.filename == "OEBPS/content.opf":
                opf = data.decode()
                opf = opf.replace("<dc:language>", f"<dc:creator>{author}</dc:creator><dc:language>")
                opf = opf.replace(
                    "<manifest>",
                    '<manifest><item id="cov" href="images/cover.png" media-type="image/png" '
                    'properties="cover-image"/>',
                )
                data = opf.encode()
            z.writestr(info, data)
        z.writestr("OEBPS/images/cover.png", cover if cover is not None else png(), zipfile.ZIP_STORED)
    return path
