"""kokoro's text encoder and prosody predictor as modules of our own (kokoro keeps them in kokoro/modules.py,
which imports transformers at the top; see albert.py for why that import is worth avoiding).

Same submodules under the same names as kokoro's (so its state-dict keys load unchanged, and code that walks
kokoro's module tree still finds `predictor.text_encoder.lstms`, `text_encoder.cnn[i]` as conv, norm,
activation, dropout, ...). The forwards are written for what kokoro's KModel.forward_with_tokens actually
does for one sentence (kokoro builds its mask and lengths from the full input length, so its masking and
sequence packing change nothing there), and, given a `Padding`, for a right-padded batch of sentences
(the GPU path): zeros kept where padded, the LSTMs run over each row's real steps only (lstm.py). The
F0/N blocks are blocks.StyledResBlock, the decoder's block too.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from fasttts_desktop.engine.synthesis import blocks
from fasttts_desktop.engine.synthesis.blocks import Level, StyledResBlock
from fasttts_desktop.engine.synthesis.lstm import BiLSTM, Padding
from fasttts_desktop.engine.synthesis.styles import StyleTable


def _unchanged(x: torch.Tensor) -> torch.Tensor:
    return x


class ChannelNorm(nn.Module):
    """Layer norm over the channels of [B, C, T] (kokoro's `LayerNorm`: parameters `gamma`, `beta`)."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.channels, self.eps = channels, eps
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.layer_norm(x.transpose(1, -1), (self.channels,), self.gamma, self.beta, self.eps)
        return y.transpose(1, -1)


class StyledLayerNorm(nn.Module):
    """Layer norm of [B, T, C] scaled and shifted by a style vector (kokoro's `AdaLayerNorm`)."""

    def __init__(self, style_dim: int, channels: int, eps: float = 1e-5):
        super().__init__()
        self.channels, self.eps = channels, eps
        self.fc = nn.Linear(style_dim, channels * 2)

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.fc(s).unsqueeze(1).chunk(2, dim=-1)  # each [B, 1, C]
        return (1 + gamma) * F.layer_norm(x, (self.channels,), eps=self.eps) + beta


class Projection(nn.Module):
    """A Linear under kokoro's `LinearNorm` name (`linear_layer`)."""

    def __init__(self, width_in: int, width_out: int):
        super().__init__()
        self.linear_layer = nn.Linear(width_in, width_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_layer(x)


class TextEncoder(nn.Module):
    """Phoneme ids [B, T] -> [B, channels, T]: embedding, conv + channel norm + leaky ReLU blocks, a
    BiLSTM."""

    def __init__(self, channels: int, kernel_size: int, depth: int, n_symbols: int):
        super().__init__()
        self.embedding = nn.Embedding(n_symbols, channels)
        pad = (kernel_size - 1) // 2
        self.cnn = nn.ModuleList(
            nn.Sequential(
                blocks.weight_normed(nn.Conv1d(channels, channels, kernel_size, padding=pad)),
                ChannelNorm(channels),
                nn.LeakyReLU(0.2),
                nn.Dropout(0.2),  # inert at inference; kept so the blocks unpack as kokoro's do
            )
            for _ in range(depth)
        )
        self.lstm = BiLSTM(channels, channels)

    def forward(self, ids: torch.Tensor, padding: Padding | None = None) -> torch.Tensor:
        keep = padding.channels_first if padding else _unchanged
        x = keep(self.embedding(ids).transpose(1, 2))
        for block in self.cnn:
            x = keep(block(x))
        return self.lstm.run(x.transpose(1, 2), padding).transpose(1, 2)


class DurationEncoder(nn.Module):
    """[B, T, d_model] text features + style -> [B, T, d_model + style]: BiLSTMs, each followed by a styled
    layer norm, the style appended to every step before each LSTM. `lstms` alternates LSTM and norm."""

    def __init__(self, sty_dim: int, d_model: int, nlayers: int):
        super().__init__()
        self.lstms = nn.ModuleList()
        for _ in range(nlayers):
            self.lstms.append(BiLSTM(d_model + sty_dim, d_model))
            self.lstms.append(StyledLayerNorm(sty_dim, d_model))

    def forward(self, x: torch.Tensor, s: torch.Tensor, padding: Padding | None = None) -> torch.Tensor:
        keep = padding.steps_first if padding else _unchanged
        s_t = s.unsqueeze(1).expand(-1, x.shape[1], -1)
        x = keep(torch.cat([x, s_t], dim=-1))
        for lstm, norm in zip(self.lstms[0::2], self.lstms[1::2], strict=True):
            x = cast("BiLSTM", lstm).run(x, padding)
            x = keep(torch.cat([norm(x, s), s_t], dim=-1))
        return x


class ProsodyPredictor(nn.Module):
    """Durations from the text features, then pitch (F0) and energy (N) curves per frame."""

    styles: StyleTable | None  # the F0/N blocks' AdaIN projections as one GEMM (fold_styles)

    def __init__(self, style_dim: int, d_hid: int, nlayers: int, max_dur: int):
        super().__init__()
        self.text_encoder = DurationEncoder(style_dim, d_hid, nlayers)
        self.lstm = BiLSTM(d_hid + style_dim, d_hid)
        self.duration_proj = Projection(d_hid, max_dur)
        self.shared = BiLSTM(d_hid + style_dim, d_hid)
        half = d_hid // 2
        self.F0 = nn.ModuleList(
            [
                StyledResBlock(d_hid, d_hid, style_dim),
                StyledResBlock(d_hid, half, style_dim, upsample=True),
                StyledResBlock(half, half, style_dim),
            ]
        )
        self.N = nn.ModuleList(
            [
                StyledResBlock(d_hid, d_hid, style_dim),
                StyledResBlock(d_hid, half, style_dim, upsample=True),
                StyledResBlock(half, half, style_dim),
            ]
        )
        self.F0_proj = nn.Conv1d(half, 1, 1)
        self.N_proj = nn.Conv1d(half, 1, 1)
        self.styles = None

    def fold_styles(self) -> None:
        """Swap the F0/N blocks' AdaIN1d for StyledNorms of one StyleTable; after the weights are loaded."""
        self.styles = StyleTable(nn.ModuleList([self.F0, self.N]))

    def durations(
        self, d: torch.Tensor, speed: float | torch.Tensor, padding: Padding | None = None
    ) -> torch.Tensor:
        """Encoded text d [B, T, C] -> frames per token [B, T] (float, before rounding); `speed`: one
        number, or one per row [B]."""
        if isinstance(speed, torch.Tensor):
            speed = speed.unsqueeze(1)
        x = self.lstm.run(d, padding)
        return torch.sigmoid(self.duration_proj(x)).sum(dim=-1) / speed

    def F0Ntrain(self, x: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: N802
        """Per-frame features x [1, C, F] -> (F0, N), each [1, 2F] (kokoro's name for it)."""
        if self.styles is None:
            raise RuntimeError("ProsodyPredictor.fold_styles() must run once the weights are loaded")
        x = self.shared.run(x.transpose(-1, -2))
        return self.curves(x.transpose(-1, -2), self.styles.project(s))

    def curves(
        self, x: torch.Tensor, table: torch.Tensor, lf: Level | None = None, l2f: Level | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The shared LSTM's output x [B, C, F], the StyleTable's rows -> (F0, N) [B, 2F] float32; in a
        padded batch, `lf`/`l2f` are the Levels at F and 2F frames."""
        out = []
        for branch, proj in ((self.F0, self.F0_proj), (self.N, self.N_proj)):
            h, level = x, lf
            for block in branch:
                lout = l2f if block.pool is not None else level
                h = block(h, table, level, lout)
                level = lout
            out.append(blocks.conv(proj, h, level).float().squeeze(1))
        return out[0], out[1]
