"""Spanish, French, Hindi, Italian and Brazilian Portuguese G2P ('e', 'f', 'h', 'i', 'p'): espeak-ng through
misaki's EspeakG2P, as kokoro does (libespeak-ng and its data come inside espeakng-loader: no download).

misaki returns one phoneme string for a whole text. To know where each word is, text is phonemized a
phrase at a time (the words between two punctuation marks, so espeak keeps its context: French liaison,
unstressed articles) and the output words are matched to the input words: one to one when the counts
agree, else by how many words espeak makes of each input word alone (a number such as 123 becomes two or
three); only when even that disagrees is each word phonemized on its own.
"""

from __future__ import annotations

import threading
import unicodedata

from fasttts_desktop.engine.types import EngineError

# kokoro's language codes -> espeak-ng voices (kokoro.pipeline.LANG_CODES)
ESPEAK_LANGUAGES = {"e": "es", "f": "fr-fr", "h": "hi", "i": "it", "p": "pt-br"}

# Punctuation the model knows, and stand-ins for some it does not; anything else is silent.
_PUNCT = {c: c for c in ';:,.!?¡¿—…"«»“”()'}
_PUNCT.update({"।": ".", "॥": ".", "–": "—", "‒": "—", "―": "—", "‘": "“", "’": "”", "„": "“"})
_STOPS = frozenset(";:,.!?—…»”)")  # punctuation after which the model expects a space
# Unicode calls these punctuation, but espeak-ng says them ("50%" -> "fifty percent"): keep them in words.
_SPOKEN = frozenset("%‰‱&@#§/\\†′″")


def _is_punct(c: str) -> bool:
    return c not in _SPOKEN and unicodedata.category(c).startswith("P")


class EspeakG2P:
    spaced = True

    def __init__(self, lang_code: str):
        if lang_code not in ESPEAK_LANGUAGES and lang_code != "en-us":
            raise EngineError(f"No espeak-ng language for code {lang_code!r}.")
        from misaki.espeak import EspeakG2P as MisakiEspeak

        self.lang_code = lang_code
        self._espeak = MisakiEspeak(language=ESPEAK_LANGUAGES.get(lang_code, lang_code))
        self._lock = threading.Lock()

    def phonemize(self, text: str) -> str:
        with self._lock:
            return self._espeak(text)[0]

    def __call__(self, text: str) -> list:
        from misaki.token import MToken

        pieces = _pieces(text)
        phonemes: list[str] = [""] * len(pieces)
        phrase: list[int] = []
        for k, (s, e, is_word) in enumerate([*pieces, (len(text), len(text), False)]):
            if is_word:
                phrase.append(k)
                continue
            if phrase:
                said = self._phrase([text[pieces[j][0] : pieces[j][1]] for j in phrase])
                for j, ps in zip(phrase, said, strict=True):
                    phonemes[j] = ps
                phrase = []
            if k < len(pieces):
                phonemes[k] = "".join(_PUNCT.get(c, "") for c in text[s:e])
        out = []
        for (s, e, is_word), ps in zip(pieces, phonemes, strict=True):
            followed = e < len(text) and text[e].isspace()
            space = followed or (not is_word and ps[-1:] in _STOPS)
            out.append(MToken(text=text[s:e], tag="", whitespace=" " if space else "", phonemes=ps))
        return out

    def search_text(self, text: str) -> str:
        return text

    def _phrase(self, words: list[str]) -> list[str]:
        """Phonemes for each of `words` (one phrase, no punctuation between them)."""
        out = _words_of(self.phonemize(" ".join(words)))
        if len(out) == len(words):
            return out
        counts = [len(_words_of(self.phonemize(w))) for w in words]
        if sum(counts) == len(out):
            grouped, i = [], 0
            for n in counts:
                grouped.append(" ".join(out[i : i + n]))
                i += n
            return grouped
        return [" ".join(_words_of(self.phonemize(w))) for w in words]


def _words_of(ps: str) -> list[str]:
    return [w for w in ps.split() if not all(_is_punct(c) for c in w)]


def _pieces(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, is_word) for each word and each run of punctuation, in order; whitespace left out.

    A word is a run of non-space characters with its leading and trailing punctuation taken off, so
    "¿cómo" is ¿ + cómo and "Sra." is Sra + "."; inner punctuation stays (l'hôtel, 10:30, 3/4/2024).
    """
    out = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        j = i
        while j < n and not text[j].isspace():
            j += 1
        a, b = i, j
        while a < b and _is_punct(text[a]):
            a += 1
        while b > a and _is_punct(text[b - 1]):
            b -= 1
        if i < a:
            out.append((i, a, False))
        if a < b:
            out.append((a, b, True))
        if b < j and b >= a:
            out.append((max(a, b), j, False))
        i = j
    return out
