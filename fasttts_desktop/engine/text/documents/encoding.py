"""Bytes of a text file -> str: byte order marks, UTF-8, else charset-normalizer; binary files refused.

Order of trust: a BOM (UTF-8/16/32) is certain; strict UTF-8 is next (no legacy text of any length decodes
as UTF-8 by accident); a file that is UTF-8 but for a few bad bytes stays UTF-8 with those bytes replaced
(a detector would pick a code page and garble every accented letter instead); the rest goes to
charset-normalizer. Anything that is not UTF-8 or BOM-marked gets a notice naming the guess, and every
lossy decode names the number of characters replaced.
"""

from __future__ import annotations

import codecs

from fasttts_desktop.engine.text.documents.model import DocumentError

BOMS = (  # UTF-32 first: its LE BOM starts with UTF-16 LE's
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32 LE"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32 BE"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"),
)

# What a file that is not text usually is, to say so instead of "binary data".
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
    (b"RIFF", "a RIFF (audio/video) file"),
    (b"ID3", "an MP3 file"),
    (b"OggS", "an Ogg file"),
    (b"fLaC", "a FLAC file"),
)

_SAMPLE = 1 << 16
# Bytes that text files do not hold (NUL is judged separately, for BOM-less UTF-16); ESC, FF, tab, CR and
# LF are allowed.
_CONTROL_BYTES = bytes([*range(1, 9), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F])
_PRETTY = {
    "utf_8": "UTF-8",
    "utf_16_le": "UTF-16 LE",
    "utf_16_be": "UTF-16 BE",
    "cp932": "Shift-JIS (cp932)",
    "shift_jis": "Shift-JIS",
    "euc_jp": "EUC-JP",
    "gb18030": "GB18030",
    "gb2312": "GB2312",
    "big5": "Big5",
    "euc_kr": "EUC-KR",
    "latin_1": "ISO-8859-1",
}


def pretty_name(encoding: str) -> str:
    name = codecs.lookup(encoding).name.replace("-", "_")
    if name in _PRETTY:
        return _PRETTY[name]
    if name.startswith("cp125"):
        return "windows-" + name[2:]
    if name.startswith("iso8859_"):
        return "ISO-8859-" + name[8:]
    return name


def looks_binary(data: bytes) -> str | None:
    """What `data` is if it is clearly not text ("a PNG image", "binary data"), else None."""
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return what
    if any(data.startswith(bom) for bom, _, _ in BOMS):
        return None
    sample = data[:_SAMPLE]
    if not sample:
        return None
    if b"\x00" in sample and _bomless_utf16(sample) is None:
        return "binary data"
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return "binary data" if controls > max(4, len(sample) // 100) else None  # a stray BEL is not binary


def decode_text(data: bytes, name: str = "", strict_utf8: bool = False) -> tuple[str, list[str]]:
    """The text in `data` and notices about how it was decoded.

    strict_utf8: accept only BOM-marked or valid UTF-8 text (for files whose suffix says nothing);
    anything else raises DocumentError.
    """
    what = looks_binary(data)
    if what is not None:
        raise DocumentError(f"{name or 'The file'} is not a text file (it looks like {what}).")
    for bom, codec, label in BOMS:
        if data.startswith(bom):
            return decode_as(data[len(bom) :], codec, label, announce=False)
    utf16 = _bomless_utf16(data[:_SAMPLE]) if b"\x00" in data[:_SAMPLE] else None
    if utf16 is not None:
        return decode_as(data, utf16, pretty_name(utf16) + " without a byte order mark", announce=True)
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    if strict_utf8:
        raise DocumentError(f"{name or 'The file'} is not UTF-8 text.")
    lossy = data.decode("utf-8", errors="replace")
    bad = lossy.count("\ufffd") - data.count("\ufffd".encode())
    non_ascii = len(lossy) - len(lossy.encode("ascii", "ignore"))
    if non_ascii - bad > bad:  # more good non-ASCII characters than bad bytes: UTF-8 with a few errors
        return lossy, [_lossy_notice("UTF-8", bad)]
    encoding = _detect(data)
    return decode_as(data, encoding, pretty_name(encoding), announce=True)


def _detect(data: bytes) -> str:
    from charset_normalizer import from_bytes
    from charset_normalizer.utils import is_multi_byte_encoding

    best = from_bytes(data).best()
    if best is None:
        return "cp1252"  # text-like (not refused above) yet unclassifiable: the commonest legacy page
    encoding = best.encoding
    if encoding != "cp1252" and not is_multi_byte_encoding(encoding):
        # charset-normalizer often ranks another Latin page (cp1250, cp1257, ...) first on Western text
        # where windows-1252 reads just as cleanly; prefer the far commoner one on a near tie.
        western = from_bytes(data, cp_isolation=["cp1252"]).best()
        if western is not None and western.chaos <= best.chaos + 0.1:
            return "cp1252"
    return encoding


def decode_as(data: bytes, codec: str, label: str, announce: bool) -> tuple[str, list[str]]:
    text = data.decode(codec, errors="replace")
    try:
        already = data.count("\ufffd".encode(codec))
    except UnicodeEncodeError:
        already = 0
    bad = text.count("\ufffd") - already
    if bad > 0:
        return text, [_lossy_notice(label, bad)]
    return text, [f"Decoded as {label} (detected)."] if announce else []


def _lossy_notice(label: str, bad: int) -> str:
    n = f"{bad} character{'s' * (bad != 1)} could not be decoded and {'were' if bad != 1 else 'was'}"
    return f"Decoded as {label}; {n} replaced."


def _bomless_utf16(sample: bytes) -> str | None:
    """UTF-16 without a BOM shows as NULs on every other byte (for Latin text)."""
    half = len(sample) // 2
    if half < 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > 0.3 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None
