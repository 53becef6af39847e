"""A stand-in for fasttts_desktop.engine.Engine with the same API: tones instead of speech, fast and exact.

Each chunk is one sentence of the input, voiced as a sine whose pitch encodes the chunk's index, so a test
can tell from the audio alone which chunks were played. Each word gets an equal share of its sentence's
audio as its timing; with `word_gaps` the last fifth of each word's share is silent, so the onset of every
word can be found in a recording.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from fasttts_desktop.engine.storage.blends import is_blend_spec, parse_blend, saved_blends
from fasttts_desktop.engine.text.languages import LANGUAGES, resolve_lang
from fasttts_desktop.engine.text.lexicon import Lexicon
from fasttts_desktop.engine.text.writing_systems import script_warnings
from fasttts_desktop.engine.types import (
    MAX_SPEED,
    MIN_SPEED,
    SAMPLE_RATE,
    AudioChunk,
    EngineError,
    TextChunk,
    Voice,
    WordTiming,
)

VOICES = [
    Voice("jm_kumo", "Japanese", "male", "j"),
    Voice("jf_alpha", "Japanese", "female", "j"),
    Voice("af_test", "American English", "female", "a"),
]


def chunk_pitch(index: int) -> float:
    return 220.0 + 110.0 * index


if TYPE_CHECKING:
    import torch

    from fasttts_desktop.engine.engine_like import EngineLike
    from fasttts_desktop.engine.storage.blends import Blend
    from fasttts_desktop.engine.text.segments import Reading


class FakeEngine:
    """The worker's and the window's contract (engine_like.EngineLike) with the real Engine's signatures:
    mypy checks it (`_conforms` below)."""

    description = "Fake · tones (tests)"
    weights_source = "Fake weights (tests)"
    notice = ""
    export_batch = 1

    def __init__(self, chunk_s: float = 0.4, synth_s: float = 0.05, word_gaps: bool = False):
        self.packs = list(VOICES)
        self._lexicon: Lexicon | None = None  # read on first use: the test's config dir is set by then
        self.lexicons_set: list[Lexicon | None] = []  # what set_lexicon was handed, in order
        self.default_voice = "jm_kumo"
        self.language_defaults = {"j": "jf_alpha", "a": "af_test"}
        self.chunk_s = chunk_s  # seconds of audio per sentence
        self.synth_s = synth_s  # wall time each chunk takes to "synthesize"
        self.word_gaps = word_gaps
        self.calls: list[tuple[str, str, float]] = []
        self.starts: list[int] = []  # the `start` of each stream call
        self.readings: list = []  # the `reading` of each stream call
        self.made = 0  # chunks yielded, all calls together
        self.in_chunk = threading.Event()  # set while a chunk is being made

    @property
    def voices(self) -> list[Voice]:
        names = {v.name for v in self.packs}
        blends = sorted(saved_blends().items())
        return self.packs + [self._blend_voice(n, b) for n, b in blends if n not in names]

    @voices.setter
    def voices(self, voices: list[Voice]) -> None:  # tests take voices away
        self.packs = list(voices)

    def voice(self, name: str | None) -> Voice:
        name = (name or self.default_voice).strip()
        for v in self.packs:
            if v.name == name:
                return v
        blend = parse_blend(name) if is_blend_spec(name) else saved_blends().get(name)
        if blend is None:
            raise EngineError(f"Unknown voice {name!r}.")
        missing = [n for n in blend.voices if n not in {v.name for v in self.packs}]
        if missing:
            raise EngineError(f"Unknown voice {missing[0]!r} in the blend {blend.spec}.")
        return self._blend_voice(blend.spec if is_blend_spec(name) else name, blend)

    def _blend_voice(self, name: str, blend: Blend) -> Voice:
        code = next((v.lang_code for v in self.packs if v.name == blend.voices[0]), "a")
        return Voice(name, LANGUAGES[code], None, code, blend=True)

    def voice_pack(self, name: str | None) -> torch.Tensor:
        """A silent style table of the real shape [510, 1, 256] (nothing here reads it)."""
        import torch

        self.voice(name)  # an unknown voice fails as it does in the engine
        return torch.zeros(510, 1, 256)

    def language(self, voice: str | None = None, lang: str | None = None) -> str:
        return resolve_lang(lang) if lang else self.voice(voice).lang_code

    def script_warnings(
        self, text: str, voice: str | None = None, lang: str | None = None
    ) -> list[tuple[int, int, str]]:
        return script_warnings(text, self.language(voice, lang))

    @property
    def lexicon(self) -> Lexicon:
        if self._lexicon is None or self._lexicon.changed_on_disk():
            self._lexicon = Lexicon.load(self._lexicon.path if self._lexicon else None)
        return self._lexicon

    def set_lexicon(self, lexicon: Lexicon | None) -> None:
        self.lexicons_set.append(lexicon)
        self._lexicon = lexicon if lexicon is not None else Lexicon()

    def frontend(self, lang_code: str) -> FakeFrontEnd:
        return FakeFrontEnd(lang_code)

    @staticmethod
    def _sentences(text: str) -> list[tuple[int, int]]:
        return [m.span() for m in re.finditer(r"[^.!?]+[.!?]*", text) if m.group().strip()]

    def estimate_chunks(self, text: str, max_phonemes: int | None = None, lang_code: str = "a") -> int:
        return len(self._sentences(text))  # one chunk per sentence, whatever the budget and language

    def stream(
        self,
        text: str,
        voice: str | None = None,
        speed: float = 1.0,
        *,
        cancel: Callable[[], bool] | None = None,
        pack: bool = True,
        batch: int = 1,
        start: int = 0,
        lang: str | None = None,
        reading: Reading | None = None,
        short_first: bool = True,
    ) -> Iterator[AudioChunk]:
        """Like Engine.stream; `pack`, `batch`, `reading` and `short_first` change nothing here (a chunk is a
        sentence)."""
        if not text or not text[start:].strip():
            raise EngineError("There is no text to speak.")
        if not (MIN_SPEED <= speed <= MAX_SPEED):
            raise EngineError(f"Speed must be between {MIN_SPEED} and {MAX_SPEED} (got {speed}).")
        v = self.voice(voice)
        front = FakeFrontEnd(self.language(voice, lang))
        lexicon = self.lexicon
        self.calls.append((text, v.name, speed))
        self.starts.append(start)
        self.readings.append(reading)
        cancelled = cancel or (lambda: False)
        # Like the engine: read from `start`, offsets in the coordinates of the whole text.
        spans = [(a + start, b + start) for a, b in self._sentences(text[start:])]
        for i, (a, b) in enumerate(spans):
            if cancelled():
                return
            self.in_chunk.set()
            time.sleep(self.synth_s)
            self.in_chunk.clear()
            if cancelled():
                return
            n = int(self.chunk_s / speed * SAMPLE_RATE)
            t = np.arange(n) / SAMPLE_RATE
            # The phase keeps every sample off exact zero, so a test can tell silence from the tone.
            audio = (0.3 * np.sin(2 * np.pi * chunk_pitch(i) * t + 0.5)).astype(np.float32)
            words = self.word_timings(text[a:b], n)
            if self.word_gaps:
                for w in words:
                    audio[
                        round((w.start_s + 0.8 * (w.end_s - w.start_s)) * SAMPLE_RATE) : round(
                            w.end_s * SAMPLE_RATE
                        )
                    ] = 0
            self.made += 1
            yield AudioChunk(
                i,
                len(spans),
                TextChunk(text[a:b], a, b, front.phonemes(text[a:b], lexicon)),
                audio,
                words=words,
                synth_s=self.synth_s,
            )

    @staticmethod
    def word_timings(sentence: str, samples: int) -> list[WordTiming]:
        words = re.findall(r"[\w']+", sentence)
        share = samples / SAMPLE_RATE / max(1, len(words))
        return [WordTiming(w, k * share, (k + 1) * share) for k, w in enumerate(words)]

    def synthesize(
        self,
        text: str,
        voice: str | None = None,
        speed: float = 1.0,
        *,
        cancel: Callable[[], bool] | None = None,
        lang: str | None = None,
    ) -> np.ndarray:
        parts = [c.audio for c in self.stream(text, voice, speed, cancel=cancel, lang=lang)]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)


class FakeFrontEnd:
    """Sentences as chunks; phonemes are the text in lower case, the lexicon's entries replaced."""

    def __init__(self, lang_code: str):
        self.lang_code = lang_code

    def phonemes(self, text: str, lexicon: Lexicon | None) -> str:
        out, at = [], 0
        for start, end, entry in lexicon.matches(text, self.lang_code) if lexicon is not None else ():
            if start < at:
                continue
            out += [text[at:start].lower(), entry.phonemes_for(self.lang_code) or entry.replacement.lower()]
            at = end
        return "".join([*out, text[at:].lower()]).strip()

    def chunks(
        self, text: str, *, first_max: int | None = None, start: int = 0, lexicon: Lexicon | None = None
    ) -> Iterator[Any]:
        for a, b in FakeEngine._sentences(text[start:]):
            chunk = TextChunk(text[start + a : start + b], start + a, start + b, "")
            yield SimpleNamespace(
                chunk=replace(chunk, phonemes=self.phonemes(chunk.text, lexicon)), tokens=[], unspoken=()
            )


def _conforms(engine: FakeEngine) -> EngineLike:
    """Never called: mypy checks here that the fake is what the worker and the window take."""
    return engine
