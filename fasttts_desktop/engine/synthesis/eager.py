"""kokoro's own KModel as the backend: the reference, and the CPU path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from fasttts_desktop.engine.synthesis.model_build import build_kmodel, remove_weight_norm
from fasttts_desktop.engine.synthesis.protocol import Request, Result
from fasttts_desktop.engine.types import MAX_PHONEMES, Cancelled, Progress


class EagerBackend:
    """kokoro's KModel as written, float32, weight norm folded (same function, less work per call)."""

    def __init__(self, state_dict: dict[str, torch.Tensor], device: torch.device):
        self.device = device
        self.model = remove_weight_norm(build_kmodel(state_dict)).to(device)
        self._cancel: Callable[[], bool] | None = None
        for module in _cancel_points(self.model):
            module.register_forward_pre_hook(self._maybe_stop)
        self.chunk_phonemes = MAX_PHONEMES
        self.first_chunk_phonemes = 60
        self.export_batch = 1  # kokoro's forward takes one sequence: batching gains nothing here
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

    def _maybe_stop(self, _module: torch.nn.Module, _args: object) -> None:
        if self._cancel is not None and self._cancel():
            raise Cancelled


def _cancel_points(model: Any) -> list[torch.nn.Module]:  # kokoro's KModel: untyped
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
