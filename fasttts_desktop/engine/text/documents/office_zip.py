"""What the zip-based word-processor formats (DOCX, ODT) share: opening the zip with bounds, so a damaged
file or a zip bomb is one line, not a crash or a machine out of memory."""

from __future__ import annotations

import io
import zipfile

from fasttts_desktop.engine.text.documents.model import DocumentError

MAX_UNPACKED = 200 * 1024 * 1024  # bytes a document's parts may unpack to, as for EPUB


def open_zip(data: bytes, label: str, kind: str) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        raise DocumentError(f"{label} is not a valid {kind} file (not a zip archive, or damaged).") from None
    if unpacked > MAX_UNPACKED:
        raise DocumentError(
            f"{label} is too large to open (its parts unpack to over {MAX_UNPACKED >> 20} MB)."
        )
    return archive
