"""kokoro's acoustic half (F0/N predictor blocks, decoder, iSTFTNet generator) over padded frame batches.

Sentences of different lengths share one padded frame axis. Every convolution reads zeros past each row's
end (as kokoro's zero padding does), and instance norm takes its statistics over the valid frames only,
so each row's valid frames come out as if it had been run alone. That is what lets a few fixed frame
buckets (CUDA graphs, one compiled artifact with a dynamic length) serve every text length.

Convolutions run in `dtype` (float16 on the GPU, except the `fp32_parts`); norms, Snake and the style
projections in float32, the split that autocast makes for kokoro's own modules. The harmonic source
(SineGen) stays float32 and lives in source.py, outside the compiled part.

Layout: kokoro's decoder is 1-D ([B, C, L]); cuDNN runs its fp16 convolutions with NHWC kernels and
transposes every input and output around them (18% of a batched pass's GPU time on the H200). With
`channels_last` the decoder holds every activation as [B, C, 1, L] in channels-last memory ([B, L, C] in
memory) and its convolutions as the same 2-D convolutions at height 1, so cuDNN reads and writes that
layout directly and the norms, Snake and residual math (fused by Inductor) run over it too.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from fasttts_desktop.engine.synthesis.styles import StyledNorm, StyleTable, per_channel

_SQRT_HALF = 2**-0.5


class Level:
    """A frame resolution: float mask [B, 1, L] (or [B, 1, 1, L]) and 1 / valid count, shaped alike."""

    def __init__(self, length: int, valid: torch.Tensor, ndim: int = 3):
        mask = torch.arange(length, device=valid.device).unsqueeze(0) < valid.unsqueeze(1)
        lead = [1] * (ndim - 2)
        self.mask = mask.float().view(-1, *lead, length)
        self.inv_n = (1.0 / valid.clamp(min=1).float()).view(-1, *lead, 1)


def adain(x: torch.Tensor, styled: StyledNorm, table: torch.Tensor, level: Level) -> torch.Tensor:
    """kokoro's AdaIN1d (instance norm + style affine), statistics over valid frames; float32 out."""
    gamma, beta = (per_channel(t, x) for t in styled.gamma_beta(table))
    norm = styled.norm
    xf = x.float()
    mean = (xf * level.mask).sum(-1, keepdim=True) * level.inv_n
    centered = xf - mean
    var = (centered * centered * level.mask).sum(-1, keepdim=True) * level.inv_n
    y = centered * torch.rsqrt(var + norm.eps)
    if norm.weight is not None and norm.bias is not None:  # affine norms have both
        y = y * per_channel(norm.weight.float(), y) + per_channel(norm.bias.float(), y)
    return (1 + gamma) * y + beta


def snake(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    alpha = per_channel(alpha.float(), x)
    return x + (1 / alpha) * torch.sin(alpha * x) ** 2


def _conv2d_like(mod: nn.Conv1d | nn.ConvTranspose1d) -> nn.Conv2d | nn.ConvTranspose2d:
    """The same 1-D convolution as a 2-D one at height 1, channels-last, sharing nothing with `mod`."""
    weight = mod.weight.detach().unsqueeze(2)
    padding = mod.padding[0]
    if not isinstance(padding, int):  # "same"/"valid": kokoro's convolutions give numbers
        raise TypeError(f"padding {mod.padding!r}: only numeric padding converts to 2-D")
    shape: dict[str, Any] = {
        "stride": (1, mod.stride[0]),
        "padding": (0, padding),
        "dilation": (1, mod.dilation[0]),
        "groups": mod.groups,
        "bias": mod.bias is not None,
        "device": weight.device,
        "dtype": weight.dtype,
    }
    size = (mod.in_channels, mod.out_channels, (1, mod.kernel_size[0]))
    conv: nn.Conv2d | nn.ConvTranspose2d
    if isinstance(mod, nn.ConvTranspose1d):
        conv = nn.ConvTranspose2d(*size, output_padding=(0, mod.output_padding[0]), **shape)
    else:
        as_1d = (mod.in_channels, mod.kernel_size[0]) in B1_AS_1D
        conv = (BatchOneAs1d if as_1d else nn.Conv2d)(*size, **shape)
    with torch.no_grad():
        conv.weight.copy_(weight)
        if mod.bias is not None and conv.bias is not None:
            conv.bias.copy_(mod.bias.detach())
    # Module.to takes memory_format (documented), which torch's stubs leave out of its overloads
    conv = conv.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    if isinstance(conv, BatchOneAs1d):
        conv.make_twin()
    return conv


class BatchOneAs1d(nn.Conv2d):
    """A height-1 channels-last convolution that runs as a 1-D one at batch 1 (see B1_AS_1D), from a
    contiguous 1-D copy of its weight (`make_twin`, once its weight is final)."""

    weight_1d: torch.Tensor  # a buffer (register_buffer), declared for the type checker

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.register_buffer("weight_1d", torch.empty(0))

    def make_twin(self) -> None:
        self.weight_1d = self.weight.detach().squeeze(2).contiguous()


def _to_2d(root: nn.Module) -> None:
    """Replace every Conv1d/ConvTranspose1d under `root` by its height-1 2-D twin (channels-last); the
    convolutions listed in B1_AS_1D become BatchOneAs1d."""
    for name, child in list(root.named_children()):
        if isinstance(child, (nn.Conv1d, nn.ConvTranspose1d)):
            setattr(root, name, _conv2d_like(child))
        else:
            _to_2d(child)


class _Masked(nn.Module):
    """Shared helpers: convolutions on masked input in the compute dtype; 1-D or channels-last 2-D."""

    def __init__(self, dtype: torch.dtype, channels_last: bool = False):
        super().__init__()
        self.dtype = dtype
        self.channels_last = channels_last
        self.ndim = 4 if channels_last else 3

    def level(self, length: int, valid: torch.Tensor) -> Level:
        return Level(length, valid, self.ndim)

    def enter(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, L] from outside -> this module's layout."""
        if not self.channels_last:
            return x
        return x.unsqueeze(2).contiguous(memory_format=torch.channels_last)

    def leave(self, x: torch.Tensor) -> torch.Tensor:
        """The module's layout -> [B, C, L] contiguous."""
        return x.squeeze(2).contiguous() if self.channels_last else x

    def conv(self, mod, x, level: Level | None):
        if level is not None:
            x = x * level.mask
        x = x.to(mod.weight.dtype)  # the compute dtype, or float32 for the parts kept in full precision
        if isinstance(mod, BatchOneAs1d) and x.shape[0] == 1:  # see B1_AS_1D
            y = F.conv1d(
                x.squeeze(2).contiguous(),
                mod.weight_1d,
                mod.bias,
                mod.stride[1],
                mod.padding[1],
                mod.dilation[1],
                mod.groups,
            )
            return self.enter(y)
        return mod(x)

    def upsample2(self, x: torch.Tensor) -> torch.Tensor:
        """kokoro's nearest x2 upsampling along the frames."""
        if self.channels_last:
            return F.interpolate(x, scale_factor=(1, 2), mode="nearest")
        return x.unsqueeze(-1).expand(*x.shape, 2).reshape(*x.shape[:-1], 2 * x.shape[-1])

    def adain_resblk(self, blk, x, table, lin: Level, lout: Level):
        """kokoro's AdainResBlk1d (StyleTTS2 block), optionally upsampling x2."""
        h = F.leaky_relu(adain(x, blk.norm1, table, lin), 0.2)
        if blk.upsample_type != "none":
            h = self.conv(blk.pool, h, lin)
        h = self.conv(blk.conv1, h, lout)
        h = F.leaky_relu(adain(h, blk.norm2, table, lout), 0.2)
        h = self.conv(blk.conv2, h, lout)
        sc = x
        if blk.upsample_type != "none":
            sc = self.upsample2(sc)
        if blk.learned_sc:
            sc = self.conv(blk.conv1x1, sc, None)
        return (h.float() + sc.float()) * _SQRT_HALF

    def adain_resblock1(self, blk, x, table, level: Level):
        """kokoro's AdaINResBlock1 (HiFi-GAN block with AdaIN and Snake)."""
        for c1, c2, n1, n2, a1, a2 in zip(
            blk.convs1, blk.convs2, blk.adain1, blk.adain2, blk.alpha1, blk.alpha2, strict=True
        ):
            xt = snake(adain(x, n1, table, level), a1)
            xt = self.conv(c1, xt, level)
            xt = snake(adain(xt, n2, table, level), a2)
            xt = self.conv(c2, xt, level)
            x = xt + x
        return x


class ProsodyBlocks(_Masked):
    """The F0 and N branches of kokoro's ProsodyPredictor after its shared LSTM (float32 by default)."""

    def __init__(self, predictor, dtype=torch.float32):
        super().__init__(dtype)
        self.F0, self.N = predictor.F0, predictor.N
        self.F0_proj, self.N_proj = predictor.F0_proj, predictor.N_proj
        self.styles = StyleTable(nn.ModuleList([self.F0, self.N]))

    def forward(self, x, style, frames):
        """x [B, 512, F] (shared LSTM output, zero past `frames`), style [B, 128] -> F0, N [B, 2F]."""
        table = self.styles.project(style)
        lf, l2f = Level(x.shape[-1], frames), Level(2 * x.shape[-1], 2 * frames)
        outs = []
        for blocks, proj in ((self.F0, self.F0_proj), (self.N, self.N_proj)):
            h = x
            for blk in blocks:
                lin = lf if h.shape[-1] == x.shape[-1] else l2f
                lout = l2f if blk.upsample_type != "none" else lin
                h = self.adain_resblk(blk, h, table, lin, lout)
            outs.append(self.conv(proj, h, l2f).float().squeeze(1))
        return outs[0], outs[1]


# Parts of the generator that can stay float32 while the rest runs in `dtype` (names as in kokoro's
# Generator): "source" = noise_convs (they read the harmonic spectrum, whose phases and magnitudes
# lose most to half-precision rounding), "post" = conv_post (its output is the log-magnitude and phase
# of the final spectrum: a rounding there is a relative error in every output sample). A third part,
# the whole last upsampling stage, measured no closer (0.0098 vs 0.0100 log-mel; NOTES.md): removed.
FP32_PARTS = ("source", "post")


# Channels-last convolutions that run 1-D at batch 1: (channels, kernel width). cuDNN's heuristics pick a
# direct kernel for the 256-channel, width-7 (dilated) convolutions of the first generator stage in
# channels-last at batch 1; on a 1,152-frame chunk their 12 calls took 86.3 ms, against 2.15 ms for the same
# convolutions in 1-D layout (probe_layouts, H200; cudnn.benchmark picked the same kernel). Batched passes
# keep them channels-last (fast there). The 1-D twin needs its own contiguous weight: a squeezed view of the
# channels-last weight is still channels-last to PyTorch, which then runs the 1-D convolution as the same
# NHWC kernel (why the first version of this, on views, measured no faster: 70fe279).
B1_AS_1D = ((256, 7),)


class DecoderCore(_Masked):
    """kokoro's Decoder up to conv_post, the harmonic spectrum `har` given. Owns a copy of the weights."""

    def __init__(
        self, decoder, dtype=torch.bfloat16, fp32_parts: tuple[str, ...] = (), channels_last: bool = False
    ):
        super().__init__(dtype, channels_last)
        unknown = set(fp32_parts) - set(FP32_PARTS)
        if unknown:
            raise ValueError(f"unknown decoder parts {sorted(unknown)}; known: {FP32_PARTS}")
        self.fp32_parts = tuple(fp32_parts)
        dec = copy.deepcopy(decoder)
        self.styles = StyleTable(dec)
        gen = dec.generator
        del gen.m_source  # the harmonic source runs outside (source.py)
        dec.to(dtype)
        keep = []
        if "source" in fp32_parts:
            keep.append(gen.noise_convs)
        if "post" in fp32_parts:
            keep.append(gen.conv_post)
        originals = dict(decoder.named_parameters())
        names = {id(q): n for n, q in dec.named_parameters()}
        for part in keep:  # back to float32 from the original weights, not a round trip through dtype
            part.float()
            for param in part.parameters():
                param.data.copy_(originals[names[id(param)]].detach())
        self.upsample_rates = [m.stride[0] for m in gen.ups]
        if channels_last:
            _to_2d(dec)
        self.dec = dec

    def forward(self, asr, f0_curve, n_curve, style, har, frames):
        """asr [B, 512, F], f0/n [B, 2F], style [B, 128], har [B, 22, 120F+1], frames [B]
        -> [B, 22, 120F+1]."""
        dec, gen = self.dec, self.dec.generator
        table = self.styles.project(style)
        length = asr.shape[-1]
        lf, l2f = self.level(length, frames), self.level(2 * length, 2 * frames)
        f0 = self.conv(dec.F0_conv, self.enter(f0_curve.unsqueeze(1)), l2f)
        n = self.conv(dec.N_conv, self.enter(n_curve.unsqueeze(1)), l2f)
        asr = self.enter(asr.to(self.dtype))
        har = self.enter(har)
        x = self.adain_resblk(dec.encode, torch.cat([asr, f0, n], 1), table, lf, lf)
        asr_res = self.conv(dec.asr_res[0], asr, None)
        for blk in dec.decode:
            lout = l2f if blk.upsample_type != "none" else lf
            x = self.adain_resblk(blk, torch.cat([x.to(self.dtype), asr_res, f0, n], 1), table, lf, lout)
        # generator, at 2F -> 20F -> 120F + 1 positions
        level, kernels = l2f, gen.num_kernels
        steps = 2 * frames
        for i, up in enumerate(gen.ups):
            steps = steps * self.upsample_rates[i]
            x = F.leaky_relu(x.float(), 0.1)
            last = i == gen.num_upsamples - 1
            lnext = self.level(
                har.shape[-1] if last else self.upsample_rates[i] * x.shape[-1], steps + 1 if last else steps
            )
            x_source = self.conv(gen.noise_convs[i], har, None)
            x_source = self.adain_resblock1(gen.noise_res[i], x_source, table, lnext)
            x = self.conv(up, x, level)
            if last:  # kokoro's ReflectionPad1d((1, 0)); the 2-D form pads only the frame axis too
                x = F.pad(x, (1, 0) if x.dim() == 3 else (1, 0, 0, 0), mode="reflect")
            x = x + x_source
            xs = None
            for j in range(kernels):
                y = self.adain_resblock1(gen.resblocks[i * kernels + j], x, table, lnext)
                xs = y if xs is None else xs + y
            x = xs / kernels
            level = lnext
        x = F.leaky_relu(x.float())
        return self.leave(self.conv(gen.conv_post, x, level).float())


def example_inputs(device, batch: int = 2, frames: int = 48, random: bool = True):
    """Decoder inputs of a given size (random: realistic magnitudes; else uninitialised, for guard checks)."""
    g = torch.Generator(device="cpu").manual_seed(0)

    def rnd(*shape, scale=1.0):
        if not random:
            return torch.empty(*shape, device=device)
        return (torch.randn(*shape, generator=g) * scale).to(device)

    return (
        rnd(batch, 512, frames),
        rnd(batch, 2 * frames, scale=100.0).abs(),
        rnd(batch, 2 * frames),
        rnd(batch, 128, scale=0.3),
        rnd(batch, 22, 120 * frames + 1),
        torch.tensor([frames] + [frames - 7] * (batch - 1), device=device),
    )
