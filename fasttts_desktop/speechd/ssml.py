"""A message speech-dispatcher sends, as what the module does in order: say text, report a mark, pause.

speech-dispatcher wraps plain text in <speak> itself (escaping <, > and &) and puts <mark name="__spd_N"/>
after each sentence; SSML from a client arrives as the client wrote it, possibly malformed or hostile. It
is read by the app's one SSML reader (engine/text/markup.py: no entities, no DTD, no network, bounded size
and depth) with `recover=True`, so what is not well-formed is said as its text with the tags dropped: a
listener must not hear the markup. <phoneme> is said as its text (the module streams plain text).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from fasttts_desktop.engine.text.markup import is_ssml, parse_ssml

log = logging.getLogger(__name__)

MAX_BREAK_S = 10.0  # breaks in a row must not hold the speech queue for long


@dataclass(frozen=True)
class Text:
    text: str
    rate: float = 1.0  # multiplies the speed set for the message (<prosody rate>)
    voice: str = ""  # <voice name=…>; "" : the message's voice


@dataclass(frozen=True)
class Mark:
    name: str


@dataclass(frozen=True)
class Break:
    seconds: float


Piece = Text | Mark | Break


def parse(document: str) -> list[Piece]:
    """The pieces of a message in order; adjacent text in the same voice and rate is joined."""
    text = document.strip()
    if not text:
        return []
    parsed = parse_ssml(text if is_ssml(text) else f"<speak>{text}</speak>", recover=True)
    for notice in parsed.notices:
        log.info("%s", notice)
    marks = defaultdict(list)
    for mark in parsed.marks:
        marks[mark.segment].append(mark)
    pieces: list[Piece] = [Break(min(parsed.lead_pause, MAX_BREAK_S))] if parsed.lead_pause else []
    for i, seg in enumerate(parsed.segments):
        said = 0
        for mark in marks[i]:
            pieces += [Text(seg.text[said : mark.at], seg.rate, seg.voice), Mark(mark.name)]
            said = mark.at
        pieces.append(Text(seg.text[said:], seg.rate, seg.voice))
        if seg.pause_after:
            pieces.append(Break(min(seg.pause_after, MAX_BREAK_S)))
        elif seg.kind_after:  # the end of a <p> or <s>: a line break keeps "One" and "Two" apart
            pieces.append(Text("\n", seg.rate, seg.voice))
    pieces += [Mark(m.name) for m in marks[len(parsed.segments)]]
    return _joined(pieces)


def _joined(pieces: list[Piece]) -> list[Piece]:
    out: list[Piece] = []
    for piece in pieces:
        last = out[-1] if out else None
        if (
            isinstance(piece, Text)
            and isinstance(last, Text)
            and (last.rate, last.voice) == (piece.rate, piece.voice)
        ):
            out[-1] = Text(last.text + piece.text, piece.rate, piece.voice)
        else:
            out.append(piece)
    return [p for p in out if not isinstance(p, Text) or p.text.strip()]
