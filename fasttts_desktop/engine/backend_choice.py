"""Which backend runs the model here: the compiled one on CUDA, the CPU one on a CPU, kokoro's eager model as
the reference and the fallback. No Qt here."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import torch

from fasttts_desktop.engine.synthesis.eager import EagerBackend
from fasttts_desktop.engine.synthesis.protocol import Backend
from fasttts_desktop.engine.types import EngineError, Progress

if TYPE_CHECKING:  # the weight store is imported when the engine loads
    from fasttts_desktop.engine.weights.store import Weights

log = logging.getLogger(__name__)


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


def make_backend(
    weights: Weights, device: torch.device, fast: bool | None, progress: Progress | None
) -> tuple[Backend, str]:
    """The compiled backend on CUDA when it builds, the CPU backend on a CPU, else kokoro's eager model (also
    what `fast=False` asks for: the reference); prepared either way.

    Also returns a notice for the user ("" when all is as expected).
    """
    backend: Backend
    if device.type == "cuda" and fast is not False:
        try:
            from fasttts_desktop.engine.synthesis.cuda import CompiledBackend

            backend = CompiledBackend(weights, device, progress=progress)
            backend.prepare(progress)
        except Exception as exc:
            if fast:
                raise EngineError(f"The compiled GPU path is unavailable: {exc}") from exc
            log.warning("compiled GPU path unavailable (%s); using eager float32", exc, exc_info=True)
            torch.cuda.empty_cache()
            notice = f"The fast GPU path could not start ({exc}); using the slower reference model."
            backend = EagerBackend(weights.state_dict, device)
            backend.prepare(progress)
            return backend, notice
        else:
            return backend, ""
    if device.type == "cpu" and fast is not False:
        from fasttts_desktop.engine.synthesis.cpu.backend import CpuBackend

        backend = CpuBackend(weights=weights)  # its stored CPU form, or the state dict, taken
    else:
        backend = EagerBackend(weights.state_dict, device)
    backend.prepare(progress)
    return backend, ""
