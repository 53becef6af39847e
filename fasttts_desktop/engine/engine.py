"""The engine: text in, chunks of audio out, as soon as each one is ready. No Qt here."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import torch

from fasttts_desktop.engine.synthesis.eager import EagerBackend
from fasttts_desktop.engine.synthesis.protocol import Backend, Request
from fasttts_desktop.engine.types import (
    MAX_PHONEMES,
    MAX_SPEED,
    MIN_SPEED,
    SAMPLE_RATE,
    AudioChunk,
    Cancelled,
    EngineError,
    Progress,
    Voice,
)
from fasttts_desktop.engine.weights.config import kokoro_config

log = logging.getLogger(__name__)

# A few milliseconds of fade at each chunk edge: chunks are made separately, so without it a join can
# land mid-waveform and click.
_EDGE_FADE = int(0.004 * SAMPLE_RATE)


def pick_device(requested: str | None) -> torch.device:
    if requested in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError as exc:
        raise EngineError(f"Unknown device {requested!r}: use 'cpu', 'cuda' or 'auto'.") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise EngineError("CUDA was asked for, but this PyTorch build sees no NVIDIA GPU; use --device cpu.")
    return device


def _make_backend(
    weights, device: torch.device, fast: bool | None, progress: Progress | None
) -> tuple[Backend, str]:
    """The compiled backend on CUDA when it builds, the CPU backend on a CPU, else kokoro's eager model (also
    what `fast=False` asks for: the reference); prepared either way.

    Also returns a notice for the user ("" when all is as expected).
    """
    if device.type == "cuda" and fast is not False:
        try:
            from fasttts_desktop.engine.synthesis.cuda import CompiledBackend

            backend = CompiledBackend(weights, device, progress=progress)
            backend.prepare(progress)
            return backend, ""
        except Exception as exc:
            if fast:
                raise EngineError(f"The compiled GPU path is unavailable: {exc}") from exc
            log.warning("compiled GPU path unavailable (%s); using eager float32", exc, exc_info=True)
            torch.cuda.empty_cache()
            notice = f"The fast GPU path could not start ({exc}); using the slower reference model."
            backend = EagerBackend(weights.state_dict, device)
            backend.prepare(progress)
            return backend, notice
    if device.type == "cpu" and fast is not False:
        from fasttts_desktop.engine.synthesis.cpu.backend import CpuBackend

        backend = CpuBackend(weights.state_dict)
    else:
        backend = EagerBackend(weights.state_dict, device)
    backend.prepare(progress)
    return backend, ""


class Engine:
    """Owns the model, the voices and the text front ends. Build once with `Engine.load`."""

    def __init__(self, backend: Backend, weights, notice: str = ""):
        self.backend = backend
        self.weights_source = weights.source
        self.notice = notice  # something the user should know about this setup, or ""
        self._packs = weights.voices
        self._vocab = kokoro_config()["vocab"]
        self._frontends: dict[str, object] = {}
        self._frontend_lock = threading.Lock()
        from fasttts_desktop.engine.weights.voices import default_voice, voice_info

        self.voices: list[Voice] = sorted((voice_info(n) for n in self._packs), key=lambda v: v.name)
        self.default_voice: str = default_voice(list(self._packs))

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
        from fasttts_desktop.engine.weights.store import load_weights

        dev = pick_device(device)
        notice = ""
        if dev.type == "cpu" and device in (None, "", "auto"):
            notice = "No NVIDIA GPU found: running on the CPU (slower, but speech still starts early)."
        weights = load_weights(model_path, voices_path, use_hub=use_hub, progress=progress)
        if progress:
            progress("Building the model", 0.0)
        backend, backend_notice = _make_backend(weights, dev, fast, progress)
        notice = " ".join(n for n in (notice, backend_notice) if n)
        engine = cls(backend, weights, notice)
        if progress:
            progress("Loading the English text front end", 0.0)
        engine.frontend("a")
        return engine

    @property
    def export_batch(self) -> int:
        """Chunks per batched call when making audio to save (1 where the backend gains nothing)."""
        return self.backend.export_batch

    @property
    def description(self) -> str:
        return self.backend.description

    def voice(self, name: str | None) -> Voice:
        name = name or self.default_voice
        for v in self.voices:
            if v.name == name:
                return v
        known = ", ".join(v.name for v in self.voices)
        raise EngineError(f"Unknown voice {name!r}. Available voices: {known}.")

    def frontend(self, lang_code: str):
        # Non-English voices still read English text: the app's text front end is English only.
        code = lang_code if lang_code in ("a", "b") else "a"
        with self._frontend_lock:
            if code not in self._frontends:
                from fasttts_desktop.engine.text.frontend import FrontEnd

                self._frontends[code] = FrontEnd(code)
            return self._frontends[code]

    def estimate_chunks(self, text: str, max_phonemes: int | None = None) -> int:
        from fasttts_desktop.engine.text.frontend import estimate_chunk_count

        if max_phonemes is None:
            max_phonemes = min(MAX_PHONEMES, self.backend.chunk_phonemes)
        return estimate_chunk_count(text, max_phonemes=max_phonemes)

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
    ) -> Iterator[AudioChunk]:
        """Yield the utterance chunk by chunk, each as soon as it is made.

        `start`: read from that character offset (the reader's "read from here"); chunk offsets stay
        those of the whole `text`.
        `cancel` is polled before and after each chunk; once it returns True the generator just ends.
        `batch` > 1 (export, not playback): chunks are made that many at a time in one batched call
        where the backend batches (`export_batch`); they still come out one by one, in order.
        """
        from fasttts_desktop.engine.text.frontend import word_timings

        self._check(text, speed, start)
        v = self.voice(voice)
        voice_pack = self._packs[v.name]
        frontend = self.frontend(v.lang_code)
        max_phonemes = min(MAX_PHONEMES, self.backend.chunk_phonemes)
        total = max(1, self.estimate_chunks(text[start:], max_phonemes))
        cancelled = cancel or (lambda: False)
        index = 0
        chunks = frontend.chunks(text, pack=pack, max_phonemes=max_phonemes, start=start)
        if batch > 1:  # export: the front end works ahead on a thread while the GPU makes audio
            chunks = _ahead(chunks, 2 * batch, cancelled)
        for group in _in_groups(chunks, max(1, batch)):
            if cancelled():
                return
            t0 = time.perf_counter()
            requests = [self._request(pc.chunk.phonemes, voice_pack, speed) for pc in group]
            try:
                if len(requests) == 1:
                    results = [self.backend.infer(requests[0], cancel=cancelled)]
                else:
                    results = self.backend.infer_batch(requests)
            except Cancelled:  # stopped in the middle of a chunk
                return
            synth_s = (time.perf_counter() - t0) / len(requests)
            for pc, result in zip(group, results):
                if cancelled():
                    return
                total = max(total, index + 1)
                yield AudioChunk(
                    index=index,
                    total=total,
                    chunk=pc.chunk,
                    audio=_fade_edges(result.audio),
                    words=word_timings(pc, result.durations),
                    durations=result.durations,
                    synth_s=synth_s,
                )
                index += 1
        if index == 0:
            raise EngineError("The text has nothing speakable in it (only symbols or punctuation?).")

    def synthesize(
        self,
        text: str,
        voice: str | None = None,
        speed: float = 1.0,
        *,
        cancel: Callable[[], bool] | None = None,
    ) -> np.ndarray:
        """The whole utterance as one float32 array (empty if cancelled)."""
        chunks = self.stream(text, voice, speed, cancel=cancel, batch=self.export_batch)
        parts = [c.audio for c in chunks]
        if cancel and cancel():
            return np.zeros(0, np.float32)
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def _ahead(items: Iterator, depth: int, cancelled: Callable[[], bool]) -> Iterator:
    """`items` produced on a thread, up to `depth` ahead of the consumer, in order.

    For exports: G2P of the next chunks (Python, ~2,000x realtime on one core) runs while the backend waits
    for the GPU (which releases the GIL), so neither waits for the other. An exception in the producer is
    raised here; stopping early (cancel, a closed generator) ends the producer at its next item.
    """
    import queue

    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        outcome = ("end", None)
        try:
            for item in items:
                if not put(("item", item)):
                    return
                if cancelled():
                    break
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            outcome = ("error", exc)
        put(outcome)

    thread = threading.Thread(target=produce, name="fasttts-frontend-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()


def _in_groups(items: Iterable, size: int) -> Iterator[list]:
    """Consecutive lists of `size` items (the last may be shorter), taking each item only when needed."""
    group: list = []
    for item in items:
        group.append(item)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def _fade_edges(audio: np.ndarray) -> np.ndarray:
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    n = min(_EDGE_FADE, len(audio) // 2)
    if n:
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n, dtype=np.float32))).astype(np.float32)
        audio[:n] *= ramp
        audio[-n:] *= ramp[::-1]
    return audio
