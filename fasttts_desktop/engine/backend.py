"""The seam between the engine's text/voice logic and the code that runs the model.

A backend turns token ids + a style vector into audio and per-token durations. The eager backend here is
kokoro's own KModel (the reference); engine/cuda/ holds the compiled GPU backend with the same interface.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from fasttts_desktop.engine.model import build_kmodel, remove_weight_norm
from fasttts_desktop.engine.types import MAX_PHONEMES, Cancelled

Progress = Callable[[str, float], None]


@dataclass
class Request:
    input_ids: list[int]  # phoneme ids with the two 0 pad tokens already added
    ref_s: torch.Tensor  # [1, 256] float32 style vector: row len(phonemes) - 1 of the voice pack
    speed: float

    @classmethod
    def from_phonemes(cls, phonemes: str, pack: torch.Tensor, speed: float, vocab: dict[str, int]) -> Request:
        """kokoro's input for a chunk: its phonemes as ids between two pad tokens, and the voice pack's
        style row for that many phonemes (symbols outside the vocabulary are dropped, as kokoro does)."""
        ids = [i for i in (vocab.get(p) for p in phonemes) if i is not None]
        return cls(input_ids=[0, *ids, 0], ref_s=pack[len(phonemes) - 1], speed=speed)


@dataclass
class Result:
    audio: np.ndarray  # float32 mono 24 kHz
    durations: np.ndarray  # int64 frames per input id (pads included)


class Backend(Protocol):
    description: str  # for the status bar, e.g. "CPU · float32 (eager)" or "NVIDIA H100 · bf16 compiled"
    device: torch.device
    chunk_phonemes: int  # the longest chunk worth one call: past it, cost per second of audio climbs

    def prepare(self, progress: Progress | None = None) -> None:
        """Do slow one-time work (compilation, warm-up) before the first request."""

    def infer(self, request: Request, cancel: Callable[[], bool] | None = None) -> Result:
        """One chunk. `cancel` may be polled during the work; once it returns True the backend may raise
        Cancelled instead of finishing (the CPU backend does: its chunks take seconds)."""

    def infer_batch(self, requests: list[Request]) -> list[Result]: ...


class EagerBackend:
    """kokoro's KModel as written, float32, weight norm folded (same function, less work per call)."""

    def __init__(self, state_dict: dict[str, torch.Tensor], device: torch.device):
        self.device = device
        self.model = remove_weight_norm(build_kmodel(state_dict)).to(device)
        self._cancel: Callable[[], bool] | None = None
        for module in _cancel_points(self.model):
            module.register_forward_pre_hook(self._maybe_stop)
        self.chunk_phonemes = MAX_PHONEMES
        if device.type == "cpu":
            # Measured on 2 cores: ~0.65 s of compute per second of audio up to ~120 phonemes, 1.2 at 200
            # and 3.9 at 480 (the decoder's activations outgrow the caches). Short chunks keep CPU
            # playback ahead of synthesis.
            self.chunk_phonemes = 120
            self.description = f"CPU · float32 ({torch.get_num_threads()} threads)"
        else:
            self.description = f"{torch.cuda.get_device_name(device)} · float32 (eager, reference)"

    def prepare(self, progress: Progress | None = None) -> None:
        # The first forward pays for allocator growth and kernel/primitive selection (seconds on a CPU);
        # pay it here, during start-up, not when the user presses Speak.
        if progress:
            progress("Warming up the model", 0.0)
        self.infer(Request(input_ids=[0, 50, 83, 156, 54, 57, 0], ref_s=torch.zeros(1, 256), speed=1.0))

    @torch.inference_mode()
    def infer(self, request: Request, cancel: Callable[[], bool] | None = None) -> Result:
        ids = torch.tensor([request.input_ids], dtype=torch.long, device=self.device)
        self._cancel = cancel
        try:
            audio, durations = self.model.forward_with_tokens(
                ids, request.ref_s.to(self.device), request.speed
            )
        finally:
            self._cancel = None
        return Result(
            audio=audio.float().cpu().numpy().reshape(-1),
            durations=durations.cpu().numpy().reshape(-1).astype(np.int64),
        )

    def infer_batch(self, requests: list[Request]) -> list[Result]:
        # kokoro's forward handles one sequence at a time; the compiled backend batches for real.
        return [self.infer(r) for r in requests]

    def _maybe_stop(self, _module, _args) -> None:
        if self._cancel is not None and self._cancel():
            raise Cancelled()


def _cancel_points(model) -> list[torch.nn.Module]:
    """Modules before which a chunk in progress may stop: about 30 points through kokoro's forward, each
    well under 0.2 s apart on a CPU, so a new Speak need not wait for the whole chunk (seconds there)."""
    predictor, decoder = model.predictor, model.decoder
    gen = decoder.generator
    return [
        model.bert.encoder.albert_layer_groups[0],  # called once per ALBERT layer (12 times)
        predictor.text_encoder,
        predictor.lstm,
        predictor.shared,
        *predictor.F0,
        *predictor.N,
        decoder.encode,
        *decoder.decode,
        *gen.noise_res,
        *gen.resblocks,
        gen.conv_post,
    ]
