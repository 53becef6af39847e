"""Markup in the text: an SSML subset, and short [pause:1.5s] / [voice:bf_emma] / [rate:1.2] tags in plain
text. Both become segments (segments.py) that remember where each character said came from.

SSML is parsed by lxml with entities unresolved, no DTD and no network (the text may come from anywhere),
then each piece of character data is found in the source by a small scanner of the already well-formed
text, so offsets point into what the user sees. Markup that cannot be understood gets one line in
`notices` and is read as the text it is: a document that fails to parse as XML is read whole as plain
text, an element or tag with a bad value is read as if the element or tag were not there.

This is the one SSML reader: documents, `say`, the window and the speech-dispatcher module (speechd/) use
it. For a listener who cannot see the text (speech-dispatcher), `recover=True` reads SSML that is not
well-formed with lxml's recovering parser and drops the tags, rather than reading them aloud.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field, replace

import numpy as np
from lxml import etree

from fasttts_desktop.engine.text.pauses import parse_seconds
from fasttts_desktop.engine.text.say_as import interpret
from fasttts_desktop.engine.text.segments import MARKUP_MODES, Segment, identity, plain
from fasttts_desktop.engine.types import EngineError

# Breaks by SSML strength, in seconds.
_STRENGTH = {"none": 0.0, "x-weak": 0.1, "weak": 0.25, "medium": 0.5, "strong": 0.8, "x-strong": 1.2}
_RATE_WORDS = {"x-slow": 0.6, "slow": 0.8, "medium": 1.0, "default": 1.0, "fast": 1.25, "x-fast": 1.5}
_INLINE = re.compile(r"\[(pause|voice|rate)(?::([^\]\n]*))?\]", re.IGNORECASE)
_NONE = np.zeros(0, np.int64)
# A long book in SSML; longer is read as plain text (the character scanner keeps 3 ints a character).
MAX_SSML_CHARS = 5_000_000
MAX_DEPTH = 100  # elements nested deeper are not read as SSML (libxml2 allows 256; the walker recurses)


@dataclass(frozen=True)
class Mark:
    """An SSML <mark name=…/>: reached once segments[segment].text[:at] has been said (segment may be
    len(segments): the end)."""

    segment: int
    at: int
    name: str


@dataclass
class Parsed:
    segments: list[Segment]
    notices: list[str] = field(default_factory=list)
    lead_pause: float = 0.0
    marks: list[Mark] = field(default_factory=list)


def parse(text: str, mode: str = "auto") -> Parsed:
    """`text` as segments under markup `mode` (segments.MARKUP_MODES)."""
    if mode not in MARKUP_MODES:
        raise EngineError(f"Unknown markup mode {mode!r}: use one of {', '.join(MARKUP_MODES)}.")
    if mode == "ssml" or (mode == "auto" and is_ssml(text)):
        return parse_ssml(text)
    if mode in ("auto", "tags"):
        return parse_tags(text)
    return Parsed([plain(text)])


def is_ssml(text: str) -> bool:
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("<?xml"):
        head = head[head.find("?>") + 2 :].lstrip() if "?>" in head else head
    # a DOCTYPE is refused by parse_ssml, with a line saying so, rather than read silently as plain text
    return head.startswith(("<speak", "<!DOCTYPE speak"))


class _Builder:
    """Segments in the making: text runs added in order under the current voice and rate."""

    def __init__(self) -> None:
        self.done: list[Segment] = []
        self.current = Segment("", _NONE, _NONE)
        self.lead_pause = 0.0
        self.marks: list[Mark] = []

    def mark(self, name: str) -> None:
        self.marks.append(Mark(len(self.done), len(self.current.text), name))

    def add(self, said: str, starts: np.ndarray, ends: np.ndarray) -> None:
        c = self.current
        c.text += said
        c.starts = np.concatenate([c.starts, starts]) if len(c.starts) else starts
        c.ends = np.concatenate([c.ends, ends]) if len(c.ends) else ends

    def close(self, *, pause: float | None = None, kind: str | None = None, **changes) -> None:
        """End the current segment (with a break or structure after it); the next one has `changes`."""
        c = self.current
        if c.text.strip() or c.phonemes:
            if pause is not None:
                c.pause_after = (c.pause_after or 0.0) + pause
            c.kind_after = kind or c.kind_after
            self.done.append(c)
        else:
            self._unsaid_marks()
            if pause is not None:  # nothing said yet: the break goes with what was said before
                if self.done:
                    self.done[-1].pause_after = (self.done[-1].pause_after or 0.0) + pause
                else:
                    self.lead_pause += pause
        self.current = replace(
            c, text="", starts=_NONE, ends=_NONE, phonemes="", pause_after=None, kind_after=None
        )
        for key, value in changes.items():
            setattr(self.current, key, value)

    def _unsaid_marks(self) -> None:
        """The current segment is dropped (nothing said): its marks are reached where the next one starts."""
        n, k = len(self.done), len(self.marks)
        while k and self.marks[k - 1].segment == n:
            k -= 1
            self.marks[k] = Mark(n, 0, self.marks[k].name)

    def finish(self) -> tuple[list[Segment], float]:
        self.close()
        return self.done, self.lead_pause


# ---------------------------------------------------------------------------------------------- inline tags


def parse_tags(text: str) -> Parsed:
    """[pause:1.5s], [voice:bf_emma] ([voice] or [voice:default] goes back), [rate:1.2] ([rate:1] back)."""
    b, notices, pos = _Builder(), [], 0
    for m in _INLINE.finditer(text):
        name, value = m.group(1).lower(), (m.group(2) or "").strip()
        try:
            change = _inline_change(name, value)
        except EngineError as exc:
            notices.append(f"{_where(text, m.start())}: {m.group()} is read as text: {exc}")
            continue
        b.add(text[pos : m.start()], *identity(pos, m.start()))
        pos = m.end()
        if name == "pause":
            b.close(pause=float(change))
        elif name == "voice":
            b.close(voice=change)
        else:
            b.close(rate=change)
    b.add(text[pos:], *identity(pos, len(text)))
    segments, lead = b.finish()
    return Parsed(segments, notices, lead)


def _inline_change(name: str, value: str) -> float | str:
    if name == "pause":
        return parse_seconds(value)
    if name == "voice":
        if value and not re.fullmatch(r"[\w.:,()+\- ]+", value):
            raise EngineError(f"{value!r} is not a voice name")
        return "" if value.lower() in ("", "default") else value
    return parse_rate(value or "1")


def parse_rate(value: str) -> float:
    """SSML/inline rate: 1.2, 120%, +20%, -10%, x-slow … x-fast -> a factor of the reading's speed."""
    v = value.strip().lower()
    if v in _RATE_WORDS:
        return _RATE_WORDS[v]
    try:
        if v.endswith("%"):
            number = float(v[:-1])
            factor = 1 + number / 100 if v[0] in "+-" else number / 100
        else:
            factor = float(v)
    except ValueError:
        raise EngineError(f"bad rate {value!r} (write 1.2, 120% or slow)") from None
    if not 0.25 <= factor <= 4:
        raise EngineError(f"rate {value!r} is out of range (0.25 to 4 times)")
    return factor


def _where(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    return f"line {line}, column {offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


# ---------------------------------------------------------------------------------------------------- SSML


def parse_ssml(text: str, *, recover: bool = False) -> Parsed:
    """SSML `text` as segments placed in the original. What cannot be read is one line in `notices` and the
    text as written; with `recover`, the text of what lxml's recovering parser makes of it (no offsets)."""
    if len(text) > MAX_SSML_CHARS:
        problem = f"longer than {MAX_SSML_CHARS:,} characters"
    else:
        try:
            return _walked(_parse_xml(text), _char_data(text))
        except (etree.XMLSyntaxError, EngineError, ValueError) as exc:
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if recover:
        return _recovered(text, problem)
    return Parsed([plain(text)], [f"The SSML could not be read ({problem}); reading it as plain text."])


def _walked(root: etree._Element, chars: tuple[str, np.ndarray, np.ndarray] | None) -> Parsed:
    walker = _Walker(chars)
    walker.element(root)
    if chars is not None and walker.pos != len(chars[0]):
        raise ValueError("the SSML could not be lined up with the text")  # never misplace words
    segments, lead = walker.b.finish()
    return Parsed(segments, walker.notices, lead, walker.b.marks)


# A DOCTYPE with its internal subset: entities declared there are expanded in attribute values even with
# resolve_entities off, so the recovering parser never sees one.
_DOCTYPE = re.compile(r"<!DOCTYPE(?:[^\[>]|\[[^\]]*\])*>?")


def _recovered(text: str, problem: str) -> Parsed:
    notice = f"The SSML could not be read ({problem}); its tags were dropped."
    if len(text) > MAX_SSML_CHARS:
        return Parsed([plain(re.sub(r"<[^<>]*>", lambda m: " " * len(m[0]), text))], [notice])
    cleaned = _DOCTYPE.sub("", text.lstrip("\ufeff")).replace("<!DOCTYPE", "").replace("<!ENTITY", "")
    root = etree.fromstring(cleaned.encode("utf-8"), _parser(recover=True))
    if root is None:
        return Parsed([], [notice])
    etree.strip_elements(root, etree.Entity, with_tail=False)  # undeclared entities: not said
    try:
        parsed = _walked(root, None)
    except EngineError:  # nested too deep to walk: the words alone
        said = "".join(root.itertext())
        parsed = Parsed([Segment(said, np.zeros(len(said), np.int64), np.zeros(len(said), np.int64))])
    parsed.notices.insert(0, notice)
    return parsed


def _parser(*, recover: bool = False) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
        huge_tree=False,
        recover=recover,
    )


def _parse_xml(text: str) -> etree._Element:
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise EngineError("a DOCTYPE or ENTITY declaration is not allowed")
    root = etree.fromstring(text.lstrip("\ufeff").encode("utf-8"), _parser())
    if etree.QName(root).localname != "speak":
        raise EngineError(f"the root element is <{etree.QName(root).localname}>, not <speak>")
    return root


def _char_data(raw: str) -> tuple[str, np.ndarray, np.ndarray]:
    """The character data of well-formed XML `raw` in document order, and where each character lies."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if raw.startswith("<!--", i):
            i = raw.index("-->", i + 4) + 3
        elif raw.startswith("<![CDATA[", i):
            j = raw.index("]]>", i)
            for k in range(i + 9, j):
                out.append(raw[k])
                starts.append(k)
                ends.append(k + 1)
            i = j + 3
        elif raw.startswith("<?", i):
            i = raw.index("?>", i) + 2
        elif c == "<":
            i = _tag_end(raw, i)
        elif c == "&":
            j = raw.index(";", i)
            decoded = html.unescape(raw[i : j + 1])
            for ch in decoded:
                out.append(ch)
                starts.append(i)
                ends.append(j + 1)
            i = j + 1
        elif c == "\r":  # XML reads \r\n and \r as \n
            end = i + 2 if raw.startswith("\r\n", i) else i + 1
            out.append("\n")
            starts.append(i)
            ends.append(end)
            i = end
        else:
            out.append(c)
            starts.append(i)
            ends.append(i + 1)
            i += 1
    return "".join(out), np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


def _tag_end(raw: str, i: int) -> int:
    quote = ""
    for j in range(i + 1, len(raw)):
        ch = raw[j]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == ">":
            return j + 1
    raise ValueError("unclosed tag")


# Elements read for their text with no notice: emphasis and language changes are the voice's business;
# <audio>'s text is what to say when there is no sound file.
_READ_THROUGH = ("speak", "emphasis", "lang", "audio")
_NOT_SPEECH = ("desc", "metadata", "lexicon")  # descriptions and data inside SSML, not to be said


class _Walker:
    """The elements of a parsed SSML document, in order, into a _Builder. `chars` is the document's
    character data with offsets (_char_data); None for a recovered tree (no offsets: all 0)."""

    def __init__(self, chars: tuple[str, np.ndarray, np.ndarray] | None):
        self.chars = chars
        self.pos = 0
        self.depth = 0
        self.b = _Builder()
        self.notices: list[str] = []
        self.handlers = {
            "break": self._break,
            "p": self._p,
            "s": self._s,
            "prosody": self._prosody,
            "voice": self._voice,
            "phoneme": self._phoneme,
            "sub": self._sub,
            "say-as": self._say_as,
            "mark": self._mark,
        }

    def take(self, data: str | None) -> tuple[str, np.ndarray, np.ndarray]:
        """The next `data` of the character data, with its offsets."""
        if not data:
            return "", _NONE, _NONE
        if self.chars is None:
            return data, np.zeros(len(data), np.int64), np.zeros(len(data), np.int64)
        text, starts, ends = self.chars
        lo, hi = self.pos, self.pos + len(data)
        if text[lo:hi] != data:
            raise ValueError("character data out of step")
        self.pos = hi
        return data, starts[lo:hi], ends[lo:hi]

    def say(self, data: str | None) -> None:
        self.b.add(*self.take(data))

    def say_instead(self, said: str, element: etree._Element) -> None:
        """`said` in place of the element's text, every character of it placed over that text."""
        _, starts, ends = self.take("".join(element.itertext()))
        if len(starts):
            self.b.add(said, np.full(len(said), starts[0]), np.full(len(said), ends[-1]))

    def element(self, el: etree._Element) -> None:
        name = etree.QName(el).localname
        if self.depth >= MAX_DEPTH:
            raise EngineError(f"elements are nested more than {MAX_DEPTH} deep")
        self.depth += 1
        if name in self.handlers:
            self.handlers[name](el)
        elif name in _NOT_SPEECH:
            self.take("".join(el.itertext()))
        else:
            if name not in _READ_THROUGH:
                self.notices.append(f"SSML <{name}> is not supported; its text is read as it stands.")
            self.children(el)
        self.depth -= 1

    def children(self, el: etree._Element) -> None:
        self.say(el.text)
        for child in el:
            self.element(child)
            self.say(child.tail)

    def _bad(self, el: etree._Element, problem: str) -> None:
        self.notices.append(
            f"line {el.sourceline}: SSML <{etree.QName(el).localname}> ignored ({problem}); its text is read."
        )
        self.children(el)

    def _break(self, el: etree._Element) -> None:
        try:
            if el.get("time") is not None:
                seconds = parse_seconds(el.get("time", ""))
            else:
                strength = el.get("strength", "medium")
                if strength not in _STRENGTH:
                    raise EngineError(f"unknown strength {strength!r}")
                seconds = _STRENGTH[strength]
        except EngineError as exc:
            self._bad(el, str(exc))
            return
        self.b.close(pause=seconds)
        self.children(el)

    def _mark(self, el: etree._Element) -> None:
        name = (el.get("name") or "").strip()
        if name:
            self.b.mark(name)
        self.children(el)

    def _p(self, el: etree._Element) -> None:
        self.b.close()
        self.children(el)
        self.b.close(kind="paragraph")

    def _s(self, el: etree._Element) -> None:
        self.b.close()
        self.children(el)
        self.b.close(kind="sentence")

    def _scoped(self, el: etree._Element, **changes) -> None:
        before = {k: getattr(self.b.current, k) for k in changes}
        self.b.close(**changes)
        self.children(el)
        self.b.close(**before)

    def _prosody(self, el: etree._Element) -> None:
        rate = el.get("rate")
        if rate is None:
            self.children(el)
            return
        try:
            factor = parse_rate(rate)
        except EngineError as exc:
            self._bad(el, str(exc))
            return
        self._scoped(el, rate=self.b.current.rate * factor)

    def _voice(self, el: etree._Element) -> None:
        name = (el.get("name") or "").strip()
        if not name:
            self._bad(el, "no name")
            return
        self._scoped(el, voice=name)

    def _phoneme(self, el: etree._Element) -> None:
        ph = (el.get("ph") or "").strip()
        if not ph or not "".join(el.itertext()).strip():
            self._bad(el, "no ph, or no text")
            return
        self.b.close()
        self.say("".join(el.itertext()))  # <phoneme> holds text only; its words are what is highlighted
        self.b.current.phonemes = ph
        self.b.close()

    def _sub(self, el: etree._Element) -> None:
        alias = el.get("alias")
        if not alias or not "".join(el.itertext()).strip():
            self._bad(el, "no alias, or no text")
            return
        self.say_instead(alias, el)

    def _say_as(self, el: etree._Element) -> None:
        kind = (el.get("interpret-as") or "").lower()
        content = "".join(el.itertext())
        try:
            said = interpret(kind, content.strip(), el.get("format"))
        except EngineError as exc:
            self._bad(el, str(exc))
            return
        self.say_instead(said, el)
