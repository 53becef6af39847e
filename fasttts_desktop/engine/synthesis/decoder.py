"""kokoro's decoder and iSTFTNet vocoder (istftnet.Decoder, Generator) as modules of our own.

Same submodules, names, registration order and random initialisation as kokoro's, so its state-dict keys
load unchanged. The harmonic source (SourceModuleHnNSF) and the STFT are kokoro's own modules: float32,
since their phases must not be rounded. The forward is the one every backend's acoustic side is made of:
the CPU backend runs it as it is, the AdaIN style projections folded into one StyleTable (`fold_styles`,
once the weights are in), convolutions in their weights' precision (blocks.py).
"""

from __future__ import annotations

import math
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from fasttts_desktop.engine.synthesis import blocks
from fasttts_desktop.engine.synthesis.blocks import SnakeResBlock, StyledResBlock
from fasttts_desktop.engine.synthesis.kokoro_parts import istftnet
from fasttts_desktop.engine.synthesis.styles import StyleTable


class Generator(nn.Module):
    """kokoro's iSTFTNet generator: decoder features + F0 -> audio, through a harmonic source, two
    upsampling stages of SnakeResBlocks and an inverse STFT."""

    def __init__(
        self,
        style_dim: int,
        resblock_kernel_sizes: list[int],
        upsample_rates: list[int],
        upsample_initial_channel: int,
        resblock_dilation_sizes: list[list[int]],
        upsample_kernel_sizes: list[int],
        gen_istft_n_fft: int,
        gen_istft_hop_size: int,
    ):
        super().__init__()
        parts = istftnet()
        self.num_kernels = len(resblock_kernel_sizes)
        self.num_upsamples = len(upsample_rates)
        scale = math.prod(upsample_rates) * gen_istft_hop_size  # samples per F0 step
        self.m_source = parts.SourceModuleHnNSF(
            sampling_rate=24000, upsample_scale=scale, harmonic_num=8, voiced_threshod=10
        )
        self.f0_upsamp = nn.Upsample(scale_factor=scale)
        self.noise_convs = nn.ModuleList()
        self.noise_res = nn.ModuleList()
        self.ups = nn.ModuleList(
            blocks.weight_normed(
                nn.ConvTranspose1d(
                    upsample_initial_channel // (2**i),
                    upsample_initial_channel // (2 ** (i + 1)),
                    k,
                    u,
                    padding=(k - u) // 2,
                )
            )
            for i, (u, k) in enumerate(zip(upsample_rates, upsample_kernel_sizes, strict=True))
        )
        self.resblocks = nn.ModuleList()
        channels = upsample_initial_channel
        for i in range(self.num_upsamples):
            channels = upsample_initial_channel // (2 ** (i + 1))
            for k, d in zip(resblock_kernel_sizes, resblock_dilation_sizes, strict=True):
                self.resblocks.append(SnakeResBlock(channels, k, tuple(d), style_dim))
            if i + 1 < self.num_upsamples:  # the source at this stage's rate
                stride = math.prod(upsample_rates[i + 1 :])
                source = nn.Conv1d(
                    gen_istft_n_fft + 2, channels, stride * 2, stride, padding=(stride + 1) // 2
                )
                self.noise_convs.append(source)
                self.noise_res.append(SnakeResBlock(channels, 7, (1, 3, 5), style_dim))
            else:
                self.noise_convs.append(nn.Conv1d(gen_istft_n_fft + 2, channels, kernel_size=1))
                self.noise_res.append(SnakeResBlock(channels, 11, (1, 3, 5), style_dim))
        self.post_n_fft = gen_istft_n_fft
        self.conv_post = blocks.weight_normed(nn.Conv1d(channels, self.post_n_fft + 2, 7, 1, padding=3))
        self.ups.apply(parts.init_weights)  # kokoro's initialisation, in kokoro's order
        self.conv_post.apply(parts.init_weights)
        self.reflection_pad = nn.ReflectionPad1d((1, 0))
        self.stft = parts.TorchSTFT(
            filter_length=gen_istft_n_fft, hop_length=gen_istft_hop_size, win_length=gen_istft_n_fft
        )

    def forward(self, x: torch.Tensor, table: torch.Tensor, f0_curve: torch.Tensor) -> torch.Tensor:
        """x [1, 512, 2F], the StyleTable's rows, f0_curve [1, 2F] -> audio [samples] float32."""
        f0 = self.f0_upsamp(f0_curve[:, None]).transpose(1, 2)
        har_source, _, _ = self.m_source(f0)
        spec, phase = self.stft.transform(har_source.transpose(1, 2).squeeze(1))
        har = torch.cat([spec, phase], dim=1)
        kernels = self.num_kernels
        for i, up in enumerate(self.ups):
            x = F.leaky_relu(x, 0.1)
            x_source = self.noise_res[i](self.noise_convs[i](har), table)
            x = blocks.conv(cast("nn.ConvTranspose1d", up), x).float()  # a ModuleList's item
            if i == self.num_upsamples - 1:
                x = self.reflection_pad(x)
            x = x.add_(x_source)  # in place, here and below: the activations are the chunk's peak memory
            del x_source
            xs = self.resblocks[i * kernels](x, table)
            for j in range(1, kernels):
                xs.add_(self.resblocks[i * kernels + j](x, table))
            x = xs.div_(kernels)
        x = self.conv_post(F.leaky_relu(x))
        cut = self.post_n_fft // 2 + 1
        return self.stft.inverse(torch.exp(x[:, :cut, :]), torch.sin(x[:, cut:, :])).squeeze()


class Decoder(nn.Module):
    """kokoro's Decoder: aligned text features, F0 and energy curves, style -> audio."""

    styles: StyleTable | None  # the AdaIN projections folded into one GEMM (fold_styles)

    def __init__(self, dim_in: int, style_dim: int, vocoder: dict[str, Any]):
        """`vocoder`: kokoro's config section `istftnet` (Generator's arguments)."""
        super().__init__()
        self.encode = StyledResBlock(dim_in + 2, 1024, style_dim)
        self.decode = nn.ModuleList(
            StyledResBlock(1024 + 2 + 64, width, style_dim, upsample=width == 512)
            for width in (1024, 1024, 1024, 512)
        )
        self.F0_conv = blocks.weight_normed(nn.Conv1d(1, 1, kernel_size=3, stride=2, groups=1, padding=1))
        self.N_conv = blocks.weight_normed(nn.Conv1d(1, 1, kernel_size=3, stride=2, groups=1, padding=1))
        self.asr_res = nn.Sequential(blocks.weight_normed(nn.Conv1d(512, 64, kernel_size=1)))
        self.generator = Generator(style_dim, **vocoder)
        self.styles = None

    def fold_styles(self) -> None:
        """Swap every AdaIN1d here for a StyledNorm of one StyleTable; after the weights are loaded."""
        self.styles = StyleTable(self)

    def forward(
        self, asr: torch.Tensor, f0_curve: torch.Tensor, n_curve: torch.Tensor, s: torch.Tensor
    ) -> torch.Tensor:
        """asr [1, 512, F], f0/n curves [1, 2F], style [1, 128] -> audio [samples] float32."""
        if self.styles is None:
            raise RuntimeError("Decoder.fold_styles() must run once the weights are loaded")
        table = self.styles.project(s)
        f0 = self.F0_conv(f0_curve.unsqueeze(1))
        n = self.N_conv(n_curve.unsqueeze(1))
        x = self.encode(torch.cat([asr, f0, n], 1), table)
        asr_res = self.asr_res(asr)
        for block in self.decode:
            x = block(torch.cat([x, asr_res, f0, n], 1), table)
        return self.generator(x, table, f0_curve)
