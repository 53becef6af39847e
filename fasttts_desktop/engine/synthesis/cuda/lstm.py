"""A bidirectional LSTM over right-padded batches that CUDA graphs can capture.

kokoro packs its sequences (`pack_padded_sequence`), which needs the lengths on the host and so breaks
graph capture. Here the lengths stay on the device: the backward direction reads a right-aligned copy of
each row, so both directions start at a real token and never see padding before it, and one cuDNN call
does both. Where `use_persistent` marked an LSTM, the capturable form runs lstm_kernel's persistent kernel
instead (same results; one launch for the whole sequence). Valid positions equal the packed result (up to
GEMM rounding); padded positions are zero, as `pad_packed_sequence` leaves them.
"""

from __future__ import annotations

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def _gather_time(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return torch.gather(x, 1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def bilstm(
    lstm: torch.nn.LSTM,
    x: torch.Tensor,
    lengths: torch.Tensor,
    mask: torch.Tensor,
    host_lengths: torch.Tensor | None = None,
) -> torch.Tensor:
    """x [B, T, C] (zero where padded), lengths [B] (device, long), mask [B, T] bool -> [B, T, 2H].

    With `host_lengths` (CPU, the same values) the batch is packed as kokoro packs it: half the work
    (each direction runs once per row, not over a right-aligned copy too) and no padded steps, but not
    capturable in a CUDA graph. The batched path knows its lengths on the host anyway.
    """
    persistent = getattr(lstm, "fasttts_persistent", None)
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


def use_persistent(model: torch.nn.Module) -> int:
    """Run the model's bidirectional LSTMs through the persistent kernel in the capturable form (graphs).

    Marks each LSTM with its wrapper (an attribute, as kokoro's modules are shared); returns how many.
    Without Triton nothing changes."""
    from fasttts_desktop.engine.synthesis.cuda import lstm_kernel

    if not lstm_kernel.available():
        return 0
    count = 0
    for module in model.modules():
        if isinstance(module, torch.nn.LSTM) and module.bidirectional:
            device = module.get_parameter("weight_hh_l0").device  # set by name: not in nn.LSTM's stubs
            module.fasttts_persistent = lstm_kernel.PersistentBiLSTM(module).to(device)
            count += 1
    return count
