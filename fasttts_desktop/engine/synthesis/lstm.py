"""kokoro's bidirectional LSTMs, run over whole sequences or over a right-padded batch.

A single sentence (the CPU path) runs the LSTM as kokoro does. A padded batch (the GPU path) gives a
`Padding`: kokoro packs its sequences (`pack_padded_sequence`), which needs the lengths on the host and so
breaks CUDA graph capture. Without host lengths the lengths stay on the device instead: the backward
direction reads a right-aligned copy of each row, so both directions start at a real token and never see
padding before it, and one cuDNN call does both. Valid positions equal the packed result (up to GEMM
rounding); padded positions are zero, as `pad_packed_sequence` leaves them. Where a `kernel` is given
(the GPU's persistent Triton kernel, cuda/lstm_kernel.py), the capturable form runs as that one launch.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class Padding:
    """Where a right-padded batch [B, T] holds real steps: `lengths` [B] (long, on the batch's device),
    `mask` [B, T] bool. `host_lengths`, the same lengths on the CPU where the caller has them, lets the
    LSTMs pack the batch (half the work, but not capturable in a CUDA graph)."""

    def __init__(self, lengths: torch.Tensor, steps: int, host_lengths: torch.Tensor | None = None):
        self.lengths = lengths
        self.mask = torch.arange(steps, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)
        self.host_lengths = host_lengths

    def steps_first(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, C] with zeros where padded."""
        return x * self.mask.unsqueeze(-1).to(x.dtype)

    def channels_first(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C, T] with zeros where padded."""
        return x * self.mask.unsqueeze(1).to(x.dtype)


class StepKernel(Protocol):
    """A whole bidirectional LSTM as one capturable launch (cuda/lstm_kernel.PersistentBiLSTM)."""

    def fits(self, x: torch.Tensor) -> bool: ...

    def __call__(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor: ...


def _gather_time(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return torch.gather(x, 1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


class BiLSTM(nn.LSTM):
    """kokoro's one-layer bidirectional batch-first LSTM (same parameters, so its state-dict keys load)."""

    kernel: StepKernel | None  # set by the GPU build (cuda/lstm_kernel.use_persistent)

    def __init__(self, width_in: int, width_out: int):
        super().__init__(width_in, width_out // 2, num_layers=1, batch_first=True, bidirectional=True)
        self.kernel = None

    def run(self, x: torch.Tensor, padding: Padding | None = None) -> torch.Tensor:
        """x [B, T, C] (zero where padded) -> [B, T, 2H]."""
        if padding is None:
            return self(x)[0]
        if padding.host_lengths is not None:
            packed = pack_padded_sequence(x, padding.host_lengths, batch_first=True, enforce_sorted=False)
            y, _ = pad_packed_sequence(self(packed)[0], batch_first=True, total_length=x.shape[1])
            return y
        if self.kernel is not None and self.kernel.fits(x):
            return self.kernel(x, padding.lengths)
        batch, steps, _ = x.shape
        t = torch.arange(steps, device=x.device)
        shift = (steps - padding.lengths).unsqueeze(1)  # [B, 1]: how far each row moves to end last
        src = t.unsqueeze(0) - shift
        right = _gather_time(x, src.clamp(min=0)) * (src >= 0).unsqueeze(-1).to(x.dtype)
        y, _ = self(torch.cat([x, right], 0))
        hidden = y.shape[-1] // 2
        forward = y[:batch, :, :hidden]
        backward = _gather_time(y[batch:, :, hidden:], (t.unsqueeze(0) + shift).clamp(max=steps - 1))
        return padding.steps_first(torch.cat([forward, backward], -1))
