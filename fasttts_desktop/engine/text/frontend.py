"""Text -> phonemized chunks, lazily, for any of kokoro's languages; the G2P is per language (languages.py).

Chunking is ours (chunking.py) because KPipeline's own truncates past 510 phonemes, phonemizes a whole
paragraph before yielding anything, and does not keep offsets into the input. The user's lexicon and the
script check (scripts.py) are applied here, on the way into G2P, so offsets into the input always hold.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from fasttts_desktop.engine.synthesis.config import kokoro_config
from fasttts_desktop.engine.text.chunk_estimate import estimate_chunk_count
from fasttts_desktop.engine.text.chunking import (
    SILENT_PHONEMES,
    Cut,
    Packer,
    Tok,
    g2p_spans,
    mark_boundaries,
    soft_breaks_as_spaces,
)
from fasttts_desktop.engine.text.languages import G2P, LANGUAGES, g2p_for
from fasttts_desktop.engine.text.prepare import Prepared, prepare, reportable, runs
from fasttts_desktop.engine.text.writing_systems import blank_unreadable, reader_runs
from fasttts_desktop.engine.types import (
    MAX_PHONEMES,
    SAMPLE_RATE,
    SAMPLES_PER_FRAME,
    EngineError,
    TextChunk,
    WordTiming,
)

__all__ = ["LANGUAGES", "FrontEnd", "PhonemizedChunk", "estimate_chunk_count", "word_timings"]

log = logging.getLogger(__name__)

_WORD = re.compile(r"\S+")


@dataclass
class PhonemizedChunk:
    chunk: TextChunk
    # misaki MTokens of the spoken tokens, in order; their phonemes and whitespace spell chunk.phonemes
    # exactly, which is what `word_timings` needs to line words up with durations.
    tokens: list
    # Characters of chunk.text that will not be heard: (offset into the input, the characters), in order.
    unspoken: tuple[tuple[int, str], ...] = ()


class FrontEnd:
    """Text to chunks of phonemes for one language (kokoro's code: a, b, e, f, h, i, j, p, z).

    Build once (English: about 2 s, spaCy and its model) and share: chunks() may run on several
    threads (each G2P serialises its own calls). Within a sentence, words in another script are read by
    that script's front end: Latin words in Japanese by the English one, and so on (scripts.reader_runs).
    """

    def __init__(self, lang_code: str = "a"):
        if lang_code not in LANGUAGES:
            raise EngineError(
                f"No text front end for language code {lang_code!r}: use one of {', '.join(LANGUAGES)}."
            )
        t0 = time.perf_counter()
        self.lang_code = lang_code
        self._g2p = g2p_for(lang_code)
        self._vocab = frozenset(kokoro_config()["vocab"])
        self._respelled: dict[tuple[str, str], str] = {}  # (language, respelling) -> phonemes
        self.init_s = time.perf_counter() - t0

    def chunks(
        self,
        text: str,
        *,
        first_max: int | None = 60,
        max_phonemes: int = MAX_PHONEMES,
        pack: bool = True,
        start: int = 0,
        lexicon=None,
    ) -> Iterator[PhonemizedChunk]:
        """Yield the chunks of `text` in order, each as soon as it is known (see chunking.py for the rules).

        Every chunk has 1..max_phonemes phoneme symbols from kokoro's vocabulary, and its text is
        `text[start:end]`. `first_max=None` drops the short first chunk. With `start`, reading begins
        there (offsets stay those of the whole text). `lexicon` (a Lexicon) says how its words are read.
        """
        if not 1 <= max_phonemes <= MAX_PHONEMES:
            raise ValueError(f"max_phonemes must be within 1..{MAX_PHONEMES}")
        if not 0 <= start <= len(text):
            raise ValueError(f"start {start} is outside the text (0..{len(text)})")
        packer = Packer(text, first_max=first_max, max_phonemes=max_phonemes, pack=pack, start=start)
        unspoken: list[int] = []  # offsets not yet handed out with a chunk, in order
        for span_start, span_end, ends_paragraph in g2p_spans(text, start=start):
            toks, silent = self._toks(text, span_start, span_end, lexicon)
            unspoken += silent
            mark_boundaries(toks, ends_paragraph)
            for cut in packer.feed(toks):
                yield _phonemized(text, cut, _take(unspoken, cut.end))
        last = packer.finish()
        for k, cut in enumerate(last):
            # anything left over (only possible at the very end) goes with the last chunk
            yield _phonemized(text, cut, _take(unspoken, cut.end if k + 1 < len(last) else len(text)))

    # -- G2P and alignment

    def _toks(self, text: str, start: int, end: int, lexicon=None) -> tuple[list[Tok], list[int]]:
        """The spoken tokens of text[start:end], and the offsets of its characters that will not be heard."""
        prepared = prepare(soft_breaks_as_spaces(text[start:end]))
        g2p = self._g2p
        toks: list[Tok] = []
        for run_start, run_end, code in reader_runs(prepared.text, self.lang_code):
            g2p = self._g2p if code == self.lang_code else g2p_for(code)
            # silent rather than spelled out
            segment = blank_unreadable(prepared.text[run_start:run_end], g2p.lang_code)
            before = len(toks)
            for offset, piece, mtokens in self._lexicon_pieces(g2p, segment, lexicon):
                self._place(toks, start, prepared, run_start + offset, piece, mtokens, g2p)
            if len(toks) > before and prepared.text[run_end : run_end + 1].isalnum():
                toks[-1].space = True  # another front end's words follow: keep them apart
        if toks:
            # the span was trimmed, so the G2P saw no whitespace after its last token; scripts without
            # spaces still want one between sentences
            toks[-1].space = end < len(text) and (text[end].isspace() or not g2p.spaced)
        return toks, _unheard(text, start, end, toks, prepared)

    def _lexicon_pieces(self, g2p: G2P, segment: str, lexicon):
        """_g2p_pieces, with the lexicon's words read as the user said (one token each, same offsets)."""
        from misaki.token import MToken

        pieces, pos = [], 0
        for s, e, entry in lexicon.matches(segment, g2p.lang_code) if lexicon else ():
            pieces += [(pos + o, p, mt) for o, p, mt in self._g2p_pieces(g2p, segment[pos:s])]
            phonemes = entry.phonemes_for(g2p.lang_code)
            if phonemes is None:
                key = (g2p.lang_code, entry.replacement)
                if key not in self._respelled:
                    said = self._g2p_pieces(g2p, entry.replacement)
                    self._respelled[key] = "".join(
                        (t.phonemes or "") + t.whitespace for _, _, mts in said for t in mts
                    ).strip()
                phonemes = self._respelled[key]
            space = " " if segment[e : e + 1].isspace() else ""
            pieces.append((s, segment[s:e], [MToken(segment[s:e], "LEX", space, phonemes)]))
            pos = e
        return pieces + [(pos + o, p, mt) for o, p, mt in self._g2p_pieces(g2p, segment[pos:])]

    def _g2p_pieces(self, g2p: G2P, segment: str):
        if not segment.strip():
            return []
        try:
            return [(0, segment, g2p(segment))]
        except Exception:  # G2Ps have corner cases; losing one sentence's context beats losing the text
            log.warning("G2P failed on %r; retrying word by word", segment[:80], exc_info=True)
        pieces = []
        for m in _WORD.finditer(segment):
            try:
                mtokens = g2p(m.group())
            except Exception:  # noqa: BLE001 - one unpronounceable piece must not lose the rest of the text
                log.warning("G2P failed on %r; it will be silent", m.group()[:80])
                continue
            pieces.append((m.start(), m.group(), mtokens))
        return pieces

    def _place(
        self, toks: list[Tok], base: int, prepared: Prepared, at: int, piece: str, mtokens, g2p: G2P
    ) -> None:
        """Find each G2P token in `piece` and keep the ones with phonemes, placed in the input.

        `piece` is prepared.text[at:], itself made from the input text from offset `base` on.

        misaki occasionally rewrites a token (5'11" -> "511"), so a token is searched for ahead; one that
        cannot be found takes the unmatched text up to the next one found.
        """
        # Search where the G2P looked (misaki: markdown-link targets blanked; same length, offsets hold).
        piece = g2p.search_text(piece)
        spans: list[tuple[int, int] | None] = []
        pos = 0
        lost: list[int] = []  # indices of tokens not found yet, waiting for the next one found
        for k, mt in enumerate(mtokens):
            i = piece.find(mt.text, pos) if mt.text else -1
            if i >= 0 and (lost or not any(c.isalnum() for c in piece[pos:i])):
                for n, j in enumerate(lost):
                    spans[j] = (pos, i) if n == 0 else (i, i)
                lost = []
                spans.append((i, i + len(mt.text)))
                pos = i + len(mt.text)
            else:
                spans.append(None)
                lost.append(k)
        for n, j in enumerate(lost):
            spans[j] = (pos, len(piece)) if n == 0 else (len(piece), len(piece))
        for mt, span in zip(mtokens, spans, strict=True):
            s, e = span or (len(piece), len(piece))  # never None: the loops above gave every token a span
            while s < e and piece[s].isspace():
                s += 1
            while e > s and piece[e - 1].isspace():
                e -= 1
            phonemes = "".join(c for c in (mt.phonemes or "") if c in self._vocab).strip()
            if not phonemes:
                # silent token: keep its space so the words either side do not run together
                if mt.whitespace and toks:
                    toks[-1].space = True
                continue
            if s == e and toks:
                # no text of its own (the rest of a rewritten stretch): speak it with the token before,
                # since a chunk with no text could not be shown
                prev = toks[-1]
                prev.phonemes += (" " if prev.space else "") + phonemes
                prev.space = bool(mt.whitespace)
                continue
            start, end = base + prepared.source(at + s), base + prepared.source(at + e)
            toks.append(Tok(start, end, mt.text, phonemes, bool(mt.whitespace), source=mt))


def _unheard(text: str, start: int, end: int, toks: list[Tok], prepared: Prepared) -> list[int]:
    """Offsets in text[start:end] of characters no spoken token covers (punctuation and spaces aside),
    and of those blanked before G2P."""
    covered = bytearray(end - start)
    for t in toks:
        if t.speakable:
            covered[t.start - start : t.end - start] = b"\1" * (t.end - t.start)
    silent = {start + i for i in prepared.blanked}
    silent.update(start + i for i in range(end - start) if not covered[i] and reportable(text[start + i]))
    return sorted(silent)


def _take(offsets: list[int], end: int) -> list[int]:
    """Remove and return the leading offsets below `end`."""
    n = 0
    while n < len(offsets) and offsets[n] < end:
        n += 1
    taken = offsets[:n]
    del offsets[:n]
    return taken


def _phonemized(text: str, cut: Cut, unspoken: list[int]) -> PhonemizedChunk:
    last = len(cut.toks) - 1
    tokens = [
        replace(
            t.source,
            text=text[t.start : t.end] or t.text,
            phonemes=t.phonemes,
            whitespace=" " if t.space and i < last else "",
            start_ts=None,
            end_ts=None,
        )
        for i, t in enumerate(cut.toks)
    ]
    chunk = TextChunk(text[cut.start : cut.end], cut.start, cut.end, cut.phonemes)
    return PhonemizedChunk(chunk, tokens, runs(unspoken, text))


# How far before its first phoneme's frame a word is heard (2 frames = 50 ms): see word_timings.
WORD_LEAD_FRAMES = 2


def word_timings(pc: PhonemizedChunk, pred_dur) -> list[WordTiming]:
    """Start and end (seconds into the chunk's audio) of each spoken word, from the model's durations.

    `pred_dur` holds frames per input symbol including the two pad tokens (torch tensor, numpy array or
    list), so it is `len(pc.chunk.phonemes) + 2` long; None gives no timings. A word runs to the last frame
    of its last phoneme and starts WORD_LEAD_FRAMES before its first one (never before the previous word's
    end): the decoder's convolutions spread a word's onset over the frames before it, so after a pause the
    sound is heard 65-75 ms before the first phoneme's frame (measured on real chunks; tests/test_export_job).
    """
    if pred_dur is None:
        return []
    if hasattr(pred_dur, "detach"):
        pred_dur = pred_dur.detach().cpu().numpy()
    durations = np.asarray(pred_dur).reshape(-1).astype(np.int64)
    if len(durations) != len(pc.chunk.phonemes) + 2:
        raise ValueError(
            f"{len(durations)} durations for {len(pc.chunk.phonemes)} phonemes (expected phonemes + 2 pads)"
        )
    # frame at which each symbol starts (index 0 is the leading pad), in seconds
    starts = np.concatenate([[0], np.cumsum(durations)]) * (SAMPLES_PER_FRAME / SAMPLE_RATE)
    words: list[WordTiming] = []
    lead = WORD_LEAD_FRAMES * SAMPLES_PER_FRAME / SAMPLE_RATE
    pos = 1  # the chunk's first phoneme follows the leading pad
    for t in pc.tokens:
        end = pos + len(t.phonemes)
        if end > len(durations) - 1:  # cannot happen for a chunk the front end made; never index past it
            break
        if not set(t.phonemes) <= SILENT_PHONEMES:
            earliest = words[-1].end_s if words else 0.0
            start = max(earliest, float(starts[pos]) - lead)
            words.append(WordTiming(t.text, start, float(starts[end])))
        pos = end + (1 if t.whitespace else 0)
    return words
