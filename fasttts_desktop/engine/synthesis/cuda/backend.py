"""CompiledBackend: kokoro on an NVIDIA GPU, fast from the first sentence (see engine/synthesis/protocol.py)."""

from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from fasttts_desktop.engine.synthesis.cuda.pipeline import FastModel
from fasttts_desktop.engine.synthesis.protocol import Request, Result
from fasttts_desktop.engine.types import SAMPLES_PER_FRAME, Progress

log = logging.getLogger(__name__)


@dataclass
class Options:
    # the decoder's convolutions; the text side is always float32. fp16, not bf16: same tensor-core speed,
    # 8x finer rounding, and bf16 audio was measurably off the reference (log-mel, docs/benchmarks)
    dtype: torch.dtype = torch.float16
    # decoder convolutions as 2-D, so that Inductor lays them out channels-last (NHWC): measured slower on
    # the H100 (1,078x batched vs 1,416x, p50 10.6 vs 9.1 ms; run of 05d8e3c)
    conv2d: bool = False
    # "aoti": AOTInductor package, cached on disk (a second launch loads it in seconds);
    # "inductor": torch.compile in-process (its caches under ours: a second launch compiles in ~40 s);
    # "none": eager kernels (still inside CUDA graphs at batch 1)
    compile: str = "aoti"
    jit_fallback: bool = True  # when the package cannot be built or loaded, torch.compile instead
    graphs: bool = True  # batch-1 CUDA graphs per bucket
    # FlashInfer ragged ALBERT in infer_batch: measured 5% slower than padded SDPA on sorted groups (05d8e3c)
    ragged_attention: bool = False
    # passes of 64 sentences / 8192 padded frames measured 1,302x realtime; 128 / 16384 measured 957x
    # (more padding inside each pass): docs/benchmarks/NOTES.md
    batch_sentences: int = 64  # text stage: sentences per pass
    batch_frames: int = 8192  # acoustic stage: padded frames per pass (~3.5 GB allocated at peak)
    # padded tokens per call part: their text-stage outputs (~150 MB) wait on the GPU, their audio (~25 min,
    # ~150 MB) in pinned host memory until the part is done
    batch_tokens: int = 32768
    # TF32 matrix products on the text side in infer_batch: +5% batched and durations still identical, but
    # the audio moved off the single-sentence path (log-mel 0.0945 vs 0.0887 with float32; h100 runs of
    # 10925f4 and 05d8e3c): off
    tf32_text: bool = False
    # decoder parts kept in float32 while the rest runs in `dtype` (decoder.FP32_PARTS)
    fp32_parts: tuple[str, ...] = ("source", "post")


class CompiledBackend:
    # chunks per infer_batch call when exporting: enough to fill the acoustic passes (64 sentences of ~3 s
    # are ~8,000 frames, one pass), few enough that save progress moves and Cancel is felt within a second
    export_batch = 64

    def __init__(
        self, weights, device: torch.device, progress: Progress | None = None, options: Options | None = None
    ):
        if device.type != "cuda":
            raise ValueError("CompiledBackend needs a CUDA device")
        self.device = device
        self.options = options or Options()
        self.fingerprint = getattr(weights, "fingerprint", None) or "unknown"
        state_dict = weights.state_dict if hasattr(weights, "state_dict") else weights
        if progress:
            progress("Building the GPU model", 0.0)
        kmodel = _kmodel_without_init(state_dict)
        if progress:
            progress("Building the GPU model", 0.3)
        self.model = FastModel(
            kmodel, self.options.dtype, self.options.conv2d, tuple(self.options.fp32_parts)
        ).eval()
        del kmodel.decoder  # the decoder core holds its own low-precision copy; the rest is shared
        if progress:
            progress("Building the GPU model", 0.6)
        self.model.to(device)
        for lstm in (m for m in self.model.modules() if isinstance(m, torch.nn.LSTM)):
            lstm.flatten_parameters()
        if progress:
            progress("Building the GPU model", 1.0)
        self.decoder = self.model.decoder
        self.runner = None
        self.compile_s = 0.0
        self.compiled = "eager"
        self.check_detail = ""
        self._compiler: threading.Thread | None = None
        self._lock = threading.Lock()
        self._attention = None
        self._describe()

    # -- one-time work

    def prepare(self, progress: Progress | None = None) -> None:
        """Ready to speak in seconds: CUDA graphs over eager kernels first; the compiled decoder joins later.

        An AOTInductor package from the cache is loaded here (seconds). Otherwise torch.compile runs on
        a background thread (its on-disk caches make later launches quicker) and the decoder is swapped
        in when it is done; `wait_compiled()` waits for that.
        """
        t0 = time.perf_counter()
        if self.options.compile == "aoti":
            self._load_decoder_package(progress, build=False)  # a cached, checked package: seconds
        self.compile_s = time.perf_counter() - t0
        if self.options.graphs:
            from fasttts_desktop.engine.synthesis.cuda.graphs import GraphRunner

            self.runner = GraphRunner(self.model, self.decoder, self.device)
            with torch.inference_mode():
                self.runner.precapture(progress)
        torch.cuda.empty_cache()
        if self.compiled == "eager" and self.options.compile != "none":
            self._compiler = threading.Thread(
                target=self._compile_in_background, name="fasttts-compile", daemon=True
            )
            self._compiler.start()
        self._describe()
        if progress:
            progress("GPU ready", 1.0)

    def _compile_in_background(self) -> None:
        """Speech already works (eager kernels in graphs); this makes it faster when done."""
        t0 = time.perf_counter()
        if self.options.compile == "aoti":
            self._load_decoder_package(None, build=True)
        if self.compiled == "eager" and (self.options.compile == "inductor" or self.options.jit_fallback):
            self._jit_decoder()
        if self.compiled != "eager":
            with self._lock:
                if self.runner is not None:
                    self.runner.decoder = self.decoder
                    self.runner.acoustic_graphs.clear()
                    with torch.inference_mode():
                        self.runner.precapture()  # the same buckets again, around the compiled decoder
                self._describe()
            torch.cuda.empty_cache()
            self.compile_s = time.perf_counter() - t0
            log.info("compiled decoder (%s) ready after %.1f s", self.compiled, self.compile_s)

    def wait_compiled(self, timeout: float | None = None) -> bool:
        if self._compiler is not None:
            self._compiler.join(timeout)
        return self.compiled != "eager"

    def _describe(self) -> None:
        name = torch.cuda.get_device_name(self.device)
        dtype = {torch.bfloat16: "bf16", torch.float16: "fp16", torch.float32: "fp32"}[self.options.dtype]
        how = {"aoti": "compiled", "inductor": "compiled"}.get(self.compiled, "CUDA graphs, compiling")
        if self.compiled == "eager" and self._compiler is None and self.options.compile == "none":
            how = "CUDA graphs"
        self.description = f"{name} · {dtype} {how}"

    def _variant(self) -> str:
        """What else, beside dtype, changes the compiled decoder (part of its cache key)."""
        return f"conv2d={int(self.options.conv2d)},fp32={'+'.join(sorted(self.options.fp32_parts))}"

    def _load_decoder_package(self, progress: Progress | None, build: bool) -> None:
        from fasttts_desktop.engine.synthesis.cuda import aoti
        from fasttts_desktop.engine.synthesis.cuda.cache import CacheKey, CompileCache

        cache = CompileCache()
        key = CacheKey.for_device(
            "decoder", self.fingerprint, self.device, self.options.dtype, self._variant()
        )
        if cache.loads(key) is False:
            log.info("compiled decoder package: this setup cannot load it (seen before); skipping")
            return
        path = cache.lookup(key, "decoder.pt2")
        if path is None and not build:
            return
        if path is not None and not build and cache.loads(key) is None:
            return  # built but never checked (the app stopped mid-way): check it in the background
        try:
            if path is None:
                if progress:
                    progress("Compiling the GPU decoder (once; a minute or two)", 0.05)
                ticker = _Ticker(
                    progress, "Compiling the GPU decoder (once; a minute or two)", 0.05, 0.85, 120.0
                )
                try:
                    path = cache.store(
                        key, "decoder.pt2", lambda p: aoti.build_package(self.decoder, self.device, p)
                    )
                finally:
                    ticker.stop()
            mode = cache.loads(key)
            if mode is None:
                if progress:
                    progress("Checking the compiled decoder", 0.88)
                mode, detail = aoti.check_in_subprocess(path)
                self.check_detail = detail
                cache.mark(key, mode or False)
                if not mode:
                    raise RuntimeError(f"the compiled decoder failed its check in a fresh process ({detail})")
            if progress:
                progress("Loading the compiled decoder", 0.9)
            decoder = aoti.load_package(path, mode)
            with self._lock:
                self.decoder = decoder
                self.compiled = "aoti"
        except Exception as exc:  # noqa: BLE001 - no toolchain, export failure, bad package: eager still works
            log.warning("compiled decoder unavailable (%s); using eager kernels in CUDA graphs", exc)
            self.compiled = "eager"

    def _jit_decoder(self) -> None:
        """torch.compile the decoder core for a dynamic batch and frame count, then swap it in."""
        from fasttts_desktop.engine.synthesis.cuda.aoti import example_inputs
        from fasttts_desktop.engine.synthesis.cuda.cache import CacheKey, cache_root

        key = CacheKey.for_device(
            "inductor",
            self.fingerprint,
            self.device,
            self.options.dtype,
            self._variant(),
        )
        # Inductor's own caches (FX graphs, Triton kernels) under ours: a later launch compiles faster
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_root() / f"inductor-{key.digest()}"))
        import torch._dynamo
        import torch.fx.experimental._config as fx_config

        fx_config.use_duck_shape = False  # a frame count equal to a channel count must not specialise
        torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 32)
        try:
            compiled = torch.compile(self.decoder, fullgraph=True)
            with torch.inference_mode():
                for batch in (2, 1):  # batch 1 is its own graph (size-1 specialisation)
                    args = example_inputs(self.device, batch=batch, frames=40)
                    for t, dims in zip(args, ((0, 2), (0, 1), (0, 1), (0,), (0, 2), (0,))):
                        for dim in dims:
                            if not (dim == 0 and batch == 1):
                                torch._dynamo.mark_dynamic(t, dim)
                    compiled(*args)
            torch.cuda.synchronize(self.device)
        except Exception as exc:  # noqa: BLE001 - any compile failure: speech goes on with eager kernels
            log.warning("torch.compile of the decoder failed (%s); staying on eager kernels", exc)
            return
        self.decoder = compiled  # swapped into the graphs by _compile_in_background
        self.compiled = "inductor"

    # -- synthesis

    @torch.inference_mode()
    def infer(self, request: Request, cancel=None) -> Result:  # GPU chunks take ms: nothing to poll
        with self._lock:
            if self.runner is not None:
                audio, durations = self.runner.run(request.input_ids, request.ref_s, request.speed)
                return Result(audio=audio.numpy().copy(), durations=durations.numpy().copy())
        return self.infer_batch([request])[0]

    @torch.inference_mode()
    def infer_batch(self, requests: list[Request]) -> list[Result]:
        """Many sentences in few passes: text stage in groups, acoustic stage in frame-budgeted batches.

        The host reads the GPU twice per call (the durations, then all audio at the end), so it queues
        the next pass while the GPU runs the current one; a sync per pass left the GPU idle ~60% of the
        time (docs/benchmarks/NOTES.md).
        """
        if len(requests) == 1 and self.runner is not None:
            return [self.infer(requests[0])]
        results: list[Result | None] = [None] * len(requests)
        order = sorted(range(len(requests)), key=lambda i: len(requests[i].input_ids))
        with self._lock:
            for part in _token_budget(order, [len(r.input_ids) for r in requests], self.options.batch_tokens):
                self._run_many([requests[i] for i in part], part, results)
        return results  # type: ignore[return-value]

    def _run_many(self, reqs: list[Request], where: list[int], results: list) -> None:
        dev, opts = self.device, self.options
        n = [len(r.input_ids) for r in reqs]
        count, longest_text = len(reqs), max(n)
        dur = torch.zeros(count, longest_text, dtype=torch.long, device=dev)
        d = torch.zeros(count, longest_text, 640, device=dev)
        t_en = torch.zeros(count, 512, longest_text, device=dev)
        style = _to_device(torch.cat([r.ref_s.reshape(1, 256) for r in reqs]), dev)
        with _matmul_tf32(opts.tf32_text):
            for lo in range(0, count, opts.batch_sentences):
                hi = min(count, lo + opts.batch_sentences)
                rows = n[lo:hi]
                t = max(rows)
                ids = torch.zeros(hi - lo, t, dtype=torch.long)
                for row, r in enumerate(reqs[lo:hi]):
                    ids[row, : rows[row]] = torch.as_tensor(r.input_ids)
                host_lengths = torch.tensor(rows)
                speed = torch.tensor([float(r.speed) for r in reqs[lo:hi]])
                args = (
                    _to_device(ids, dev),
                    _to_device(host_lengths, dev),
                    style[lo:hi],
                    _to_device(speed, dev),
                )
                if opts.ragged_attention and self._ragged_ok():
                    from fasttts_desktop.engine.synthesis.cuda.attention import RaggedAttention

                    attention = RaggedAttention(rows, dev, self._workspace)
                    g_dur, g_d, g_t_en = self.model.text.forward_ragged(*args, attention, rows)
                else:
                    g_dur, g_d, g_t_en = self.model.text_stage(*args, host_lengths=host_lengths)
                dur[lo:hi, :t] = g_dur
                d[lo:hi, :t] = g_d
                t_en[lo:hi, :, :t] = g_t_en
        dur_host = dur.cpu()  # the one mid-call sync: the frame counts decide the acoustic passes
        frames = dur_host.sum(1).tolist()
        pending = []
        for batch in _frame_passes(frames, opts.batch_frames):
            idx = _to_device(torch.tensor(batch), dev)
            t = max(n[i] for i in batch)
            audio, _ = self.model.acoustic_stage(
                dur.index_select(0, idx)[:, :t],
                d.index_select(0, idx)[:, :t],
                t_en.index_select(0, idx)[:, :, :t],
                style.index_select(0, idx),
                max(frames[i] for i in batch),
                self.decoder,
                host_frames=torch.tensor([frames[i] for i in batch]),
            )
            pending.append((batch, audio.to("cpu", non_blocking=True)))  # pinned, asynchronous
        torch.cuda.current_stream(dev).synchronize()
        for batch, audio in pending:
            for k, row in enumerate(batch):
                results[where[row]] = Result(
                    audio=audio[k, : SAMPLES_PER_FRAME * frames[row]].numpy().copy(),
                    durations=dur_host[row, : n[row]].numpy().astype(np.int64),
                )

    def _ragged_ok(self) -> bool:
        if self._attention is None:
            from fasttts_desktop.engine.synthesis.cuda.attention import flashinfer_available

            self._attention = flashinfer_available()
            if self._attention:
                self._workspace = torch.empty(128 << 20, dtype=torch.uint8, device=self.device)
        return self._attention


def _to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Host -> GPU without making the host wait for the GPU's queue (pageable copies may)."""
    return t.pin_memory().to(device, non_blocking=True)


def _pack(order: list[int], sizes: list[int], budget: int) -> list[list[int]]:
    """Split `order` (ascending size) into consecutive groups that pad to at most `budget`: a group costs
    its count times its last (largest) size. An item larger than the budget gets a group of its own."""
    groups, current = [], []
    for i in order:
        if current and (len(current) + 1) * sizes[i] > budget:
            groups.append(current)
            current = []
        current.append(i)
    if current:
        groups.append(current)
    return groups


def _token_budget(order: list[int], lengths: list[int], budget: int) -> list[list[int]]:
    """Parts of a call whose text-stage outputs wait on the GPU together (~4.6 kB per padded token)."""
    return _pack(order, lengths, budget)


def _frame_passes(frames: list[int], budget: int) -> list[list[int]]:
    """Rows by frame count, as many per acoustic pass as `budget` padded frames allow."""
    return _pack(sorted(range(len(frames)), key=lambda i: frames[i]), frames, budget)


@contextmanager
def _matmul_tf32(enabled: bool):
    """TF32 for float32 matrix products inside the block (the text side's ALBERT/projections)."""
    if not enabled:
        yield
        return
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old


def _kmodel_without_init(state_dict: dict[str, torch.Tensor]):
    """kokoro's KModel holding `state_dict`, weight norm folded (build_kmodel skips random init)."""
    from fasttts_desktop.engine.weights.model_build import build_kmodel, remove_weight_norm

    return remove_weight_norm(build_kmodel(state_dict)).eval()


class _Ticker:
    """Reports a slowly rising fraction while a long step with no progress of its own runs."""

    def __init__(self, progress: Progress | None, message: str, start: float, end: float, expected_s: float):
        self._stop = threading.Event()
        if progress is None:
            return

        def tick():
            t0 = time.perf_counter()
            while not self._stop.wait(1.0):
                frac = min(1.0, (time.perf_counter() - t0) / expected_s)
                progress(message, start + (end - start) * frac * 0.95)

        threading.Thread(target=tick, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
