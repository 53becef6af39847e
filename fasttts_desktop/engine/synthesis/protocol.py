"""The seam between the engine's text/voice logic and the code that runs the model.

A backend turns token ids + a style vector into audio and per-token durations. synthesis/eager.py is
kokoro's own KModel (the reference); synthesis/cuda/ holds the compiled GPU backend with the same contract.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from fasttts_desktop.engine.types import Progress


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
    # the first chunk's phoneme budget (the packer may stretch it to end at a clause): small where the
    # first sound would otherwise come late (the CPU), 60 elsewhere
    first_chunk_phonemes: int

    def prepare(self, progress: Progress | None = None) -> None:
        """Do slow one-time work (compilation, warm-up) before the first request."""

    def infer(self, request: Request, cancel: Callable[[], bool] | None = None) -> Result:
        """One chunk. `cancel` may be polled during the work; once it returns True the backend may raise
        Cancelled instead of finishing (the CPU backend does: its chunks take seconds)."""

    def infer_batch(self, requests: list[Request]) -> list[Result]:
        """Several chunks in one call where the backend batches (the GPU); in order."""

    @property
    def export_batch(self) -> int:
        """Chunks per `infer_batch` call worth making when saving audio (1: batching gains nothing)."""
