"""ALBERT's self-attention over a batch of sentences of different lengths.

Two layouts:
- `PaddedAttention`: [B, T] tokens with a key-padding mask through torch SDPA. Fixed shapes, so CUDA graphs
  capture it; this is the interactive path and the fallback everywhere.
- `RaggedAttention`: the tokens of all sentences packed one after another ([N] rows, no padding) through
  FlashInfer's BatchPrefillWithRaggedKVCacheWrapper. `plan` runs once per batch (host work, ~0.2 ms) and the
  plan is reused by all 12 layers, which share their weights in ALBERT anyway. FlashInfer has no float32
  kernels, so q/k/v go through it in float16 and come back as float32.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F

log = logging.getLogger(__name__)

HEADS, HEAD_DIM = 12, 64


class PaddedAttention:
    def __init__(self, mask: torch.Tensor):
        # [B, 1, 1, T]: each query sees every real key of its own sentence
        self.key_mask = mask[:, None, None, :]

    def __call__(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """q, k, v [B, T, H, D] -> [B, T, H, D]"""
        out = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=self.key_mask
        )
        return out.transpose(1, 2)


def flashinfer_available() -> bool:
    try:
        import flashinfer  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - ImportError, or a broken CUDA/toolchain setup at import
        log.info("FlashInfer unavailable (%s): ALBERT attention uses torch SDPA", exc)
        return False
    return torch.cuda.is_available()


class RaggedAttention:
    """Packed tokens [N, H, D]; `lengths` are the host-side sentence lengths of the batch."""

    dtype = torch.float16

    def __init__(self, lengths: list[int], device: torch.device, workspace: torch.Tensor | None = None):
        import flashinfer

        indptr = torch.zeros(len(lengths) + 1, dtype=torch.int32)
        indptr[1:] = torch.cumsum(torch.tensor(lengths, dtype=torch.int32), 0)
        if workspace is None:
            workspace = torch.empty(128 * 1024 * 1024, dtype=torch.uint8, device=device)
        self.wrapper = flashinfer.BatchPrefillWithRaggedKVCacheWrapper(workspace, "NHD")
        self.wrapper.plan(
            indptr.to(device),
            indptr.to(device),
            HEADS,
            HEADS,
            HEAD_DIM,
            causal=False,
            q_data_type=self.dtype,
            kv_data_type=self.dtype,
        )

    def __call__(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        dt = q.dtype
        out = self.wrapper.run(q.to(self.dtype), k.to(self.dtype), v.to(self.dtype))
        return out.to(dt)


class PackedSDPA:
    """The ragged layout without FlashInfer: SDPA per sentence (CPU, tests, and GPUs without its JIT)."""

    def __init__(self, lengths: list[int]):
        self.lengths = lengths

    def __call__(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        outs = []
        parts = zip(q.split(self.lengths), k.split(self.lengths), v.split(self.lengths), strict=True)
        for qs, ks, vs in parts:
            o = F.scaled_dot_product_attention(qs.transpose(0, 1), ks.transpose(0, 1), vs.transpose(0, 1))
            outs.append(o.transpose(0, 1))
        return torch.cat(outs)
