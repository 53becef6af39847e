"""kokoro's AdaIN style projections, folded once for both run paths (CPU and CUDA).

kokoro's AdaIN1d is an instance norm whose scale and shift come from the style vector through a Linear of
its own: ~70 small projections per chunk in the decoder and pitch/energy blocks. `StyleTable` swaps every
AdaIN1d under a module tree for a `StyledNorm` (the same instance norm, and where its (gamma, beta) sit) and
makes all the projections one GEMM per chunk. A module swap done once after the build, so the forward
functions read plain fields, never look modules up by shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from fasttts_desktop.engine.synthesis.kokoro_parts import istftnet

if TYPE_CHECKING:  # blocks.py imports this module
    from fasttts_desktop.engine.synthesis.blocks import Level


def per_channel(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A per-channel vector ([C], [B, C] or kokoro's [1, C, 1]) shaped to broadcast over `like`
    [B, C, ...]."""
    lead = v.shape[0] if v.dim() == 2 else 1
    if v.dim() == 1:
        return v.view(-1, *([1] * (like.dim() - 2)))
    return v.reshape(lead, -1, *([1] * (like.dim() - 2)))


class StyledNorm(nn.Module):
    """kokoro's AdaIN1d after the swap: its instance norm, and its slice of the StyleTable's output."""

    def __init__(self, norm: nn.InstanceNorm1d, offset: int, channels: int):
        super().__init__()
        self.norm = norm
        self.offset, self.channels = offset, channels

    def gamma_beta(self, table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The style scale and shift of this norm from the table rows [B, total] -> each [B, C]."""
        o, c = self.offset, self.channels
        return table[:, o : o + c], table[:, o + c : o + 2 * c]

    def folded(self, table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch 1: the norm's affine and the style's as one (weight, bias) [C] for F.instance_norm."""
        gamma, beta = (t.squeeze(0) for t in self.gamma_beta(table))
        norm = self.norm
        w = norm.weight if norm.weight is not None else torch.ones_like(gamma)
        b = norm.bias if norm.bias is not None else torch.zeros_like(gamma)
        return (1 + gamma) * w, (1 + gamma) * b + beta

    def forward(self, x: torch.Tensor, table: torch.Tensor, level: Level | None = None) -> torch.Tensor:
        """kokoro's AdaIN1d of x [B, C, L] (or CUDA's [B, C, 1, L]).

        Batch 1 (`level` None): one instance norm with the folded affine, in x's precision. A padded batch:
        statistics over each row's valid frames (`level`), in float32."""
        if level is None:
            w, b = self.folded(table)
            return F.instance_norm(x, weight=w.to(x.dtype), bias=b.to(x.dtype), eps=self.norm.eps)
        gamma, beta = (per_channel(t, x) for t in self.gamma_beta(table))
        norm = self.norm
        xf = x.float()
        mean = (xf * level.mask).sum(-1, keepdim=True) * level.inv_n
        centered = xf - mean
        var = (centered * centered * level.mask).sum(-1, keepdim=True) * level.inv_n
        y = centered * torch.rsqrt(var + norm.eps)
        if norm.weight is not None and norm.bias is not None:  # affine norms have both
            y = y * per_channel(norm.weight.float(), y) + per_channel(norm.bias.float(), y)
        return (1 + gamma) * y + beta


class StyleTable(nn.Module):
    """All AdaIN style projections under `root` as one GEMM; swaps each AdaIN1d there for a StyledNorm."""

    # buffers (register_buffer): declared so the type checker sees tensors, not Module.__getattr__'s union
    weight: torch.Tensor
    bias: torch.Tensor

    def __init__(self, root: nn.Module):
        super().__init__()
        adain = istftnet().AdaIN1d
        self.norms: list[StyledNorm] = []  # the swapped-in modules, which their parents hold
        weights, biases, offset = [], [], 0
        for parent in list(root.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, adain):
                    fc = child.fc
                    channels = fc.out_features // 2
                    weights.append(fc.weight.detach().float())
                    biases.append(fc.bias.detach().float())
                    styled = StyledNorm(child.norm, offset, channels)
                    setattr(parent, name, styled)
                    self.norms.append(styled)
                    offset += 2 * channels
        self.register_buffer("weight", torch.cat(weights))
        self.register_buffer("bias", torch.cat(biases))

    def project(self, style: torch.Tensor) -> torch.Tensor:
        """style [B, 128] -> every StyledNorm's (gamma, beta), side by side [B, total]."""
        return F.linear(style.float(), self.weight, self.bias)
