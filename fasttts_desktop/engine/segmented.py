"""Reading a text as segments (text/segments.py): each in its own voice and rate, with the pauses the
user set at the joins, the chunks' offsets and word timings put back onto the text the user sees.

Each segment goes through Engine's plain stream (chunking, batching, failures as usual); what comes out is
re-numbered, re-placed and re-timed here. No Qt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

import numpy as np

from fasttts_desktop.engine.text.pauses import end_with_pause, join_kind, silence, trim_start
from fasttts_desktop.engine.text.segments import Plan, Reading, Segment, plan
from fasttts_desktop.engine.types import (
    MAX_SPEED,
    MIN_SPEED,
    SAMPLE_RATE,
    AudioChunk,
    Cancelled,
    EngineError,
    TextChunk,
    WordTiming,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import torch

    from fasttts_desktop.engine.engine_like import EngineLike
    from fasttts_desktop.engine.synthesis.protocol import Result
    from fasttts_desktop.engine.text.frontend import PhonemizedChunk

    class Engine(EngineLike, Protocol):
        """What reading a text as segments needs of engine.py's Engine (which calls in here: named by this
        protocol, not imported, so the two modules do not import each other)."""

        _vocab: dict[str, int]

        def voice_pack(self, name: str | None) -> torch.Tensor: ...
        def _check(self, text: str, speed: float, start: int = 0) -> None: ...
        def _infer(
            self, group: list[PhonemizedChunk], pack: torch.Tensor, speed: float, cancel: Callable[[], bool]
        ) -> Sequence[Result | Exception]: ...


log = logging.getLogger(__name__)


def reading_notices(engine: Engine, text: str, reading: Reading, voice: str | None = None) -> list[str]:
    """One line per piece of markup that will not be followed (bad markup, unknown voices), before reading."""
    p = plan(text, reading)
    notices = list(p.notices)
    named = {s.voice for s in p.segments if s.voice} | {v for _, _, v in reading.voices}
    named |= {reading.dialogue_voice} if reading.dialogue_voice else set()
    for name in sorted(named):
        try:
            engine.voice(name)
        except EngineError as exc:
            notices.append(f"{exc} Read in {voice or engine.default_voice} instead.")
    return notices


def stream_reading(
    engine: Engine,
    text: str,
    voice: str | None,
    speed: float,
    reading: Reading,
    *,
    cancel: Callable[[], bool] | None = None,
    pack: bool = True,
    batch: int = 1,
    start: int = 0,
    lang: str | None = None,
) -> Iterator[AudioChunk]:
    """Engine.stream's contract (offsets into `text`, timings into each chunk's audio), under `reading`."""
    engine._check(text, speed, start)  # noqa: SLF001 - the same checks and messages as a plain stream
    p = plan(text, reading)
    voices = _voices(engine, p, reading, voice)
    total = max(1, engine.estimate_chunks(text[start:]))
    index = 0
    pending: float | None = p.lead_pause if start == 0 and p.lead_pause else None
    lead_in = pending is not None  # a break before the first words: silence before them
    todo = [(k, s) for k, s in enumerate(p.segments) if len(s.ends) and s.ends[-1] > start]
    for n, (k, seg) in enumerate(todo):
        if cancel and cancel():
            return
        local = int(np.searchsorted(seg.ends, start, side="right")) if n == 0 else 0
        seg_voice = voices[k]
        rate = min(MAX_SPEED, max(MIN_SPEED, speed * seg.rate))
        try:
            first = index == 0  # a short first chunk only where the reading starts
            chunks = _segment_chunks(
                engine, seg, seg_voice, rate, cancel, pack, batch, local, lang, voice, first
            )
            for made in chunks:
                chunk = _placed(made, seg, text)
                chunk.index, chunk.total = index, max(total, index + 1)
                if not chunk.failed and len(chunk.audio):
                    if lead_in:
                        chunk = _after_pause(chunk, pending or 0.0, lead=True)
                    elif pending is not None:
                        chunk = _after_pause(chunk, 0.0, lead=False)
                    pending = _pause_after(chunk, made.chunk.end, p, k, reading, text)
                    if pending is not None:
                        chunk.audio = end_with_pause(chunk.audio, chunk.words, pending)
                    lead_in = False
                yield chunk
                index += 1
        except _NothingToSay:
            continue
    if index == 0 and not (cancel and cancel()):
        from fasttts_desktop.engine.text.prepare import describe_unspoken, reportable, runs

        silent = runs([i for i in range(start, len(text)) if reportable(text[i])], text)
        why = describe_unspoken(silent) or "only punctuation?"
        raise EngineError(f"The text has nothing speakable in it ({why}).")


class _NothingToSay(Exception):
    pass


def _voices(engine: Engine, p: Plan, reading: Reading, voice: str | None) -> list[str | None]:
    """Each segment's voice, a known one (unknown names fall back to the reading's voice; see
    reading_notices)."""
    known: dict[str, bool] = {}

    def ok(name: str) -> bool:
        if name not in known:
            try:
                engine.voice(name)
                known[name] = True
            except EngineError:
                log.warning("unknown voice %r in the reading; using %r", name, voice)
                known[name] = False
        return known[name]

    out: list[str | None] = []
    for seg in p.segments:
        choices = [seg.voice, reading.dialogue_voice if seg.dialogue else "", seg.chapter_voice]
        out.append(next((c for c in choices if c and ok(c)), voice))
    return out


def _segment_chunks(
    engine: Engine,
    seg: Segment,
    voice: str | None,
    speed: float,
    cancel: Callable[[], bool] | None,
    pack: bool,
    batch: int,
    start: int,
    lang: str | None,
    reading_voice: str | None,
    short_first: bool,
) -> Iterator[AudioChunk]:
    # a segment in another voice speaks that voice's language; `lang` is for the reading's own voice
    seg_lang = lang if voice == reading_voice else None
    if seg.phonemes:
        yield from _phoneme_chunk(engine, seg, voice, speed, cancel)
        return
    if not any(c.isalnum() for c in seg.text[start:]):
        raise _NothingToSay
    try:
        yield from engine.stream(
            seg.text,
            voice,
            speed,
            cancel=cancel,
            pack=pack,
            batch=batch,
            start=start,
            lang=seg_lang,
            short_first=short_first,
        )
    except EngineError as exc:
        if "nothing speakable" in str(exc):  # a segment of symbols only: the rest of the text goes on
            raise _NothingToSay from exc
        raise


def _phoneme_chunk(
    engine: Engine, seg: Segment, voice: str | None, speed: float, cancel: Callable[[], bool] | None
) -> Iterator[AudioChunk]:
    """An SSML <phoneme>: its phonemes as given (those in kokoro's vocabulary), its text as the word."""
    from misaki.token import MToken

    from fasttts_desktop.engine.stream_helpers import fade_edges
    from fasttts_desktop.engine.text.frontend import PhonemizedChunk, word_timings
    from fasttts_desktop.engine.types import MAX_PHONEMES

    vocab = engine._vocab  # noqa: SLF001 - the engine's own vocabulary, read in the engine's room
    phonemes = "".join(c for c in seg.phonemes if c in vocab).strip()[:MAX_PHONEMES]
    if not phonemes:
        raise _NothingToSay
    word = seg.text.strip()
    pc = PhonemizedChunk(TextChunk(seg.text, 0, len(seg.text), phonemes), [MToken(word, "PH", "", phonemes)])
    try:
        (result,) = engine._infer([pc], engine.voice_pack(voice), speed, cancel or (lambda: False))  # noqa: SLF001
    except Cancelled:
        return
    if isinstance(result, Exception):
        chunk = AudioChunk(
            0, 1, pc.chunk, np.zeros(0, np.float32), failed=f"{type(result).__name__}: {result}"
        )
    else:
        words = word_timings(pc, result.durations)
        chunk = AudioChunk(0, 1, pc.chunk, fade_edges(result.audio), words, result.durations)
    yield chunk


def _placed(chunk: AudioChunk, seg: Segment, text: str) -> AudioChunk:
    """`chunk` (offsets into the segment's text) placed in `text`, its words named as written there."""
    c = chunk.chunk
    lo, hi = seg.source(c.start, c.end) if c.end > c.start else (int(seg.starts[0]),) * 2
    words, at = [], 0
    for w in chunk.words:
        found = c.text.find(w.text, at) if w.text else -1
        if found < 0:
            words.append(w)
            continue
        at = found + len(w.text)
        s, e = seg.source(c.start + found, c.start + at)
        words.append(WordTiming(text[s:e], w.start_s, w.end_s, s))
    unspoken = tuple((int(seg.starts[o]), chars) for o, chars in chunk.unspoken if o < len(seg.starts))
    return replace(chunk, chunk=TextChunk(text[lo:hi], lo, hi, c.phonemes), words=words, unspoken=unspoken)


def _after_pause(chunk: AudioChunk, lead_s: float, *, lead: bool) -> AudioChunk:
    """The chunk after a set pause: its leading silence trimmed (the pause is already in place), or, at the
    very start after a break, replaced by `lead_s` of silence."""
    audio, words, _ = trim_start(chunk.audio, chunk.words)
    if lead:
        pad = silence(lead_s)
        shift = len(pad) / SAMPLE_RATE
        audio = np.concatenate([pad, audio])
        words = [replace(w, start_s=w.start_s + shift, end_s=w.end_s + shift) for w in words]
    return replace(chunk, audio=audio, words=words)


def _pause_after(
    chunk: AudioChunk, local_end: int, p: Plan, k: int, reading: Reading, text: str
) -> float | None:
    """The silence to end `chunk` (of segment k, ending at `local_end` in its text) with, or None to leave
    its end as the model made it."""
    seg = p.segments[k]
    rest = seg.text[local_end:]
    explicit, kind_after = None, None
    if rest.strip():  # more of this segment follows
        nxt = int(seg.starts[local_end + len(rest) - len(rest.lstrip())])
    else:
        j = next((i for i in range(k + 1, len(p.segments)) if p.segments[i].text.strip()), None)
        if j is None:
            return None  # the end of the reading: nothing to pause before
        following = p.segments[j].text
        nxt = int(p.segments[j].starts[len(following) - len(following.lstrip())])
        between = p.segments[k:j]
        if any(s.pause_after is not None for s in between):
            explicit = sum(s.pause_after or 0.0 for s in between)
        kind_after = seg.kind_after
    if explicit is not None:
        return explicit
    spoken = seg.text[:local_end]
    kind = kind_after or join_kind(spoken, text, chunk.chunk.end, nxt, reading.chapters, reading.headings)
    return reading.pauses.of(kind)
