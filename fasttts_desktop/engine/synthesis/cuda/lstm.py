"""A bidirectional LSTM over right-padded batches that CUDA graphs can capture.

kokoro packs its sequences (`pack_padded_sequence`), which needs the lengths on the host and so breaks
graph capture. Here the lengths stay on the device: the backward direction reads a right-aligned copy of
each row, so both directions start at a real token and never see padding before it, and one cuDNN call
does both. A `BiLSTM` given lstm_kernel's persistent kernel (`use_persistent`) runs that in the capturable
form instead (same results; one launch for the whole sequence). Valid positions equal the packed result (up to
GEMM rounding); padded positions are zero, as `pad_packed_sequence` leaves them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

if TYPE_CHECKING:  # the kernel module imports Triton, only where it is used
    from fasttts_desktop.engine.synthesis.cuda.lstm_kernel import PersistentBiLSTM


def _gather_time(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return torch.gather(x, 1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def bilstm(
    lstm: torch.nn.LSTM,
    x: torch.Tensor,
    lengths: torch.Tensor,
    mask: torch.Tensor,
    host_lengths: torch.Tensor | None = None,
    persistent: PersistentBiLSTM | None = None,
) -> torch.Tensor:
    """x [B, T, C] (zero where padded), lengths [B] (device, long), mask [B, T] bool -> [B, T, 2H].

    With `host_lengths` (CPU, the same values) the batch is packed as kokoro packs it: half the work
    (each direction runs once per row, not over a right-aligned copy too) and no padded steps, but not
    capturable in a CUDA graph. The batched path knows its lengths on the host anyway. `persistent`: the
    same LSTM as one Triton kernel, taken in the capturable form where it fits.
    """
    if host_lengths is None and persistent is not None and persistent.fits(x):
        return persistent(x, lengths)
    if host_lengths is not None:
        packed = pack_padded_sequence(x, host_lengths, batch_first=True, enforce_sorted=False)
        y, _ = pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=x.shape[1])
        return y
    batch, steps, _ = x.shape
    t = torch.arange(steps, device=x.device)
    shift = (steps - lengths).unsqueeze(1)  # [B, 1]: how far each row moves to end at the last step
    src = t.unsqueeze(0) - shift
    right = _gather_time(x, src.clamp(min=0)) * (src >= 0).unsqueeze(-1).to(x.dtype)
    y, _ = lstm(torch.cat([x, right], 0))
    hidden = y.shape[-1] // 2
    forward = y[:batch, :, :hidden]
    backward = _gather_time(y[batch:, :, hidden:], (t.unsqueeze(0) + shift).clamp(max=steps - 1))
    return torch.cat([forward, backward], -1) * mask.unsqueeze(-1).to(y.dtype)


class BiLSTM(torch.nn.Module):
    """One of kokoro's bidirectional LSTMs (shared, not copied) run by `bilstm`, with its persistent kernel
    once `use_persistent` gave it one."""

    kernel: PersistentBiLSTM | None

    def __init__(self, lstm: torch.nn.LSTM):
        super().__init__()
        self.lstm = lstm
        self.kernel = None

    def forward(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor,
        mask: torch.Tensor,
        host_lengths: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return bilstm(self.lstm, x, lengths, mask, host_lengths, self.kernel)


def use_persistent(model: torch.nn.Module) -> int:
    """Give each BiLSTM under `model` the persistent kernel for its capturable form (graphs); returns how
    many. Without Triton nothing changes."""
    from fasttts_desktop.engine.synthesis.cuda import lstm_kernel

    if not lstm_kernel.available():
        return 0
    count = 0
    for module in model.modules():
        if isinstance(module, BiLSTM):
            device = module.lstm.get_parameter("weight_hh_l0").device  # by name: not in nn.LSTM's stubs
            module.kernel = lstm_kernel.PersistentBiLSTM(module.lstm).to(device)
            count += 1
    return count
