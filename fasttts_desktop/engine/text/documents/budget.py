"""What one document may cost to open, enforced by what is actually read, never by what a header claims.

- MAX_FILE_BYTES: the file as read from disk (a read that goes past it stops there and refuses).
- MAX_UNPACKED: bytes inflated from an EPUB's zip, all members together, counted as they come out of the
  decompressor in blocks of UNPACK_BLOCK; a member that claims 1 KB and inflates to 1 GB is refused once
  the running count passes the limit, holding at most the limit plus one block. Only the compression
  methods the EPUB standard allows (stored, deflate) are unpacked: zipfile inflates a bzip2 or LZMA block
  whole, however large, before it can be counted.
- MAX_CHARS: characters of text kept (the window holds them all in one text box).
- MAX_OPEN_SECONDS: the time an importer may spend; checked as each paragraph is added.

Memory follows from these: a document's bytes, at most MAX_UNPACKED of inflated members (one member's
parse tree at a time) and at most MAX_CHARS of text (4 bytes a character at worst, in Python's strings).
Every refusal is one line naming the limit.
"""

from __future__ import annotations

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_UNPACKED = 200 * 1024 * 1024
UNPACK_BLOCK = 1 << 20
MAX_CHARS = 50_000_000
MAX_OPEN_SECONDS = 120.0


def megabytes(n: int) -> str:
    return f"{n / (1 << 20):.3g} MB"
