"""The model's acoustic half (engine/synthesis: prosody.py's F0/N blocks, decoder.py) wrapped for padded
frame batches on the GPU: these wrappers hold no forward of their own beyond layout and frame masks.

Sentences of different lengths share one padded frame axis. The modules' forwards, given a `Level` per
frame resolution, read zeros past each row's end in every convolution (as kokoro's zero padding does) and
take instance-norm statistics over the valid frames only, so each row's valid frames come out as if it had
been run alone. That is what lets a few fixed frame buckets (CUDA graphs, one compiled artifact with a
dynamic length) serve every text length.

Convolutions run in `dtype` (float16 on the GPU, except the `fp32_parts`): the wrapper converts a copy of
the decoder's weights once. Norms, Snake and the style projections run in float32. The harmonic source
(SineGen) stays float32 and lives in source.py, outside the compiled part.

Layout: kokoro's decoder is 1-D ([B, C, L]); cuDNN runs its fp16 convolutions with NHWC kernels and
transposes every input and output around them (18% of a batched pass's GPU time on the H200). With
`channels_last` the decoder holds every activation as [B, C, 1, L] in channels-last memory ([B, L, C] in
memory) and its convolutions as the same 2-D convolutions at height 1, so cuDNN reads and writes that
layout directly and the norms, Snake and residual math (fused by Inductor) run over it too.
"""

from __future__ import annotations

import copy
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from fasttts_desktop.engine.synthesis.blocks import Level
from fasttts_desktop.engine.synthesis.decoder import Decoder
from fasttts_desktop.engine.synthesis.prosody import ProsodyPredictor


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] != 1:
            return super().forward(x)
        y = F.conv1d(
            x.squeeze(2).contiguous(),
            self.weight_1d,
            self.bias,
            self.stride[1],
            self.padding[1],
            self.dilation[1],
            self.groups,
        )
        return y.unsqueeze(2).contiguous(memory_format=torch.channels_last)


def _to_2d(root: nn.Module) -> None:
    """Replace every Conv1d/ConvTranspose1d under `root` by its height-1 2-D twin (channels-last); the
    convolutions listed in B1_AS_1D become BatchOneAs1d."""
    for name, child in list(root.named_children()):
        if isinstance(child, (nn.Conv1d, nn.ConvTranspose1d)):
            setattr(root, name, _conv2d_like(child))
        else:
            _to_2d(child)


class _Masked(nn.Module):
    """Shared helpers: Levels and the layout (1-D, or channels-last 2-D) of the wrapped modules."""

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


class ProsodyBlocks(_Masked):
    """The F0 and N branches of the prosody predictor after its shared LSTM (float32), over padded frames."""

    def __init__(self, predictor: ProsodyPredictor):
        super().__init__(torch.float32)
        predictor.fold_styles()  # its own modules, not a copy: the text stage shares the predictor
        self.predictor = predictor

    def forward(self, x, style, frames):
        """x [B, 512, F] (shared LSTM output, zero past `frames`), style [B, 128] -> F0, N [B, 2F]."""
        styles = self.predictor.styles
        if styles is None:
            raise RuntimeError("the predictor's styles are folded in __init__")
        lf, l2f = Level(x.shape[-1], frames), Level(2 * x.shape[-1], 2 * frames)
        return self.predictor.curves(x, styles.project(style), lf, l2f)


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
    """The decoder up to conv_post, the harmonic spectrum `har` given. Owns a copy of the weights, in
    `dtype` except the `fp32_parts`, channels-last 2-D where asked."""

    def __init__(
        self,
        decoder: Decoder,
        dtype=torch.bfloat16,
        fp32_parts: tuple[str, ...] = (),
        channels_last: bool = False,
    ):
        super().__init__(dtype, channels_last)
        unknown = set(fp32_parts) - set(FP32_PARTS)
        if unknown:
            raise ValueError(f"unknown decoder parts {sorted(unknown)}; known: {FP32_PARTS}")
        self.fp32_parts = tuple(fp32_parts)
        dec = copy.deepcopy(decoder)
        dec.fold_styles()  # from the float32 projections; the table stays float32
        gen = dec.generator
        del gen.m_source  # the harmonic source runs outside (source.py)
        for module in (dec.encode, dec.decode, dec.F0_conv, dec.N_conv, dec.asr_res, gen):
            module.to(dtype)
        keep: list[nn.Module] = []
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
        self.upsample_rates = [int(cast("nn.ConvTranspose1d", m).stride[0]) for m in gen.ups]
        if channels_last:
            _to_2d(dec)
        self.dec = dec

    def forward(self, asr, f0_curve, n_curve, style, har, frames):
        """asr [B, 512, F], f0/n [B, 2F], style [B, 128], har [B, 22, 120F+1], frames [B]
        -> [B, 22, 120F+1]."""
        dec = self.dec
        if dec.styles is None:
            raise RuntimeError("the decoder's styles are folded in __init__")
        table = dec.styles.project(style)
        length = asr.shape[-1]
        lf, l2f = self.level(length, frames), self.level(2 * length, 2 * frames)
        f0, n = self.enter(f0_curve.unsqueeze(1)), self.enter(n_curve.unsqueeze(1))
        x = dec.features(self.enter(asr.to(self.dtype)), f0, n, table, lf, l2f)
        # the generator's stages, at 2F -> 20F -> 120F + 1 positions
        levels, steps, positions = [l2f], 2 * frames, 2 * length
        for i, rate in enumerate(self.upsample_rates):
            steps, positions = steps * rate, positions * rate
            if i == len(self.upsample_rates) - 1:  # kokoro's reflection pad adds one position
                steps, positions = steps + 1, har.shape[-1]
            levels.append(self.level(positions, steps))
        return self.leave(dec.generator.body(x, table, self.enter(har), levels).float())


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
