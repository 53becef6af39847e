"""CpuBackend: kokoro on a CPU, text side in float32 (exact durations), vocoder in bfloat16 where it pays.

Contract: engine/synthesis/protocol.py. The text side (ALBERT, duration predictor, text encoder) is our
KokoroModel's, float32, so the predicted durations are kokoro's own; it is ~10% of the work. The acoustic
side (acoustic.py) runs its big convolutions in bfloat16 on CPUs with native bf16 dot products
(avx512_bf16 / AMX), measured ~2x faster per convolution than float32 on this project's 2-core CI machine,
and in float32 elsewhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from fasttts_desktop.engine.synthesis.cpu.acoustic import Acoustic, low_precision
from fasttts_desktop.engine.synthesis.cpu.threads import configure_torch_threads, release_free_memory
from fasttts_desktop.engine.synthesis.model_build import build_folded_model
from fasttts_desktop.engine.synthesis.protocol import Request, Result
from fasttts_desktop.engine.types import Cancelled, Progress

log = logging.getLogger(__name__)


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
        state_dict: dict[str, torch.Tensor],
        *,
        dtype: torch.dtype | None = None,
        threads: int | None = None,
        consume: bool = False,
    ):
        """`consume`: take the tensors out of `state_dict` while building (the caller is done with it), so
        start-up never holds the weights twice."""
        self.device = torch.device("cpu")
        self.threads = configure_torch_threads(threads)
        self.dtype = dtype or (torch.bfloat16 if bf16_is_fast() else torch.float32)
        low = self.dtype
        self.model = build_folded_model(
            state_dict, cast=lambda key: low if low_precision(key) else None, consume=consume
        )
        self.acoustic = Acoustic(self.model, self.dtype)
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
        kind = "bf16 vocoder" if self.dtype == torch.bfloat16 else "float32"
        self.description = f"CPU · {kind} · {self.threads} threads"

    def prepare(self, progress: Progress | None = None) -> None:
        # The first call pays for oneDNN's kernel selection and the allocator's first growth.
        if progress:
            progress("Warming up the model", 0.0)
        self.infer(Request(input_ids=[0, 50, 83, 156, 54, 57, 0], ref_s=torch.zeros(1, 256), speed=1.0))
        release_free_memory()

    @torch.inference_mode()
    def infer(self, request: Request, cancel: Callable[[], bool] | None = None) -> Result:
        def check() -> None:
            if cancel is not None and cancel():
                raise Cancelled

        ids = torch.tensor([request.input_ids], dtype=torch.long)
        ref_s = request.ref_s.to(torch.float32).reshape(1, -1)
        durations, d, t_en = self.model.text_side(ids, ref_s, request.speed)
        check()
        audio = self.acoustic(durations, d, t_en, ref_s, check)
        return Result(
            audio=audio.float().numpy().reshape(-1).copy(),
            durations=durations.numpy().reshape(-1).astype(np.int64),
        )

    def infer_batch(self, requests: list[Request]) -> list[Result]:
        return [self.infer(r) for r in requests]
