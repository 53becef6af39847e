"""The SSML speech-dispatcher sends, read with a real XML parser into what to say, where to pause and
which marks to report.

speech-dispatcher wraps plain text in <speak> itself (escaping <, > and &) and puts <mark name="__spd_N"/>
after each sentence; SSML from a client arrives as the client wrote it, possibly malformed or hostile.
lxml reads it with entity expansion, DTD loading and network access off (no billion laughs, no external
entities); what it still cannot read is spoken as its text with the tags dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True, remove_pis=True
)
_RECOVERING = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    remove_comments=True,
    remove_pis=True,
    recover=True,
)
MAX_BREAK_S = 10.0  # a <break time="1h"/> must not hold the speech queue for an hour
# SSML's named break strengths, in seconds (the values most engines use)
_STRENGTHS = {"none": 0.0, "x-weak": 0.1, "weak": 0.2, "medium": 0.4, "strong": 0.7, "x-strong": 1.0}
_RATES = {"x-slow": 0.5, "slow": 0.75, "medium": 1.0, "default": 1.0, "fast": 1.25, "x-fast": 1.6}


@dataclass(frozen=True)
class Text:
    text: str
    rate: float = 1.0  # multiplies the speed set for the message (<prosody rate>)


@dataclass(frozen=True)
class Mark:
    name: str


@dataclass(frozen=True)
class Break:
    seconds: float


Piece = Text | Mark | Break


def parse(document: str) -> list[Piece]:
    """The pieces of an SSML document in order; adjacent text at the same rate is joined."""
    root = _root(document)
    if root is None:  # not XML even after recovery: speak it as text, tags dropped
        return _joined([Text(re.sub(r"<[^>]*>", " ", document))])
    pieces: list[Piece] = []
    _walk(root, 1.0, pieces)
    return _joined(pieces)


def _root(document: str):
    data = document.strip().encode("utf-8")
    if not data:
        return None
    if not data.startswith((b"<speak", b"<?xml", b"<!DOCTYPE")):
        data = b"<speak>" + data + b"</speak>"
    for parser in (_PARSER, _RECOVERING):
        try:
            root = etree.fromstring(data, parser)
        except etree.XMLSyntaxError:
            continue
        if root is not None:
            return root
    return None


def _local(tag) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def _walk(element, rate: float, out: list[Piece]) -> None:
    name = _local(element.tag)
    if not isinstance(element.tag, str):  # an entity left unexpanded: not spoken
        pass
    elif name == "mark":
        if element.get("name"):
            out.append(Mark(element.get("name")))
    elif name == "break":
        out.append(Break(_break_seconds(element)))
    elif name == "sub" and element.get("alias") is not None:
        out.append(Text(f" {element.get('alias')} ", rate))
    elif name == "say-as" and element.get("interpret-as", "").lower() in ("characters", "spell-out"):
        out.append(Text(" " + " ".join("".join(element.itertext()).replace(" ", "")) + " ", rate))
    elif name in ("desc", "metadata", "lexicon"):  # descriptions, not speech
        pass
    else:
        if name == "prosody":
            rate *= _rate(element.get("rate"))
        if element.text:
            out.append(Text(element.text, rate))
        for child in element:
            _walk(child, rate, out)
            if child.tail:
                out.append(Text(child.tail, rate))
        if name in ("p", "s"):  # paragraph and sentence ends are pauses the text may not show
            out.append(Text("\n", rate))
        return
    # the tail is taken care of by the parent's loop


def _break_seconds(element) -> float:
    time = (element.get("time") or "").strip().lower()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s)", time)
    if match:
        value = float(match.group(1)) / (1000 if match.group(2) == "ms" else 1)
    else:
        value = _STRENGTHS.get((element.get("strength") or "medium").strip().lower(), 0.4)
    return min(value, MAX_BREAK_S)


def _rate(value: str | None) -> float:
    if not value:
        return 1.0
    value = value.strip().lower()
    if value in _RATES:
        return _RATES[value]
    match = re.fullmatch(r"([+-]?\d+(?:\.\d+)?)\s*%", value)
    if match:  # "150%" is absolute, "+20%" relative to the current rate
        number = float(match.group(1))
        factor = 1 + number / 100 if value[0] in "+-" else number / 100
    else:
        try:
            factor = float(value)
        except ValueError:
            return 1.0
    return min(max(factor, 0.25), 4.0) if factor == factor else 1.0  # noqa: PLR0124 - nan check


def _joined(pieces: list[Piece]) -> list[Piece]:
    out: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, Text) and out and isinstance(out[-1], Text) and out[-1].rate == piece.rate:
            out[-1] = Text(out[-1].text + piece.text, piece.rate)
        else:
            out.append(piece)
    return [p for p in out if not isinstance(p, Text) or p.text.strip()]
