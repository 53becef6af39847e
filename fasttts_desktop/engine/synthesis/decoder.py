"""kokoro's decoder and iSTFTNet vocoder (istftnet.Decoder, Generator) as modules of our own.

Same submodules, names, registration order and random initialisation as kokoro's, so its state-dict keys
load unchanged. The harmonic source (SourceModuleHnNSF) and the STFT are kokoro's own modules: float32,
since their phases must not be rounded. The forward is the one every backend's acoustic side is made of:
the CPU backend runs it as it is, the AdaIN style projections folded into one StyleTable (`fold_styles`,
once the weights are in), convolutions in their weights' precision (blocks.py).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from fasttts_desktop.engine.synthesis import blocks
from fasttts_desktop.engine.synthesis.blocks import Level, SnakeResBlock, StyledResBlock
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
        self.stft = parts.TorchSTFT(
            filter_length=gen_istft_n_fft, hop_length=gen_istft_hop_size, win_length=gen_istft_n_fft
        )

    def forward(self, x: torch.Tensor, table: torch.Tensor, f0_curve: torch.Tensor) -> torch.Tensor:
        """Batch 1: x [1, 512, 2F], the StyleTable's rows, f0_curve [1, 2F] -> audio [samples] float32."""
        x = self.body(x, table, self.harmonics(f0_curve))
        cut = self.post_n_fft // 2 + 1
        return self.stft.inverse(torch.exp(x[:, :cut, :]), torch.sin(x[:, cut:, :])).squeeze()

    def harmonics(self, f0_curve: torch.Tensor) -> torch.Tensor:
        """kokoro's harmonic source and its STFT, batch 1: f0_curve [1, 2F] -> har [1, 22, 120F + 1]."""
        f0 = self.f0_upsamp(f0_curve[:, None]).transpose(1, 2)
        har_source, _, _ = self.m_source(f0)  # float32: phases must not be rounded
        spec, phase = self.stft.transform(har_source.transpose(1, 2).squeeze(1))
        return torch.cat([spec, phase], dim=1)

    def body(
        self, x: torch.Tensor, table: torch.Tensor, har: torch.Tensor, levels: list[Level] | None = None
    ) -> torch.Tensor:
        """Decoder features x [B, 512, 2F], the StyleTable's rows, har [B, 22, 120F + 1] -> the final
        spectrum's log-magnitude and phase logits [B, 22, 120F + 1]. In a padded batch `levels` holds the
        Level of x and of each upsampling stage's output."""
        stages: list[Level | None] = list(levels) if levels is not None else [None] * (self.num_upsamples + 1)
        kernels = self.num_kernels
        for i, up in enumerate(self.ups):
            x = F.leaky_relu(x.float(), 0.1)
            x_source = self.noise_res[i](blocks.conv(self.noise_convs[i], har), table, stages[i + 1])
            x = blocks.conv(up, x, stages[i]).float()
            if i == self.num_upsamples - 1:  # kokoro's ReflectionPad1d((1, 0)), along the frames only
                x = F.pad(x, (1, 0) if x.dim() == 3 else (1, 0, 0, 0), mode="reflect")
            x = x.add_(x_source)  # in place, here and below: the activations are the chunk's peak memory
            del x_source
            xs = self.resblocks[i * kernels](x, table, stages[i + 1])
            for j in range(1, kernels):
                xs.add_(self.resblocks[i * kernels + j](x, table, stages[i + 1]))
            x = xs.div_(kernels)
        return blocks.conv(self.conv_post, F.leaky_relu(x.float()), stages[-1])


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
        x = self.features(asr, f0_curve.unsqueeze(1), n_curve.unsqueeze(1), table)
        return self.generator(x, table, f0_curve)

    def features(
        self,
        asr: torch.Tensor,
        f0: torch.Tensor,
        n: torch.Tensor,
        table: torch.Tensor,
        lf: Level | None = None,
        l2f: Level | None = None,
    ) -> torch.Tensor:
        """asr [B, 512, F], F0 and energy curves [B, 1, 2F], the StyleTable's rows -> the generator's input
        [B, 512, 2F] float32. In a padded batch `lf`/`l2f` are the Levels at F and 2F frames. The
        concatenations run in asr's precision (a backend may hand it over in its compute dtype)."""
        f0 = blocks.conv(self.F0_conv, f0, l2f)
        n = blocks.conv(self.N_conv, n, l2f)
        x = self.encode(torch.cat([asr, f0, n], 1), table, lf, lf)
        asr_res = blocks.conv(self.asr_res[0], asr)
        for block in self.decode:
            lout = l2f if block.pool is not None else lf
            x = block(torch.cat([x.to(asr_res.dtype), asr_res, f0, n], 1), table, lf, lout)
        return x
