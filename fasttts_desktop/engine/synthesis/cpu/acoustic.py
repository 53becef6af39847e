"""kokoro's acoustic half (pitch/energy blocks, decoder, iSTFTNet vocoder) for one sequence on a CPU.

Nearly all of a CPU's synthesis time is here: the vocoder's convolutions run at 20x and 120x the frame rate
(~1.2 GFLOP per frame). What this forward does differently from kokoro's modules, same function:
- every AdaIN style projection (two per residual block, ~70 small GEMMs) is made once per chunk as one GEMM
  (styles.StyleTable), and folded with the norm's own affine into one instance-norm call (F.instance_norm
  with per-channel weight and bias);
- convolutions can run in bfloat16 (`dtype`) from weights converted once, not per call as autocast does;
  inside the vocoder's residual blocks (the hot loop) AdaIN and Snake then run in bfloat16 too, between
  two bfloat16 convolutions (measured 0.88x the time with them in float32; log-mel distance to float32
  0.03, a third of what another noise seed moves kokoro's own output); the residual streams, the
  pitch/energy blocks, the harmonic source and the final projection stay float32;
- `check` is called between blocks (~40 points, each well under 0.1 s apart), so a chunk can be abandoned.
Weight norm must already be folded into plain weights (model_build.remove_weight_norm).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from fasttts_desktop.engine.synthesis.model import KokoroModel
from fasttts_desktop.engine.synthesis.styles import StyledNorm, StyleTable

_SQRT_HALF = 2**-0.5

# The convolutions that run in the compute dtype (state-dict keys): the decoder's residual blocks and the
# vocoder's upsampling and residual convolutions. The harmonic-source convolutions (noise_convs), the
# pitch/energy blocks, F0/N convs, asr_res and conv_post stay float32: their inputs are phases and
# curves that rounding would move audibly.
_LOW_PRECISION = re.compile(
    r"^decoder\.(encode|decode\.\d+|generator\.(ups\.\d+|(resblocks|noise_res)\.\d+\.convs[12]\.\d+))"
    r"(\.(conv1|conv2|conv1x1|pool))?\.(weight|bias)$"
)


def low_precision(key: str) -> bool:
    """Whether the state-dict tensor `key` belongs to a convolution that runs in the compute dtype."""
    return _LOW_PRECISION.match(key) is not None


class Acoustic(nn.Module):
    """(durations, d, t_en, style) from the text side -> audio, kokoro's modules' weights, our forward."""

    def __init__(self, model: KokoroModel, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.dtype = dtype
        pred, dec = model.predictor, model.decoder
        self.shared = pred.shared
        self.f0_blocks, self.n_blocks = pred.F0, pred.N
        self.f0_proj, self.n_proj = pred.F0_proj, pred.N_proj
        self.dec = dec
        self.gen = dec.generator
        if dtype != torch.float32:
            # converted in place (one copy in memory, converted once; already done when the model was
            # built with `cast`)
            for name, m in model.named_modules():
                if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)) and low_precision(f"{name}.weight"):
                    m.weight = nn.Parameter(m.weight.detach().to(dtype), requires_grad=False)
                    if m.bias is not None:
                        m.bias = nn.Parameter(m.bias.detach().to(dtype), requires_grad=False)
        # the pitch/energy blocks' AdaIN and the decoder's, each swapped for a StyledNorm of its table
        self.prosody_styles = StyleTable(nn.ModuleList([pred.F0, pred.N]))
        self.decoder_styles = StyleTable(dec)
        # Snake's alpha and 1 / alpha in the vocoder's compute precision, made once
        self._alphas = {
            id(a): (a.detach().to(dtype), a.detach().reciprocal().to(dtype))
            for blk in [*self.gen.resblocks, *self.gen.noise_res]
            for a in [*blk.alpha1, *blk.alpha2]
        }

    # -- pieces

    @staticmethod
    def _conv(m: nn.Conv1d | nn.ConvTranspose1d, x: torch.Tensor) -> torch.Tensor:
        return m(x.to(m.weight.dtype))  # in the weights' precision; callers take float32 from here

    def _styles(self, table: StyleTable, s: torch.Tensor) -> dict[StyledNorm, dict]:
        """Per StyledNorm of `table`: instance-norm weight and bias with the style's scale and shift folded
        in, in float32 and in the compute dtype."""
        rows = table.project(s)
        out = {}
        for m in table.norms:
            w, b = m.folded(rows)
            out[m] = {torch.float32: (w, b), self.dtype: (w.to(self.dtype), b.to(self.dtype))}
        return out

    def _adain(self, m: StyledNorm, x: torch.Tensor, styles: dict[StyledNorm, dict]) -> torch.Tensor:
        """Instance norm + style affine in x's precision (float32 unless x is in the compute dtype)."""
        if x.dtype != self.dtype:
            x = x.float()
        w, b = styles[m][x.dtype]
        return F.instance_norm(x, weight=w, bias=b, eps=m.norm.eps)

    def _snake(self, x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """x + sin(alpha x)^2 / alpha, in three passes, in x's precision."""
        a, inv = (alpha, alpha.reciprocal()) if x.dtype == torch.float32 else self._alphas[id(alpha)]
        s = torch.sin(x * a)
        return torch.addcmul(x, s.mul_(s), inv)

    def _resblk(self, blk, x: torch.Tensor, styles) -> torch.Tensor:
        """kokoro's AdainResBlk1d (StyleTTS2 residual block, optionally upsampling x2)."""
        h = F.leaky_relu(self._adain(blk.norm1, x, styles), 0.2)
        upsample = blk.upsample_type != "none"
        if upsample:
            h = self._conv(blk.pool, h)
        h = F.leaky_relu(self._adain(blk.norm2, self._conv(blk.conv1, h).float(), styles), 0.2)
        h = self._conv(blk.conv2, h)
        sc = F.interpolate(x, scale_factor=2, mode="nearest") if upsample else x
        if blk.learned_sc:
            sc = self._conv(blk.conv1x1, sc)
        return (h.float() + sc.float()) * _SQRT_HALF

    def _resblock1(self, blk, x: torch.Tensor, styles, check) -> torch.Tensor:
        """kokoro's AdaINResBlock1 (HiFi-GAN block with AdaIN and Snake); x float32, left unchanged."""
        for k, (c1, c2, n1, n2, a1, a2) in enumerate(
            zip(blk.convs1, blk.convs2, blk.adain1, blk.adain2, blk.alpha1, blk.alpha2, strict=True)
        ):
            xt = self._conv(c1, self._snake(self._adain(n1, x.to(c1.weight.dtype), styles), a1))
            xt = self._conv(c2, self._snake(self._adain(n2, xt, styles), a2))
            # the caller's x is read by the next block too; after the first step the sum is our own
            x = x + xt if k == 0 else x.add_(xt)
        check()
        return x

    # -- the whole half

    def forward(
        self,
        durations: torch.Tensor,
        d: torch.Tensor,
        t_en: torch.Tensor,
        ref_s: torch.Tensor,
        check: Callable[[], None] = lambda: None,
    ) -> torch.Tensor:
        """durations [T], d [1, T, 640], t_en [1, 512, T], ref_s [1, 256] -> audio [samples], float32."""
        s_pro, s_dec = ref_s[:, 128:], ref_s[:, :128]
        styles = self._styles(self.prosody_styles, s_pro)
        en = d.transpose(-1, -2).repeat_interleave(durations, dim=-1)
        x, _ = self.shared(en.transpose(-1, -2))
        x = x.transpose(-1, -2)
        curves = []
        for blocks, proj in ((self.f0_blocks, self.f0_proj), (self.n_blocks, self.n_proj)):
            h = x
            for blk in blocks:
                h = self._resblk(blk, h, styles)
            curves.append(proj(h).squeeze(1))
            check()
        f0_curve, n_curve = curves
        styles = self._styles(self.decoder_styles, s_dec)
        asr = t_en.repeat_interleave(durations, dim=-1)
        dec = self.dec
        f0 = dec.F0_conv(f0_curve.unsqueeze(1))
        n = dec.N_conv(n_curve.unsqueeze(1))
        x = self._resblk(dec.encode, torch.cat([asr, f0, n], 1), styles)
        asr_res = dec.asr_res(asr)
        for blk in dec.decode:
            x = self._resblk(blk, torch.cat([x, asr_res, f0, n], 1), styles)
            check()
        return self._vocoder(x, styles, f0_curve, check)

    def _vocoder(self, x: torch.Tensor, styles, f0_curve: torch.Tensor, check) -> torch.Tensor:
        gen = self.gen
        f0 = gen.f0_upsamp(f0_curve[:, None]).transpose(1, 2)
        har_source, _, _ = gen.m_source(f0)  # float32: phases must not be rounded
        spec, phase = gen.stft.transform(har_source.transpose(1, 2).squeeze(1))
        har = torch.cat([spec, phase], dim=1)
        kernels = gen.num_kernels
        for i, up in enumerate(gen.ups):
            x = F.leaky_relu(x, 0.1)
            x_source = self._resblock1(gen.noise_res[i], gen.noise_convs[i](har), styles, check)
            x = self._conv(up, x).float()
            if i == gen.num_upsamples - 1:
                x = gen.reflection_pad(x)
            x = x.add_(x_source)  # in place, here and below: the activations are the chunk's peak memory
            del x_source
            xs = self._resblock1(gen.resblocks[i * kernels], x, styles, check)
            for j in range(1, kernels):
                xs.add_(self._resblock1(gen.resblocks[i * kernels + j], x, styles, check))
            x = xs.div_(kernels)
        x = gen.conv_post(F.leaky_relu(x))
        cut = gen.post_n_fft // 2 + 1
        return gen.stft.inverse(torch.exp(x[:, :cut, :]), torch.sin(x[:, cut:, :])).squeeze()
