"""kokoro's two residual blocks as modules of our own, shared by the prosody predictor and the decoder.

`StyledResBlock` is kokoro's AdainResBlk1d (the StyleTTS2 block of the pitch/energy branches and the
decoder), `SnakeResBlock` its AdaINResBlock1 (the HiFi-GAN block of the vocoder, with Snake). Same
submodules, names, registration order and random initialisation as kokoro's (istftnet.py), so its
state-dict keys load unchanged and a seeded random build gives the same weights. Their AdaIN1d leaves are
kokoro's own until `StyleTable` (styles.py) swaps them for StyledNorms; the forwards take that table's rows.

One forward for both backends. Without `Level`s (batch 1, the CPU) a block is kokoro's; with them (CUDA's
padded batches) every convolution reads zeros past each row's end and every norm takes its statistics over
the valid frames only, so each row comes out as if run alone. Layout follows the input: [B, C, L], or
[B, C, 1, L] where CUDA swapped the convolutions for channels-last 2-D ones (cuda/decoder.py).

Precision follows the weights: a convolution runs in its weight's dtype (the backend converts weights once,
at build time). At batch 1 a SnakeResBlock's norms and Snake run in the dtype of the convolution they feed,
so a bfloat16 CPU vocoder stays bfloat16 between its two convolutions (measured 0.88x the time of float32
norms there; log-mel distance to float32 0.03, a third of what another noise seed moves kokoro's own
output); masked norms sum over thousands of padded frames and so always run in float32. StyledResBlock's
norms, the residual sums and everything outside the blocks stay float32.
"""

from __future__ import annotations

import warnings
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from fasttts_desktop.engine.synthesis.kokoro_parts import istftnet
from fasttts_desktop.engine.synthesis.styles import per_channel

_SQRT_HALF = 2**-0.5

M = TypeVar("M", bound=nn.Module)


def weight_normed(module: M) -> M:
    """kokoro's old-style weight norm (weight_g / weight_v keys), without its deprecation warning.

    Called through this module's name (`blocks.weight_normed`), so that model_build can build with
    weight norm already folded by swapping this one function."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return nn.utils.weight_norm(module)


class Level:
    """A frame resolution of a padded batch: float mask [B, 1, L] (or [B, 1, 1, L]) and 1 / valid count."""

    def __init__(self, length: int, valid: torch.Tensor, ndim: int = 3):
        mask = torch.arange(length, device=valid.device).unsqueeze(0) < valid.unsqueeze(1)
        lead = [1] * (ndim - 2)
        self.mask = mask.float().view(-1, *lead, length)
        self.inv_n = (1.0 / valid.clamp(min=1).float()).view(-1, *lead, 1)


def conv(module: nn.Module, x: torch.Tensor, level: Level | None = None) -> torch.Tensor:
    """A convolution on x, zero past each row's end (`level`), in its weights' precision; callers convert
    the result where they need float32."""
    if level is not None:
        x = x * level.mask
    weight = module.weight
    if not isinstance(weight, torch.Tensor):  # narrows Module.__getattr__'s union for the type checker
        raise TypeError(f"{type(module).__name__} is no convolution")
    return module(x.to(weight.dtype))


def snake(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """x + sin(alpha x)^2 / alpha in x's precision, in three passes (kokoro's Snake1D); alpha [1, C, 1]."""
    a = per_channel(alpha.to(x.dtype), x)
    inv = per_channel(alpha.float().reciprocal().to(x.dtype), x)  # from float32: alpha may be stored in fp16
    s = torch.sin(x * a)
    return torch.addcmul(x, s.mul_(s), inv)


def upsample2(x: torch.Tensor) -> torch.Tensor:
    """kokoro's nearest x2 upsampling along the frames (the last axis), 1-D or height-1 2-D."""
    return F.interpolate(x, scale_factor=2 if x.dim() == 3 else (1, 2), mode="nearest")


class StyledResBlock(nn.Module):
    """kokoro's AdainResBlk1d: two styled norms and convolutions, optionally upsampling x2."""

    def __init__(self, dim_in: int, dim_out: int, style_dim: int, *, upsample: bool = False):
        super().__init__()
        adain = istftnet().AdaIN1d
        # CUDA's decoder reads kokoro's name and values ("none" or not) for this
        self.upsample_type = "nearest" if upsample else "none"
        self.learned_sc = dim_in != dim_out
        self.conv1 = weight_normed(nn.Conv1d(dim_in, dim_out, 3, 1, 1))
        self.conv2 = weight_normed(nn.Conv1d(dim_out, dim_out, 3, 1, 1))
        self.norm1: nn.Module = adain(style_dim, dim_in)
        self.norm2: nn.Module = adain(style_dim, dim_out)
        if self.learned_sc:
            self.conv1x1 = weight_normed(nn.Conv1d(dim_in, dim_out, 1, 1, 0, bias=False))
        self.pool: nn.ConvTranspose1d | None = None  # kokoro's Identity here holds no weights either
        if upsample:  # depthwise transposed convolution, as kokoro's
            self.pool = weight_normed(
                nn.ConvTranspose1d(dim_in, dim_in, 3, stride=2, groups=dim_in, padding=1, output_padding=1)
            )

    def forward(
        self, x: torch.Tensor, table: torch.Tensor, lin: Level | None = None, lout: Level | None = None
    ) -> torch.Tensor:
        """x [B, C_in, L], the StyleTable's rows; `lin`/`lout` the input's and output's Levels in a padded
        batch -> [B, C_out, L or 2L] float32."""
        h = F.leaky_relu(self.norm1(x, table, lin), 0.2)
        if self.pool is not None:
            h = conv(self.pool, h, lin)
        h = F.leaky_relu(self.norm2(conv(self.conv1, h, lout).float(), table, lout), 0.2)
        h = conv(self.conv2, h, lout)
        sc = upsample2(x) if self.pool is not None else x
        if self.learned_sc:
            sc = conv(self.conv1x1, sc)
        return (h.float() + sc.float()) * _SQRT_HALF


class SnakeResBlock(nn.Module):
    """kokoro's AdaINResBlock1: three dilated steps of norm, Snake, conv, norm, Snake, conv, residual."""

    def __init__(self, channels: int, kernel_size: int, dilation: tuple[int, ...], style_dim: int):
        super().__init__()
        parts = istftnet()

        def convs(dilations: tuple[int, ...]) -> nn.ModuleList:
            out = nn.ModuleList(
                weight_normed(
                    nn.Conv1d(
                        channels, channels, kernel_size, 1, dilation=d, padding=d * (kernel_size - 1) // 2
                    )
                )
                for d in dilations
            )
            out.apply(parts.init_weights)  # kokoro's initialisation: same random weights from a seed
            return out

        self.convs1 = convs(dilation)
        self.convs2 = convs((1,) * len(dilation))
        self.adain1 = nn.ModuleList(parts.AdaIN1d(style_dim, channels) for _ in dilation)
        self.adain2 = nn.ModuleList(parts.AdaIN1d(style_dim, channels) for _ in dilation)
        self.alpha1 = nn.ParameterList(nn.Parameter(torch.ones(1, channels, 1)) for _ in dilation)
        self.alpha2 = nn.ParameterList(nn.Parameter(torch.ones(1, channels, 1)) for _ in dilation)

    def forward(self, x: torch.Tensor, table: torch.Tensor, level: Level | None = None) -> torch.Tensor:
        """x [B, C, L] float32 (left unchanged: the caller reads it again), the StyleTable's rows, `level`
        in a padded batch -> [B, C, L] float32."""
        steps = zip(self.convs1, self.convs2, self.adain1, self.adain2, self.alpha1, self.alpha2, strict=True)
        for k, (c1, c2, n1, n2, a1, a2) in enumerate(steps):
            xt = x if level is not None else x.to(c1.weight.dtype)  # batch 1: norms in the convs' dtype
            xt = conv(c1, snake(n1(xt, table, level), a1), level)
            xt = conv(c2, snake(n2(xt, table, level), a2), level)
            # the caller's x is read by the next block too; after the first step the sum is our own
            x = x + xt if k == 0 else x.add_(xt)
        return x
