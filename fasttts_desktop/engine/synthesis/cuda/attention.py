"""ALBERT's self-attention over a batch of sentences of different lengths: [B, T] tokens with a
key-padding mask through torch SDPA. Fixed shapes, so CUDA graphs capture it; the batched passes sort their
sentences by length, so little padding goes through it (a packed FlashInfer layout measured 5% slower
there: docs/benchmarks/NOTES.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

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
