"""kokoro's acoustic half (F0/N predictor blocks, decoder, iSTFTNet generator) over padded frame batches.

Sentences of different lengths share one padded frame axis. Every convolution reads zeros past each row's
end (as kokoro's zero padding does), and instance norm takes its statistics over the valid frames only,
so each row's valid frames come out as if it had been run alone. That is what lets a few fixed frame
buckets (CUDA graphs, one compiled artifact with a dynamic length) serve every text length.

Convolutions run in `dtype` (float16 on the GPU, except the `fp32_parts`); norms, Snake and the style
projections in float32, the split that autocast makes for kokoro's own modules. The harmonic source
(SineGen) stays float32 and lives in source.py, outside the compiled part.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

_SQRT_HALF = 2**-0.5


class StyleTable(nn.Module):
    """All AdaIN style projections of a module tree as one GEMM: (gamma, beta) for each AdaIN1d."""

    def __init__(self, root: nn.Module):
        super().__init__()
        from kokoro.istftnet import AdaIN1d

        weights, biases, offset = [], [], 0
        for module in root.modules():
            if isinstance(module, AdaIN1d):
                channels = module.fc.out_features // 2
                module.style_slot = (offset, channels)  # an attribute: tracing may rewrap modules
                weights.append(module.fc.weight.detach().float())
                biases.append(module.fc.bias.detach().float())
                offset += 2 * channels
        self.register_buffer("weight", torch.cat(weights))
        self.register_buffer("bias", torch.cat(biases))

    def project(self, style: torch.Tensor) -> torch.Tensor:
        return F.linear(style.float(), self.weight, self.bias)

    def lookup(self, table: torch.Tensor, norm: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        offset, channels = norm.style_slot
        return (
            table[:, offset : offset + channels].unsqueeze(-1),
            table[:, offset + channels : offset + 2 * channels].unsqueeze(-1),
        )


class Level:
    """A frame resolution: float mask [B, 1, L] and 1 / valid count [B, 1, 1]."""

    def __init__(self, length: int, valid: torch.Tensor):
        self.mask = (torch.arange(length, device=valid.device).unsqueeze(0) < valid.unsqueeze(1)).unsqueeze(1)
        self.mask = self.mask.float()
        self.inv_n = (1.0 / valid.clamp(min=1).float()).view(-1, 1, 1)


def adain(x, gamma, beta, norm, level: Level):
    """kokoro's AdaIN1d (instance norm + style affine), statistics over valid frames; float32 out."""
    xf = x.float()
    mean = (xf * level.mask).sum(-1, keepdim=True) * level.inv_n
    centered = xf - mean
    var = (centered * centered * level.mask).sum(-1, keepdim=True) * level.inv_n
    y = centered * torch.rsqrt(var + norm.eps)
    if norm.weight is not None:
        y = y * norm.weight.float().unsqueeze(-1) + norm.bias.float().unsqueeze(-1)
    return (1 + gamma) * y + beta


def snake(x, alpha):
    alpha = alpha.float()
    return x + (1 / alpha) * torch.sin(alpha * x) ** 2


class _Masked(nn.Module):
    """Shared helpers: convolutions on masked input in the compute dtype, optionally as 2-D (NHWC-able)."""

    def __init__(self, dtype: torch.dtype, conv2d: bool):
        super().__init__()
        self.dtype = dtype
        self.conv2d = conv2d

    def conv(self, mod, x, level: Level | None):
        if level is not None:
            x = x * level.mask
        x = x.to(mod.weight.dtype)  # the compute dtype, or float32 for the parts kept in full precision
        if not self.conv2d:
            return mod(x)
        # the same convolution at height 1, a 2-D op that Inductor may lay out channels-last
        x2, w2 = x.unsqueeze(2), mod.weight.unsqueeze(2)
        stride, padding, dilation = (1, mod.stride[0]), (0, mod.padding[0]), (1, mod.dilation[0])
        if isinstance(mod, nn.ConvTranspose1d):
            out_pad = (0, mod.output_padding[0])
            y = F.conv_transpose2d(x2, w2, mod.bias, stride, padding, out_pad, mod.groups, dilation)
        else:
            y = F.conv2d(x2, w2, mod.bias, stride, padding, dilation, mod.groups)
        return y.squeeze(2)

    def adain_resblk(self, blk, x, table, styles: StyleTable, lin: Level, lout: Level):
        """kokoro's AdainResBlk1d (StyleTTS2 block), optionally upsampling x2."""
        h = F.leaky_relu(adain(x, *styles.lookup(table, blk.norm1), blk.norm1.norm, lin), 0.2)
        if blk.upsample_type != "none":
            h = self.conv(blk.pool, h, lin)
        h = self.conv(blk.conv1, h, lout)
        h = F.leaky_relu(adain(h, *styles.lookup(table, blk.norm2), blk.norm2.norm, lout), 0.2)
        h = self.conv(blk.conv2, h, lout)
        sc = x
        if blk.upsample_type != "none":
            sc = sc.unsqueeze(-1).expand(*sc.shape, 2).reshape(*sc.shape[:-1], 2 * sc.shape[-1])
        if blk.learned_sc:
            sc = self.conv(blk.conv1x1, sc, None)
        return (h.float() + sc.float()) * _SQRT_HALF

    def adain_resblock1(self, blk, x, table, styles: StyleTable, level: Level):
        """kokoro's AdaINResBlock1 (HiFi-GAN block with AdaIN and Snake)."""
        for c1, c2, n1, n2, a1, a2 in zip(
            blk.convs1, blk.convs2, blk.adain1, blk.adain2, blk.alpha1, blk.alpha2
        ):
            xt = snake(adain(x, *styles.lookup(table, n1), n1.norm, level), a1)
            xt = self.conv(c1, xt, level)
            xt = snake(adain(xt, *styles.lookup(table, n2), n2.norm, level), a2)
            xt = self.conv(c2, xt, level)
            x = xt + x
        return x


class ProsodyBlocks(_Masked):
    """The F0 and N branches of kokoro's ProsodyPredictor after its shared LSTM (float32 by default)."""

    def __init__(self, predictor, dtype=torch.float32, conv2d=False):
        super().__init__(dtype, conv2d)
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
                h = self.adain_resblk(blk, h, table, self.styles, lin, lout)
            outs.append(self.conv(proj, h, l2f).float().squeeze(1))
        return outs[0], outs[1]


# Parts of the generator that can stay float32 while the rest runs in `dtype` (names as in kokoro's
# Generator): "source" = noise_convs (they read the harmonic spectrum, whose phases and magnitudes
# lose most to half-precision rounding), "post" = conv_post (its output is the log-magnitude and phase
# of the final spectrum: a rounding there is a relative error in every output sample), "last" = the
# whole last upsampling stage (ups[-1], noise_res[-1] and its resblocks; most of the decoder's FLOPs).
FP32_PARTS = ("source", "post", "last")


class DecoderCore(_Masked):
    """kokoro's Decoder up to conv_post, the harmonic spectrum `har` given. Owns a copy of the weights."""

    def __init__(self, decoder, dtype=torch.bfloat16, conv2d=False, fp32_parts: tuple[str, ...] = ()):
        super().__init__(dtype, conv2d)
        unknown = set(fp32_parts) - set(FP32_PARTS)
        if unknown:
            raise ValueError(f"unknown decoder parts {sorted(unknown)}; known: {FP32_PARTS}")
        self.fp32_parts = tuple(fp32_parts)
        dec = copy.deepcopy(decoder)
        self.styles = StyleTable(dec)
        gen = dec.generator
        del gen.m_source  # the harmonic source runs outside (source.py)
        for module in list(dec.modules()):
            if hasattr(module, "fc"):
                del module.fc  # folded into the style table
        dec.to(dtype)
        keep = []
        if "source" in fp32_parts:
            keep.append(gen.noise_convs)
        if "post" in fp32_parts:
            keep.append(gen.conv_post)
        if "last" in fp32_parts:
            last = gen.num_upsamples - 1
            keep += [gen.ups[last], gen.noise_convs[last], gen.noise_res[last]]
            keep += list(gen.resblocks)[last * gen.num_kernels : (last + 1) * gen.num_kernels]
        originals = dict(decoder.named_parameters())
        names = {id(q): n for n, q in dec.named_parameters()}
        for part in keep:  # back to float32 from the original weights, not a round trip through dtype
            part.float()
            for param in part.parameters():
                param.data.copy_(originals[names[id(param)]].detach())
        self.dec = dec
        self.upsample_rates = [m.stride[0] for m in gen.ups]

    def forward(self, asr, f0_curve, n_curve, style, har, frames):
        """asr [B, 512, F], f0/n [B, 2F], style [B, 128], har [B, 22, 120F+1], frames [B] -> [B, 22, 120F+1]."""
        dec, gen = self.dec, self.dec.generator
        table = self.styles.project(style)
        length = asr.shape[-1]
        lf, l2f = Level(length, frames), Level(2 * length, 2 * frames)
        f0 = self.conv(dec.F0_conv, f0_curve.unsqueeze(1), l2f)
        n = self.conv(dec.N_conv, n_curve.unsqueeze(1), l2f)
        asr = asr.to(self.dtype)
        x = self.adain_resblk(dec.encode, torch.cat([asr, f0, n], 1), table, self.styles, lf, lf)
        asr_res = self.conv(dec.asr_res[0], asr, None)
        for blk in dec.decode:
            lout = l2f if blk.upsample_type != "none" else lf
            x = self.adain_resblk(
                blk, torch.cat([x.to(self.dtype), asr_res, f0, n], 1), table, self.styles, lf, lout
            )
        # generator, at 2F -> 20F -> 120F + 1 positions
        level, kernels = l2f, gen.num_kernels
        steps = 2 * frames
        for i, up in enumerate(gen.ups):
            steps = steps * self.upsample_rates[i]
            x = F.leaky_relu(x.float(), 0.1)
            last = i == gen.num_upsamples - 1
            lnext = Level(har.shape[-1] if last else up.stride[0] * x.shape[-1], steps + 1 if last else steps)
            x_source = self.conv(gen.noise_convs[i], har, None)
            x_source = self.adain_resblock1(gen.noise_res[i], x_source, table, self.styles, lnext)
            x = self.conv(up, x, level)
            if last:
                x = F.pad(x, (1, 0), mode="reflect")
            x = x + x_source
            xs = None
            for j in range(kernels):
                y = self.adain_resblock1(gen.resblocks[i * kernels + j], x, table, self.styles, lnext)
                xs = y if xs is None else xs + y
            x = xs / kernels
            level = lnext
        x = F.leaky_relu(x.float())
        return self.conv(gen.conv_post, x, level).float()
