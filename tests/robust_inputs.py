"""The robustness suite's bad and unusual inputs: one table, used by the CLI and the window tests.

Each case is given the way a user would give it (an argument, standard input, a file) and says what must
happen: the exit status, the one error line (a fragment of it), a warning that must appear.
"""

from __future__ import annotations

import codecs
import io
import unicodedata
import zipfile
from dataclasses import dataclass, field

import pytest


@dataclass(frozen=True)
class Case:
    id: str
    text: str | None = None  # the text argument
    stdin: bytes | None = None
    file: bytes | None = None  # written to a file given with -f
    file_name: str = "input.txt"  # that file's name (its suffix picks the importer)
    args: tuple[str, ...] = ()
    code: int = 0
    error: str = ""  # fragment of the one error line (code != 0)
    warn: str = ""  # fragment of a warning line that must appear
    window: bool = True  # also typed into the window (lone surrogates cannot be)
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def as_text(self) -> str:
        """What the window would hold: the decoded text."""
        if self.text is not None:
            return self.text
        data = self.stdin if self.stdin is not None else self.file
        from fasttts_desktop.cli.textinput import decode

        return decode(data, "input").text


NFC = "Crème brûlée, café and résumé in Zürich."
UTF8 = "utf-8"
OWN_ENTITIES = (
    b'<!DOCTYPE html [<!ENTITY author "Alice Walker">]>\n'
    b"<html><body><p>Written by &author; in spring.</p></body></html>"
)


def bzip2_epub() -> bytes:
    """A small EPUB whose chapter is bzip2-compressed, which the EPUB standard does not allow."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        z.writestr(
            "META-INF/container.xml",
            '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="c.opf" media-type="application/oebps-package+xml"/>'
            "</rootfiles></container>",
        )
        z.writestr(
            "c.opf",
            '<package xmlns="http://www.idpf.org/2007/opf"><manifest>'
            '<item id="a" href="a.xhtml" media-type="application/xhtml+xml"/></manifest>'
            '<spine><itemref idref="a"/></spine></package>',
        )
        z.writestr("a.xhtml", "<html><body><p>Hello.</p></body></html>", zipfile.ZIP_BZIP2)
    return buf.getvalue()


CASES = [
    # --- encodings
    Case("utf8-accents", NFC),
    Case("nfd-decomposed", unicodedata.normalize("NFD", NFC)),
    Case("stdin-invalid-utf8", stdin=b"Hello \xff\xfe there.", warn="not valid UTF-8"),
    Case("stdin-latin1", stdin="Grüße aus Köln.".encode("latin-1"), warn="not valid UTF-8"),
    Case("file-utf16-le-bom", file=codecs.BOM_UTF16_LE + "Hello from UTF-16.".encode("utf-16-le")),
    Case("file-utf16-be-bom", file=codecs.BOM_UTF16_BE + "Hello from UTF-16.".encode("utf-16-be")),
    Case("file-utf8-bom", file=codecs.BOM_UTF8 + b"Hello with a BOM."),
    Case("file-utf32", file="Hello from UTF-32.".encode("utf-32")),
    Case("argv-surrogates", "Hello \udcff\udcfe there.", warn="not valid UTF-8", window=False),
    # --- scripts
    # Each script is read by its own front end whatever the voice (Japanese under the default English voice
    # too); a script no front end reads is skipped, named in a warning and listed as not spoken (never
    # spelled out letter by letter), and the English beside it is read; text with nothing else in it is an
    # error.
    Case("japanese-read", "こんにちは、世界。", args=("--voice", "jm_kumo")),
    Case("japanese-under-english", "こんにちは、世界。", args=("--lang", "a")),
    Case("chinese-as-mandarin", "你好世界。", args=("--lang", "z"), window=False),
    Case("cyrillic-skipped", "Привет, мир.", code=2, warn="Cyrillic", error="9 characters were not spoken"),
    Case("cyrillic-beside-english", "Привет, мир. Hello world.", warn="9 characters were not spoken"),
    Case("greek-skipped", "Γειά σου κόσμε.", code=2, warn="Greek", error="not spoken"),
    Case("arabic-rtl-marks", "\u200fمرحبا بالعالم\u200f hi.", warn="Arabic"),
    Case("hebrew", "שלום עולם hi.", warn="Hebrew"),
    Case("korean", "안녕하세요.", args=("--voice", "jm_kumo"), code=2, warn="Hangul", error="not spoken"),
    Case("korean-under-english", "안녕하세요.", args=("--voice", "af_heart")),  # espeak reads Hangul
    Case("hindi-as-hindi", "नमस्ते दुनिया.", args=("--lang", "h"), window=False),  # the window reads by voice
    Case("thai", "สวัสดี.", code=2, warn="Thai", error="not spoken"),
    Case("cherokee-only", "ᏣᎳᎩ", code=2, error="3 characters were not spoken: ᏣᎳᎩ"),
    Case("emoji", "I love 🍕 and 👨\u200d👩\u200d👧."),
    Case("english-with-kanji", "The word 東京 means eastern capital."),
    Case("math-and-fullwidth", "𝐁𝐨𝐥𝐝 and Ｆｕｌｌ words."),
    # --- control and invisible characters
    Case("nul-between-words", "Say hello\x00world now.", warn="1 character was not spoken: U+0000"),
    Case("bell-esc-del", "One\x07two\x1bthree\x7ffour.", warn="3 characters were not spoken"),
    Case("c1-controls", "Left\x85right\x9bend.", warn="U+009B"),
    Case("zero-width-and-soft-hyphen", "hel\u00adlo wo\u200brld in\ufeffside."),
    Case("bidi-override", "abc \u202edcba\u202c done."),
    Case("private-and-noncharacters", "Icon \ue000 and \uffff here.", warn="2 characters were not spoken"),
    Case("only-controls", "\x01\x02\x03", code=2, error="nothing speakable"),
    Case("line-separators", "A.\r\nB.\rC.\fD.\vE.\u2028F.\u2029G."),
    Case("tabs", "Column\tone\t\ttwo."),
    # --- huge words and lines (kept short enough to speak on a CPU)
    Case("long-word", "Super" + "cali" * 150 + ".", args=("--speed", "3")),
    Case("long-number", "1" * 40, args=("--speed", "3")),
    Case("punctuation-only", "!" * 500 + "?" * 500, code=2, error="nothing speakable"),
    Case("one-long-line", " ".join(["and then the next word"] * 25) + ".", args=("--speed", "3")),
    # --- markup
    Case("html", "<p>Hello <b>world</b> &amp; friends</p>"),
    Case("markdown-link", "See [the docs](https://example.com) and *this*."),
    Case("misaki-phoneme-link", "[Kokoro](/kˈOkəɹO/) speaks."),
    Case("ssml", '<speak>Hi<break time="1s"/>there</speak>'),
    Case("json", '{"key": [1, 2, {"x": null}]}'),
    Case("latex", r"$\frac{a}{b} + \sqrt{2}$ done."),
    # --- numbers and addresses
    Case("urls-and-email", "Visit https://example.com/a?b=c#d or mail me@example.org."),
    Case("numbers", "1,234.56 -7 3rd 1e10 $3.50 €4 12:30 50% 555-0100."),
    Case("dates-and-versions", "2024-02-29T12:00:00Z, v1.2.3 and 10.0.0.1."),
    Case("paths", r"C:\Windows\System32 and /usr/bin/env and ~/.config."),
    Case("fractions-and-roman", "½ ¾ ⅞, Chapter XIV, Louis XVI."),
    # --- speed, voice and output extremes
    Case("slowest", "Slow words.", args=("--speed", "0.5")),
    Case("fastest", "Fast words.", args=("--speed", "3")),
    Case("speed-nan", "Hi.", args=("--speed", "nan"), code=2, error="--speed"),
    Case("speed-huge", "Hi.", args=("--speed", "1e309"), code=2, error="--speed"),
    Case("voice-empty-is-default", "Default voice.", args=("--voice", "")),
    Case("voice-unknown", "Hi.", args=("--voice", "xx_nobody"), code=2, error="Unknown voice"),
    Case("voice-path-like", "Hi.", args=("--voice", "../jm_kumo"), code=2, error="Unknown voice"),
    # --- blend weights: checked before the model loads, the reason named (never "nan", never the digits)
    Case(
        "blend-weight-400-nines",
        "Hi.",
        args=("--voice", "jm_kumo:" + "9" * 400 + ",jf_alpha:1"),
        code=2,
        error="is too large",
        window=False,
    ),
    Case(
        "blend-weights-all-zero",
        "Hi.",
        args=("--voice", "jm_kumo:0,jf_alpha:0"),
        code=2,
        error="add up to nothing",
        window=False,
    ),
    # --- hostile documents (tests/test_hostile_documents.py has the bombs and their memory)
    Case(
        "html-own-dtd-entities",
        file=OWN_ENTITIES,
        file_name="page.html",
        warn="&author;",  # read as nothing, and said so; never "]>" or the sentence twice
        window=False,
    ),
    Case(
        "epub-bzip2-chapter",
        file=bzip2_epub(),
        file_name="book.epub",
        code=2,
        error="compressed with bzip2, which EPUB does not allow",
        window=False,
    ),
]

OUTPUT_CASES = [  # where the WAV goes, relative to the test's folder
    pytest.param("out put ✓.wav", 0, "", id="spaces-and-unicode-name"),
    pytest.param("n" * 251 + ".wav", 0, "", id="longest-name"),
    pytest.param("n" * 300 + ".wav", 2, "file name too long", id="name-too-long"),
    pytest.param("missing/../x.wav", 2, "does not exist", id="missing-folder-in-path"),
    pytest.param(".", 2, "it is a folder", id="dot"),
    pytest.param("existing.wav", 0, "", id="overwrite-existing"),
]


def params(cases=CASES, window: bool = False):
    return [pytest.param(c, id=c.id) for c in cases if c.window or not window]
