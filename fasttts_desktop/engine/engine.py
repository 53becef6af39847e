"""The engine: text in, chunks of audio out, as soon as each one is ready. No Qt here."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from fasttts_desktop.engine.backend_choice import make_backend, pick_device
from fasttts_desktop.engine.stream_helpers import ahead, fade_edges, in_groups
from fasttts_desktop.engine.synthesis.config import kokoro_config
from fasttts_desktop.engine.synthesis.protocol import Backend, Request
from fasttts_desktop.engine.types import (
    MAX_PHONEMES,
    MAX_SPEED,
    MIN_SPEED,
    AudioChunk,
    Cancelled,
    EngineError,
    Progress,
    Voice,
)

if TYPE_CHECKING:  # imported where used: the front end and the weight store load spaCy, misaki, safetensors
    from fasttts_desktop.engine.engine_like import EngineLike
    from fasttts_desktop.engine.storage.blends import Blend
    from fasttts_desktop.engine.synthesis.protocol import Result
    from fasttts_desktop.engine.text.frontend import FrontEnd, PhonemizedChunk
    from fasttts_desktop.engine.text.lexicon import Lexicon
    from fasttts_desktop.engine.text.segments import Reading
    from fasttts_desktop.engine.weights.store import Weights

log = logging.getLogger(__name__)

# A chunk that fails is reported and skipped; this many failures in a row means the model itself is broken
# (a lost GPU, say), and the utterance stops with an error instead of reporting every chunk.
MAX_FAILURES_IN_A_ROW = 3


class Engine:
    """Owns the model, the voices and the text front ends. Build once with `Engine.load`."""

    def __init__(self, backend: Backend, weights: Weights, notice: str = ""):
        self.backend = backend
        self.weights_source = weights.source
        self.notice = notice  # something the user should know about this setup, or ""
        self._packs = weights.voices
        self._vocab = kokoro_config()["vocab"]
        self._blend_packs: dict[str, torch.Tensor] = {}  # blend spec -> its pack
        self._blend_lock = threading.Lock()
        from fasttts_desktop.engine.weights.voice_catalog import grade_rank, language_defaults
        from fasttts_desktop.engine.weights.voices import catalog, default_voice, voice_info

        facts = catalog()
        # by language, best grade first: the order the picker and `voices` show them in
        self._pack_voices: list[Voice] = sorted(
            (voice_info(n, facts) for n in self._packs),
            key=lambda v: (v.language == "Unknown", v.language, grade_rank(v.grade), v.name),
        )
        self.default_voice: str = default_voice(list(self._packs))
        # each language's best-graded voice (af_heart, bf_emma, ff_siwis, jf_alpha...)
        self.language_defaults: dict[str, str] = language_defaults(self._packs, facts)
        self._lexicon = _load_lexicon(self)

    @classmethod
    def load(
        cls,
        device: str | None = None,
        *,
        model_path: str | Path | None = None,
        voices_path: str | Path | None = None,
        use_hub: bool | None = None,
        fast: bool | None = None,
        progress: Progress | None = None,
    ) -> Engine:
        """Resolve weights, build the model for `device` (auto: CUDA if present) and warm the front end."""
        from concurrent.futures import ThreadPoolExecutor

        from fasttts_desktop.engine.text.languages import front_end_for
        from fasttts_desktop.engine.weights.store import load_weights

        dev = pick_device(device)
        notice = ""
        if dev.type == "cpu" and device in (None, "", "auto"):
            notice = "No NVIDIA GPU found: running on the CPU (slower, but speech still starts early)."
        # The English front end (spaCy, misaki: ~2 s, mostly Python) loads beside the model (mostly native
        # code: file reads, tensor conversions, the warm-up call), so the two overlap on two cores.
        with ThreadPoolExecutor(1, thread_name_prefix="frontend") as pool:
            english = pool.submit(front_end_for, "a")
            # deferred: the CPU and GPU backends load their own stored forms and then never read the
            # float32 state dict (the eager fallback reads it when it is asked for)
            weights = load_weights(model_path, voices_path, use_hub=use_hub, progress=progress, defer=True)
            if progress:
                progress("Building the model", 0.0)
            backend, backend_notice = make_backend(weights, dev, fast, progress)
            notice = " ".join(n for n in (notice, weights.notice, backend_notice) if n)
            engine = cls(backend, weights, notice)
            del weights  # the model holds what it needs; the rest of the state dict can go
            if progress:
                progress("Loading the text front end", 0.0)
            english.result()  # built, and shared through front_end_for
        # the default voice's language too (English reads Latin text for the non-Latin ones)
        engine.frontend(engine.voice(None).lang_code)
        return engine

    @property
    def export_batch(self) -> int:
        """Chunks per batched call when making audio to save (1 where the backend gains nothing)."""
        return self.backend.export_batch

    @property
    def description(self) -> str:
        return self.backend.description

    @property
    def voices(self) -> list[Voice]:
        """The voice packs, then the user's saved blends (a blend speaks its first voice's language)."""
        from fasttts_desktop.engine.storage.blends import saved_blends

        try:
            blends = saved_blends()
        except EngineError as exc:  # a damaged blends file must not hide the voices themselves
            log.warning("%s", exc)
            blends = {}
        names = {v.name for v in self._pack_voices}
        return self._pack_voices + [
            _blend_voice(name, b) for name, b in sorted(blends.items()) if name not in names
        ]

    def voice(self, name: str | None) -> Voice:
        """A voice by name: a pack, a saved blend, or a blend spec such as "jm_kumo:60,jf_alpha:40"."""
        name = (name or self.default_voice).strip()
        for v in self._pack_voices:
            if v.name == name:
                return v
        from fasttts_desktop.engine.storage.blends import blend_pack, is_blend_spec, parse_blend, saved_blend

        blend = saved_blend(name) if not is_blend_spec(name) else parse_blend(name)
        if blend is None:
            known = ", ".join(v.name for v in self.voices)
            raise EngineError(f"Unknown voice {name!r}. Available voices: {known}.")
        with self._blend_lock:
            if blend.spec not in self._blend_packs:
                self._blend_packs[blend.spec] = blend_pack(blend, self._packs)  # checks the names
        return _blend_voice(name if not is_blend_spec(name) else blend.spec, blend)

    def voice_pack(self, name: str | None) -> torch.Tensor:
        """The style table [510, 1, 256] a voice (or blend) speaks with."""
        v = self.voice(name)
        if v.name in self._packs:
            return self._packs[v.name]
        from fasttts_desktop.engine.storage.blends import is_blend_spec, parse_blend, saved_blend

        blend = parse_blend(v.name) if is_blend_spec(v.name) else saved_blend(v.name)
        if blend is None:  # deleted between the two reads
            raise EngineError(f"Unknown voice {v.name!r}.")
        with self._blend_lock:
            return self._blend_packs[blend.spec]

    def frontend(self, lang_code: str) -> FrontEnd:
        """The text front end for a language code (built on first use, shared)."""
        from fasttts_desktop.engine.text.languages import front_end_for

        return front_end_for(lang_code)

    @property
    def lexicon(self) -> Lexicon:
        """The pronunciation lexicon in use (re-read when its file changes on disk)."""
        if self._lexicon.changed_on_disk():
            self._lexicon = _load_lexicon(self, self._lexicon.path)
        return self._lexicon

    def set_lexicon(self, lexicon: Lexicon | None) -> None:
        """Use `lexicon` (a text.lexicon.Lexicon) from the next chunk read on; None: an empty one."""
        from fasttts_desktop.engine.text.lexicon import Lexicon

        self._lexicon = lexicon if lexicon is not None else Lexicon()

    def language(self, voice: str | None = None, lang: str | None = None) -> str:
        """The language code text is read in: `lang` (a code or a name) when given, else the voice's."""
        from fasttts_desktop.engine.text.languages import resolve_lang

        return resolve_lang(lang) if lang else self.voice(voice).lang_code

    def script_warnings(
        self, text: str, voice: str | None = None, lang: str | None = None
    ) -> list[tuple[int, int, str]]:
        """(start, end, message) for each paragraph with letters the front end cannot read (left silent)."""
        from fasttts_desktop.engine.text.writing_systems import script_warnings

        return script_warnings(text, self.language(voice, lang))

    def estimate_chunks(self, text: str, max_phonemes: int | None = None, lang_code: str = "a") -> int:
        from fasttts_desktop.engine.text.frontend import estimate_chunk_count

        if max_phonemes is None:
            max_phonemes = min(MAX_PHONEMES, self.backend.chunk_phonemes)
        return estimate_chunk_count(
            text, first_max=self._first_max, max_phonemes=max_phonemes, lang_code=lang_code
        )

    @property
    def _first_max(self) -> int:
        # the backend may want a shorter first chunk (the CPU: first sound within a second)
        return self.backend.first_chunk_phonemes

    def _check(self, text: str, speed: float, start: int = 0) -> None:
        if not 0 <= start <= len(text):
            raise EngineError(f"Cannot start reading at character {start}: the text has {len(text)}.")
        if not text[start:].strip():
            raise EngineError("There is no text to speak.")
        if not (MIN_SPEED <= speed <= MAX_SPEED):
            raise EngineError(f"Speed must be between {MIN_SPEED} and {MAX_SPEED} (got {speed}).")

    def _request(self, phonemes: str, pack: torch.Tensor, speed: float) -> Request:
        return Request.from_phonemes(phonemes, pack, speed, self._vocab)

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
        """Yield the utterance chunk by chunk, each as soon as it is made.

        `voice`: a voice, a saved blend's name or a blend spec ("jm_kumo:60,jf_alpha:40").
        `lang`: the language to read the text in (code or name); by default the voice's.
        `start`: read from that character offset (the reader's "read from here"); chunk offsets stay
        those of the whole `text`.
        `cancel` is polled before and after each chunk; once it returns True the generator just ends.
        `batch` > 1 (export, not playback): chunks are made that many at a time in one batched call
        where the backend batches (`export_batch`); they still come out one by one, in order.
        Each chunk lists the characters of its text that were not spoken (`unspoken`). A chunk the model
        fails on comes out with `failed` set and no audio, and reading goes on; MAX_FAILURES_IN_A_ROW
        failures in a row raise EngineError.
        `reading` (text/segments.py): markup, pauses, voices per chapter and for dialogue (segmented.py);
        None reads the text as it stands. `short_first=False`: no short first chunk (the text continues
        a reading already sounding).
        """
        if reading is not None:
            from fasttts_desktop.engine.segmented import stream_reading

            yield from stream_reading(
                self,
                text,
                voice,
                speed,
                reading,
                cancel=cancel,
                pack=pack,
                batch=batch,
                start=start,
                lang=lang,
            )
            return
        from fasttts_desktop.engine.text.frontend import word_timings

        self._check(text, speed, start)
        voice_pack = self.voice_pack(voice)
        lang_code = self.language(voice, lang)
        frontend = self.frontend(lang_code)
        lexicon = self.lexicon
        max_phonemes = min(MAX_PHONEMES, self.backend.chunk_phonemes)
        total = max(1, self.estimate_chunks(text[start:], max_phonemes, lang_code))
        cancelled = cancel or (lambda: False)
        index = failures = 0
        chunks = frontend.chunks(
            text,
            first_max=self._first_max if short_first else None,
            pack=pack,
            max_phonemes=max_phonemes,
            start=start,
            lexicon=lexicon,
        )
        if batch > 1:  # export: the front end works ahead on a thread while the GPU makes audio
            chunks = ahead(chunks, 2 * batch, cancelled)
        made = self._made(chunks, voice_pack, speed, batch, cancelled)
        while True:
            try:
                group, results, synth_s = next(made)
            except StopIteration:
                break
            except Cancelled:  # stopped in the middle of a chunk
                return
            for pc, result in zip(group, results, strict=True):
                if cancelled():
                    return
                total = max(total, index + 1)
                if isinstance(result, Exception):
                    failures += 1
                    if failures >= MAX_FAILURES_IN_A_ROW:
                        raise EngineError(f"Speech failed on {failures} chunks in a row: {_one_line(result)}")
                    chunk = AudioChunk(index, total, pc.chunk, np.zeros(0, np.float32), synth_s=synth_s)
                    chunk.unspoken, chunk.failed = pc.unspoken, _one_line(result)
                else:
                    failures = 0
                    chunk = AudioChunk(
                        index=index,
                        total=total,
                        chunk=pc.chunk,
                        audio=fade_edges(result.audio),
                        words=word_timings(pc, result.durations),
                        durations=result.durations,
                        synth_s=synth_s,
                        unspoken=pc.unspoken,
                    )
                yield chunk
                index += 1
        if index == 0:
            from fasttts_desktop.engine.text.prepare import describe_unspoken, reportable, runs

            silent = runs([i for i in range(start, len(text)) if reportable(text[i])], text)
            why = describe_unspoken(silent) or "only punctuation?"
            raise EngineError(f"The text has nothing speakable in it ({why}).")

    def _made(
        self,
        chunks: Iterator[PhonemizedChunk],
        pack: torch.Tensor,
        speed: float,
        batch: int,
        cancelled: Callable[[], bool],
    ) -> Iterator[tuple[list[PhonemizedChunk], Sequence[Result | Exception], float]]:
        """(chunks, their results, synthesis seconds per chunk) in order: `batch` at a time through the
        backend's batched call, or, one at a time, through its `infer_stream` where it has one (the GPU: the
        next chunk's first stage runs beside this one's second)."""
        stream = getattr(self.backend, "infer_stream", None)
        if batch <= 1 and stream is not None:
            yield from self._streamed(stream, chunks, pack, speed, cancelled)
            return
        for group in in_groups(chunks, max(1, batch)):
            if cancelled():
                return
            t0 = time.perf_counter()
            results = self._infer(group, pack, speed, cancelled)
            yield group, results, (time.perf_counter() - t0) / len(group)

    def _streamed(
        self,
        stream: Callable[[Iterator[Request]], Iterator[Result]],
        chunks: Iterator[PhonemizedChunk],
        pack: torch.Tensor,
        speed: float,
        cancelled: Callable[[], bool],
    ) -> Iterator[tuple[list[PhonemizedChunk], Sequence[Result | Exception], float]]:
        taken: list[PhonemizedChunk] = []  # handed to the backend, in order
        front_error: list[Exception] = []

        def requests() -> Iterator[Request]:
            try:
                for pc in chunks:
                    if cancelled():
                        return
                    taken.append(pc)
                    yield self._request(pc.chunk.phonemes, pack, speed)
            except Exception as exc:
                front_error.append(exc)
                raise

        done = 0
        t0 = time.perf_counter()  # a chunk's time here includes the front end's work on the next one
        try:
            for result in stream(requests()):
                yield [taken[done]], [result], time.perf_counter() - t0
                done += 1
                t0 = time.perf_counter()
        except Cancelled:
            raise
        except Exception:
            if not front_error:
                log.exception("streamed synthesis failed: the rest one chunk at a time")
        # what was handed over but not made (the backend failed, or the front end did on a later chunk),
        # then the rest: one at a time, each failure reported on its own chunk
        for pc in itertools.chain(taken[done:], () if front_error else chunks):
            if cancelled():
                return
            t0 = time.perf_counter()
            results = self._infer([pc], pack, speed, cancelled)
            yield [pc], results, time.perf_counter() - t0
        if front_error:
            raise front_error[0]

    def _infer(
        self, group: list[PhonemizedChunk], pack: torch.Tensor, speed: float, cancel: Callable[[], bool]
    ) -> Sequence[Result | Exception]:
        """The group's results in order, with the exception in place of a chunk that failed."""
        try:
            requests = [self._request(pc.chunk.phonemes, pack, speed) for pc in group]
            if len(requests) == 1:
                return [self.backend.infer(requests[0], cancel=cancel)]
            return self.backend.infer_batch(requests)
        except Cancelled:
            raise
        except Exception as exc:  # one chunk's failure is reported, and reading goes on
            if len(group) == 1:
                chunk = group[0].chunk
                log.exception("chunk at %d-%d failed: %r", chunk.start, chunk.end, chunk.text[:80])
                return [exc]
        # one bad chunk must not take its batch-mates with it
        return [self._infer([pc], pack, speed, cancel)[0] for pc in group]

    def synthesize(
        self,
        text: str,
        voice: str | None = None,
        speed: float = 1.0,
        *,
        cancel: Callable[[], bool] | None = None,
        lang: str | None = None,
    ) -> np.ndarray:
        """The whole utterance as one float32 array (empty if cancelled)."""
        chunks = self.stream(text, voice, speed, cancel=cancel, batch=self.export_batch, lang=lang)
        parts = [c.audio for c in chunks]
        if cancel and cancel():
            return np.zeros(0, np.float32)
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def _blend_voice(name: str, blend: Blend) -> Voice:
    from fasttts_desktop.engine.text.languages import LANGUAGES, lang_of_voice

    code = lang_of_voice(blend.voices[0])
    return Voice(name=name, language=LANGUAGES[code], gender=None, lang_code=code, blend=True)


def _load_lexicon(engine: Engine, path: Path | None = None) -> Lexicon:
    """The saved lexicon; a damaged file reads as empty (and says so) until it is fixed on disk."""
    from fasttts_desktop.engine.text.lexicon import Lexicon

    try:
        return Lexicon.load(path)
    except EngineError as exc:
        log.warning("%s", exc)
        engine.notice = " ".join(n for n in (engine.notice, f"Pronunciation lexicon not used: {exc}") if n)
        return Lexicon([], path or Lexicon.default_path())


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _conforms(engine: Engine) -> EngineLike:
    """Never called: mypy checks here that Engine is what the worker and the window take."""
    return engine
