"""Mandarin G2P ('z'): misaki's Chinese G2P as kokoro uses it for Kokoro-82M v1.0 (jieba words, pypinyin,
cn2an for numbers; all their data ships in their wheels).

misaki phonemizes a whole string; here each jieba word is phonemized with misaki's `ZHG2P.word2ipa` so
that every word keeps its place in the input (jieba gives offsets). Numbers are read by cn2an with the
character after them for context (2024年 is a year, 二零二四; 2024 alone is 二千零二十四). Latin words
in Chinese text are read by espeak-ng's English rather than passed through as letters.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading

from fasttts_desktop.engine.text.writing_systems import HAN, script_of
from fasttts_desktop.engine.types import EngineError

_NUMBER = re.compile(r"\d+(?:\.\d+)?%?")
_OPENERS = frozenset("“(«")


class ChineseG2P:
    spaced = False

    def __init__(self):
        try:
            import cn2an
            import jieba
            from misaki.zh import ZHG2P
        except ImportError as exc:
            raise EngineError(
                "Mandarin needs jieba, pypinyin, cn2an and ordered-set: pip install 'misaki[zh]==0.9.4'"
            ) from exc
        from fasttts_desktop.engine.storage.paths import cache_dir

        jieba.setLogLevel(logging.WARNING)
        jieba.dt.tmp_dir = str(cache_dir())  # its prefix-dictionary cache, rebuilt when missing (~0.7 s)
        jieba.initialize()
        self.lang_code = "z"
        self._jieba, self._cn2an, self._zh = jieba, cn2an, ZHG2P
        self._english = None
        self._lock = threading.Lock()

    def __call__(self, text: str) -> list:
        from misaki.token import MToken

        out: list[MToken] = []
        with self._lock:
            pos = 0
            for m in _NUMBER.finditer(text):
                out += self._words(text[pos : m.start()])
                out.append(MToken(m.group(), "CD", " ", self._number(m.group(), text[m.end() : m.end() + 1])))
                pos = m.end()
            out += self._words(text[pos:])
        # misaki writes a word, then its punctuation with no space between them
        # and an opening quote or bracket with none after it
        for a, b in itertools.pairwise(out):
            if b.tag == "PU" and b.phonemes and b.phonemes[0] not in _OPENERS:
                a.whitespace = ""
            if a.tag == "PU" and a.phonemes[-1:] in _OPENERS:
                a.whitespace = ""
        return out

    def search_text(self, text: str) -> str:
        return text

    def _words(self, piece: str) -> list:
        from misaki.token import MToken

        tokens = []
        for word, _, _ in self._jieba.tokenize(piece):
            if not word.strip():
                continue
            scripts = {script_of(c) for c in word} - {None}
            if scripts and scripts <= HAN:
                tokens.append(MToken(word, "ZH", " ", self._ipa(word)))
            elif scripts == {"LATIN"}:
                tokens.append(MToken(word, "EN", " ", self._english_phonemes(word)))
            elif not scripts:  # punctuation and symbols, as misaki maps them
                tokens.append(MToken(word, "PU", " ", self._zh.map_punctuation(word).strip()))
            else:
                han = "".join(c for c in word if script_of(c) in HAN)
                tokens.append(MToken(word, "ZH", " ", self._ipa(han) if han else ""))
        return tokens

    def _ipa(self, han: str) -> str:
        return self._zh.word2ipa(han).replace(chr(815), "")  # as misaki's legacy path does

    def _number(self, number: str, after: str) -> str:
        words = self._cn2an.transform(number + after, "an2cn")
        if after and words.endswith(after):
            words = words[: -len(after)]
        han = "".join(c for c in words if script_of(c) in HAN)
        return self._ipa(han) if han else ""

    def _english_phonemes(self, word: str) -> str:
        if self._english is None:
            from fasttts_desktop.engine.text.g2p_espeak import EspeakG2P

            self._english = EspeakG2P("en-us")
        return self._english.phonemize(word)
