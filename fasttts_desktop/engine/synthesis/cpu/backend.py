"""CpuBackend: kokoro on a CPU, text side in float32 (exact durations), vocoder in bfloat16 where it pays.

Contract: engine/synthesis/protocol.py. It runs the model's own forward (engine/synthesis/model.py) as it
is; what is CPU-specific is decided at build time. The text side (ALBERT, duration predictor, text
encoder) stays float32, so the predicted durations are kokoro's own; it is ~10% of the work. The
decoder's and vocoder's big convolutions (`low_precision`) are converted to bfloat16 as the weights are
placed, on CPUs with native bf16 dot products (avx512_bf16 / AMX), measured ~2x faster per convolution than
float32 on this project's 2-core CI machine; float32 elsewhere. A Stop is polled between blocks (~15
points, each well under 0.1 s apart), so a chunk can be abandoned.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from fasttts_desktop.engine.storage.files import SaveError
from fasttts_desktop.engine.synthesis import stored
from fasttts_desktop.engine.synthesis.cpu.compiled import BlockCompiler
from fasttts_desktop.engine.synthesis.cpu.threads import configure_torch_threads, release_free_memory
from fasttts_desktop.engine.synthesis.model import KokoroModel
from fasttts_desktop.engine.synthesis.model_build import bare_folded_model, build_folded_model
from fasttts_desktop.engine.synthesis.protocol import Request, Result
from fasttts_desktop.engine.types import Cancelled, Progress

log = logging.getLogger(__name__)


class Weights(Protocol):
    """What the backend reads of its weights (weights.store.Weights; synthesis does not import the weights
    room, which imports the text room, which reads synthesis' config)."""

    @property
    def state_dict(self) -> dict[str, torch.Tensor]: ...
    @property
    def fingerprint(self) -> str: ...
    def derived_path(self, form: str) -> Path | None: ...


# The convolutions that run in the compute dtype (state-dict keys): the decoder's residual blocks and the
# vocoder's upsampling and residual convolutions. The harmonic-source convolutions (noise_convs), the
# pitch/energy blocks, F0/N convs, asr_res and conv_post stay float32: their inputs are phases and
# curves that rounding would move audibly.
_LOW_PRECISION = re.compile(
    r"^decoder\.(encode|decode\.\d+|generator\.(ups\.\d+|(resblocks|noise_res)\.\d+\.convs[12]\.\d+))"
    r"(\.(conv1|conv2|conv1x1|pool))?\.(weight|bias)$"
)


# The CPU model's stored form (engine/synthesis/stored.py); bump with anything that changes what it holds
STORED_FORMAT = 1


def stored_form(dtype: torch.dtype) -> stored.Form:
    return stored.Form("cpu", dtype, STORED_FORMAT)


def low_precision(key: str) -> bool:
    """Whether the state-dict tensor `key` belongs to a convolution that runs in the compute dtype."""
    return _LOW_PRECISION.match(key) is not None


def bf16_is_fast() -> bool:
    """True where oneDNN has native bf16 dot products (x86 avx512_bf16 or AMX); emulated bf16 is slower."""
    try:
        # torch's own test of oneDNN's bf16 support; no public name for it
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()) and _has_native_bf16()  # noqa: SLF001
    except (AttributeError, RuntimeError):
        return False


def _has_native_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


class CpuBackend:
    def __init__(
        self,
        state_dict: dict[str, torch.Tensor] | None = None,
        *,
        weights: Weights | None = None,
        dtype: torch.dtype | None = None,
        threads: int | None = None,
        consume: bool = False,
        compile_blocks: bool | None = None,
    ):
        """From kokoro's `state_dict` (KModel keys, float32), or from `weights`: their stored CPU form where
        they have one (stored.py, memory-mapped: nothing read or converted), else their state dict, taken
        out of them while building (the engine is done with it) and then stored for the next start.
        `consume`: take the tensors out of `state_dict` while building (the caller is done with it), so
        start-up never holds the weights twice.
        `compile_blocks`: the vocoder's residual blocks compiled ahead of time (compiled.py): loaded from the
        user cache after the first chunk, or built there first by a child process at the lowest CPU priority;
        default: on where the vocoder runs bf16 (where it was measured), unless the environment says
        FASTTTS_CPU_COMPILE=0. Loaded, they cost ~3 MB and 20 ms for ~0.78x the compute. The child is frozen
        while a chunk is made (`BlockCompiler.pause`): running beside chunks, even at SCHED_IDLE, it made
        them 1.37x slower; frozen, a first launch's chunks took what eager ones take
        (docs/benchmarks/CPU.md)."""
        self.device = torch.device("cpu")
        self.threads = configure_torch_threads(threads)
        self.dtype = dtype or (torch.bfloat16 if bf16_is_fast() else torch.float32)
        if weights is not None:
            self.model = self._from_weights(weights)
        elif state_dict is not None:
            self.model = self._built(state_dict, consume=consume)
        else:
            raise ValueError("CpuBackend needs a state dict or Weights")
        self._cancel: Callable[[], bool] | None = None
        for module in _cancel_points(self.model):
            module.register_forward_hook(self._maybe_stop)
        # Cost per second of audio is flat up to ~120 phonemes and climbs past it (the vocoder's
        # activations outgrow the caches); short chunks also keep playback ahead of synthesis.
        self.chunk_phonemes = 120
        # The first chunk's budget (the packer may take up to half as much again to end at a clause or a
        # sentence): 60 allowed a 90-phoneme first chunk, ~6 s of audio and over a second of compute on two
        # cores; 40 (at most 60) still measured p95 1.10 s from Speak to the first chunk on a quiet machine
        # (cpu-2026-11-30-8a0a92e); 30 caps it at 45 phonemes, ~3 s of audio. The budget then doubles chunk
        # by chunk while the earlier ones play.
        self.first_chunk_phonemes = 30
        self.export_batch = 1  # one sequence per call: batching gains nothing on two cores
        if compile_blocks is None:
            compile_blocks = self.dtype == torch.bfloat16 and os.environ.get("FASTTTS_CPU_COMPILE") != "0"
        self.compiler = BlockCompiler(self.model, self.dtype) if compile_blocks else None
        self.description = self._describe()

    def _describe(self) -> str:
        kind = "bf16 vocoder" if self.dtype == torch.bfloat16 else "float32"
        if self.compiled != "eager":
            kind += " (compiled)"
        return f"CPU · {kind} · {self.threads} threads"

    @property
    def compiled(self) -> str:
        """How the vocoder blocks run: "eager", "compiled" (in this process) or "loaded" (from the cache)."""
        return self.compiler.kind if self.compiler is not None else "eager"

    def wait_compiled(self, timeout: float | None = None) -> bool:
        """Start the block compiler now if it has not started, and wait for it; True when all are compiled."""
        return self.compiler.wait(timeout) if self.compiler is not None else False

    def _expected_dtype(self, key: str) -> torch.dtype:
        return self.dtype if low_precision(key) else torch.float32

    def _built(self, state_dict: dict[str, torch.Tensor], *, consume: bool) -> KokoroModel:
        def cast(key: str) -> torch.dtype | None:
            return self.dtype if low_precision(key) else None

        return build_folded_model(state_dict, cast=cast, consume=consume).fold_styles()

    def _from_weights(self, weights: Weights) -> KokoroModel:
        form = stored_form(self.dtype)
        path = weights.derived_path(form.name)
        if path is not None:
            model = self._stored(path, form)
            if model is not None:
                return model
        model = self._built(weights.state_dict, consume=True)
        if path is None:
            return model
        try:
            stored.save_model(path, stored.model_tensors(model), form, weights.fingerprint)
        except SaveError as e:  # a full or read-only disk: this start runs from memory, the next rebuilds
            log.info("Could not store the CPU model at %s: %s", path, e)
            return model
        # the same values, now as views of the file: the built copy's memory goes back
        return self._stored(path, form) or model

    def _stored(self, path: Path, form: stored.Form) -> KokoroModel | None:
        """The model (styles folded, eval) on the mapped tensors of its stored form at `path`, or None."""

        def frame() -> KokoroModel:
            return bare_folded_model().fold_styles()

        return stored.load_model(path, form, frame, expected=self._expected_dtype)

    def prepare(self, progress: Progress | None = None) -> None:
        # Only the text side (~0.07 s): it starts the thread pool and the GEMM/LSTM paths. A whole dummy chunk
        # (0.4-0.8 s of start-up) left the first real chunk no faster, within the ~0.1 s noise of fresh
        # processes measured side by side: oneDNN makes its convolution kernels per input length, so a
        # dummy chunk pays for shapes real chunks do not reuse, and the mapped weights page in quickly
        # (stored.py asks the kernel to read them ahead).
        if progress:
            progress("Warming up the model", 0.0)
        with torch.inference_mode():
            self.model.text_side(torch.tensor([[0, 50, 83, 156, 54, 57, 0]]), torch.zeros(1, 256), 1.0)
        release_free_memory()

    @torch.inference_mode()
    def infer(self, request: Request, cancel: Callable[[], bool] | None = None) -> Result:
        ids = torch.tensor([request.input_ids], dtype=torch.long)
        ref_s = request.ref_s.to(torch.float32).reshape(1, -1)
        self._cancel = cancel
        if self.compiler is not None:
            self.compiler.apply()  # blocks loaded meanwhile take over here, between chunks
            self.compiler.pause()  # the compile child (first launches) runs between chunks only
        try:
            durations, d, t_en = self.model.text_side(ids, ref_s, request.speed)
            self._maybe_stop()
            audio = self.model.acoustic_side(durations, d, t_en, ref_s)
        finally:
            self._cancel = None
            if self.compiler is not None:
                self.compiler.resume()
        if self.compiler is not None:  # after the first chunk: start-up and the first sound come first
            self.compiler.start()
            self.description = self._describe()
        return Result(
            audio=audio.float().numpy().reshape(-1).copy(),
            durations=durations.numpy().reshape(-1).astype(np.int64),
        )

    def infer_batch(self, requests: list[Request]) -> list[Result]:
        return [self.infer(r) for r in requests]

    def _maybe_stop(self, *_hook_args: object) -> None:
        if self._cancel is not None and self._cancel():
            raise Cancelled


def _cancel_points(model: KokoroModel) -> list[torch.nn.Module]:
    """Modules after which a chunk in progress may stop: the pitch and energy branches, each decoder block
    and each vocoder block."""
    predictor, decoder = model.predictor, model.decoder
    gen = decoder.generator
    return [predictor.F0_proj, predictor.N_proj, *decoder.decode, *gen.noise_res, *gen.resblocks]
