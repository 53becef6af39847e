"""CompiledBackend: kokoro on an NVIDIA GPU, fast from the first sentence (see engine/synthesis/protocol.py).

The parts: pipeline.FastModel (kokoro's forward as two graph-capturable stages; build.py puts it on the
GPU, from its stored form where there is one), graphs.GraphRunner (batch-1 sentences replayed from CUDA
graphs), batched.BatchedPasses (export), compiler.DecoderCompiler (the compiled decoder, from disk or
compiled in the background). The backend builds them and hands the compiled decoder to whoever runs it, in
one place (`set_decoder`).
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from fasttts_desktop.engine.synthesis.cuda.build import StoredModel, WeightsLike, build_fast_model, fast_model
from fasttts_desktop.engine.synthesis.protocol import Request, Result
from fasttts_desktop.engine.types import MAX_PHONEMES, Progress

if TYPE_CHECKING:  # imported where used: the graphs and the compiler load Triton and Inductor
    from fasttts_desktop.engine.synthesis.cuda.cache import CacheKey
    from fasttts_desktop.engine.synthesis.cuda.compiler import DecoderCompiler
    from fasttts_desktop.engine.synthesis.cuda.graphs import GraphRunner

log = logging.getLogger(__name__)

RELEASE_AFTER_S = 2.0  # idle time after a batched call before its cached GPU memory is given back


@dataclass
class Options:
    # the decoder's convolutions; the text side is always float32. fp16, not bf16: same tensor-core speed,
    # 8x finer rounding, and bf16 audio was measurably off the reference (log-mel, docs/benchmarks)
    dtype: torch.dtype = torch.float16
    # decoder parts kept in float32 while the rest runs in `dtype` (decoder.FP32_PARTS)
    fp32_parts: tuple[str, ...] = ("source", "post")
    # decoder activations channels-last ([B, C, 1, L]) so cuDNN needs no layout transposes (decoder.py).
    # H200, random weights, compiled: acoustic graph 3.4 ms vs 20.2 ms, batched 1,523x vs 1,405x (NOTES.md)
    channels_last: bool = True
    # "persistent": the graphs' bidirectional LSTMs as one Triton kernel each (lstm_kernel.py), 2.5-3x
    # faster than cuDNN's per-step kernels at 48-1152 steps (H200); "cudnn": those. Batched passes always
    # use cuDNN on packed sequences (many rows per step: cuDNN is efficient there).
    lstm: str = "persistent"
    # compiler.MODES: "inductor" (default; saved and loaded from disk where torch can), "none"
    compile: str = "inductor"
    graphs: bool = True  # batch-1 CUDA graphs per bucket
    # passes of 64 sentences / 8192 padded frames measured 1,302x realtime; 128 / 16384 measured 957x
    # (more padding inside each pass): docs/benchmarks/NOTES.md
    batch_sentences: int = 64  # text stage: sentences per pass
    batch_frames: int = 8192  # acoustic stage: padded frames per pass (~3.5 GB allocated at peak)
    # padded tokens per call part: their text-stage outputs (~150 MB) wait on the GPU, their audio (~25 min,
    # ~150 MB) in pinned host memory until the part is done
    batch_tokens: int = 32768
    # Batched passes only (export), both off until a device run shows a gain with durations identical on
    # every token (experiments/gpu_item1.py measures both against the shipped settings in one process):
    # the text passes' float32 GEMMs (ALBERT, LSTM input projections) in TF32. cuDNN's own TF32 (the text
    # side's convolutions and LSTMs) is already on: PyTorch's default, as in the reference.
    text_tf32: bool = False
    # cuDNN times its algorithms for each new convolution shape and keeps the fastest (cudnn.benchmark);
    # a pass's padded frame count is new for most passes of a new text, and each new shape pays the timing
    cudnn_benchmark: bool = False

    def variant(self) -> str:
        """What else, beside dtype, changes the compiled decoder (part of its cache key)."""
        return f"fp32={'+'.join(sorted(self.fp32_parts))},layout={'nhwc' if self.channels_last else 'ncl'}"


class CompiledBackend:
    # chunks per infer_batch call when exporting: enough to fill the acoustic passes (64 sentences of ~3 s
    # are ~8,000 frames, one pass), few enough that save progress moves and Cancel is felt within a second
    export_batch = 64
    chunk_phonemes = MAX_PHONEMES
    first_chunk_phonemes = 60

    def __init__(
        self,
        weights: WeightsLike | dict[str, torch.Tensor],
        device: torch.device,
        progress: Progress | None = None,
        options: Options | None = None,
    ):
        if device.type != "cuda":
            raise ValueError("CompiledBackend needs a CUDA device")
        self.device = device
        self.options = opts = options or Options()
        self.fingerprint = "unknown" if isinstance(weights, dict) else (weights.fingerprint or "unknown")
        _caches_under_ours(self._key("inductor"))  # before the LSTM kernel's first Triton launch
        if opts.lstm == "persistent":
            # the text graphs' LSTM kernel imports Triton (~0.15 s of Python on a 2-core CPU, the only
            # import of size the first sentence needs beyond torch): beside the CUDA context's start and
            # the weights' load (native code, the GIL released), instead of after them
            _import_beside("fasttts_desktop.engine.synthesis.cuda.lstm_kernel")
        # `stored`: whether the model came from its stored form (build.py); a built one is stored by the
        # background thread after the first sentence
        if isinstance(weights, dict):  # a bare state dict
            self.model, self.stored = build_fast_model(weights, device, opts, progress), StoredModel()
        else:
            self.model, self.stored = fast_model(weights, device, opts, progress)
        self.decoder: Callable[..., torch.Tensor] = self.model.decoder
        self.runner: GraphRunner | None = None
        self.compiler: DecoderCompiler | None = None
        self._lock = threading.Lock()
        self._release_timer: threading.Timer | None = None
        self._background: threading.Thread | None = None  # later graphs, the compiler, stream graphs
        self._background_lock = threading.Lock()
        from fasttts_desktop.engine.synthesis.cuda.batched import BatchedPasses

        self.batched = BatchedPasses(self.model, device, opts)
        self._describe("eager")

    def prepare(self, progress: Progress | None = None) -> None:
        """Ready to speak in seconds: CUDA graphs over eager kernels first; the compiled decoder joins later
        (`wait_compiled()` waits for it).

        Only the graphs a first sentence most likely needs are captured here. The other common acoustic
        graphs and then the compiler start in the background after the first synthesis call has returned
        (or when `wait_compiled` is called): loading the compiled decoder is seconds of Python (Dynamo,
        Inductor) that would otherwise hold the GIL while the first sentence is made (H100: 3.3 s from
        ready to the first audio, docs/benchmarks/NOTES.md)."""
        from fasttts_desktop.engine.synthesis.cuda.compiler import DecoderCompiler

        if self.options.graphs:
            from fasttts_desktop.engine.synthesis.cuda.graphs import GraphRunner

            runner = GraphRunner(self.model, self.decoder, self.device)
            with torch.inference_mode():
                runner.precapture(progress)
            self.runner = runner
        torch.cuda.empty_cache()

        self.compiler = DecoderCompiler(
            self.model.decoder, self.device, self.options.compile, self._key, self.set_decoder, progress
        )
        self._describe("eager")
        if progress:
            progress("GPU ready", 1.0)

    def _start_background(self) -> None:
        with self._background_lock:
            if self._background is None and self.compiler is not None:
                self._background = threading.Thread(target=self._later, name="fasttts-gpu-later", daemon=True)
                self._background.start()

    def _later(self) -> None:
        """The model's stored form where it was built (the next start loads it), the common acoustic graphs
        not captured in prepare, then the compiler, then (around the decoder it gave) the buckets of a
        stream's longer chunks."""
        from fasttts_desktop.engine.synthesis.cuda.graphs import LATER_FRAMES, STREAM_FRAMES

        self.stored.write()
        self._capture_in_turn(LATER_FRAMES)
        if self.compiler is not None:
            self.compiler.start()
            self.compiler.wait()
        self._capture_in_turn(STREAM_FRAMES)

    def _capture_in_turn(self, buckets: tuple[int, ...]) -> None:
        """One acoustic graph at a time, each under the lock: a sentence waits at most one capture."""
        try:
            for frames in buckets:
                if self.runner is None:
                    return
                with self._lock, torch.inference_mode():
                    self.runner.capture_acoustic(frames)
        except Exception as exc:  # noqa: BLE001 - those buckets are then captured on first use
            log.warning("background graph capture failed: %s", exc)

    def _key(self, name: str) -> CacheKey:
        from fasttts_desktop.engine.synthesis.cuda.cache import CacheKey

        return CacheKey.for_device(
            name, self.fingerprint, self.device, self.options.dtype, self.options.variant()
        )

    def set_decoder(self, decoder: Callable[..., torch.Tensor], kind: str) -> None:
        """The one hand-over of a (compiled) decoder: batched passes and the graphs use it from now on."""
        with self._lock:
            self.decoder = decoder
            if self.runner is not None:
                with torch.inference_mode():
                    self.runner.set_decoder(decoder)
            self._describe(kind)
        torch.cuda.empty_cache()

    def wait_compiled(self, timeout: float | None = None) -> bool:
        if self.compiler is None:
            return False
        self._start_background()
        if self._background is not None:
            self._background.join(timeout)
        return self.compiler.wait(timeout)

    @property
    def compiled(self) -> str:
        return self.compiler.kind if self.compiler is not None else "eager"

    def _describe(self, kind: str) -> None:
        name = torch.cuda.get_device_name(self.device)
        dtype = {torch.bfloat16: "bf16", torch.float16: "fp16", torch.float32: "fp32"}[self.options.dtype]
        if kind != "eager":
            how = "compiled"
        elif self.options.compile == "none":
            how = "CUDA graphs"
        else:
            how = "CUDA graphs, compiling the decoder"
        self.description = f"{name} · {dtype} {how}"

    # -- synthesis

    @torch.inference_mode()
    def infer(self, request: Request, cancel: Callable[[], bool] | None = None) -> Result:  # noqa: ARG002
        # the Protocol's signature; a GPU chunk takes milliseconds: nothing to poll
        with self._lock:
            if self.runner is not None:
                audio, durations = self.runner.run(request.input_ids, request.ref_s, request.speed)
                result = Result(audio=audio.numpy().copy(), durations=durations.numpy().copy())
            else:
                result = self.batched.run([request], self.decoder)[0]
        self._start_background()
        return result

    def infer_stream(self, requests: Iterable[Request]) -> Iterator[Result]:
        """One chunk after another, in order, as `infer` makes them; from the second chunk on, the next
        chunk's text graph runs beside this one's acoustic graph (graphs.GraphRunner.run_stream). The next
        request is taken from `requests` only after the previous chunk's first result is out."""
        if self.runner is None:
            for request in requests:
                yield self.infer(request)
            return
        steps = self.runner.run_stream((r.input_ids, r.ref_s, r.speed) for r in requests)
        while True:
            with self._lock, torch.inference_mode():
                made = next(steps, None)
                if made is None:
                    return
                result = Result(audio=made[0].numpy().copy(), durations=made[1].numpy().copy())
            yield result
            self._start_background()

    @torch.inference_mode()
    def infer_batch(self, requests: list[Request]) -> list[Result]:
        """Many sentences in few passes (batched.py); a single one through the graphs."""
        if len(requests) == 1 and self.runner is not None:
            return [self.infer(requests[0])]
        with self._lock:
            results = self.batched.run(requests, self.decoder)
            self._release_later()
        self._start_background()
        return results

    def _release_later(self) -> None:
        """An export grows the allocator's cache by GBs; once no batched call came for RELEASE_AFTER_S,
        give it back to the driver (interactive use needs a few hundred MB, mostly the graphs' pool)."""
        if self._release_timer is not None:
            self._release_timer.cancel()
        self._release_timer = threading.Timer(RELEASE_AFTER_S, self._release)
        self._release_timer.daemon = True
        self._release_timer.start()

    def _release(self) -> None:
        with self._lock:
            torch.cuda.synchronize(self.device)
            torch.cuda.empty_cache()


def _import_beside(name: str) -> None:
    """Start importing module `name` on a thread of its own: whoever imports it next waits for that import
    (Python's per-module import lock) instead of starting it. A failure is left for that import to raise."""

    def run() -> None:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - raised again where the module is imported for use
            log.debug("background import of %s failed: %s", name, exc)

    threading.Thread(target=run, name="fasttts-import", daemon=True).start()


def _caches_under_ours(key: CacheKey) -> None:
    """Inductor's and Triton's own caches (the persistent LSTM kernel's too) next to ours, keyed alike."""
    import os

    from fasttts_desktop.engine.synthesis.cuda.cache import cache_root

    folder = cache_root() / f"inductor-{key.digest()}"
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(folder))
    os.environ.setdefault("TRITON_CACHE_DIR", str(folder / "triton"))
