"""Float32 signal pieces around the compiled decoder: frame alignment, kokoro's harmonic source, iSTFT.

All of them take per-row valid lengths on the device and reproduce, on each row's valid samples, what
kokoro computes for that row alone: the sine phase stops accumulating past the end (kokoro's linear
interpolation clamps there), the STFT reflects at each row's own end, and the iSTFT window envelope counts
only real frames.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from fasttts_desktop.engine.types import SAMPLES_PER_FRAME

N_FFT, HOP = 20, 5
BINS = N_FFT // 2 + 1


def _inverse_basis() -> torch.Tensor:
    """The windowed inverse real DFT [22, 1, 20]: irfft + window + overlap-add as one transposed conv.

    As torch.fft.irfft: DC and Nyquist once, other bins twice, their imaginary parts ignored. A fixed
    basis instead of cuFFT here: the output side is well conditioned (1e-7 from torch.istft).
    """
    n = torch.arange(N_FFT, dtype=torch.float64)
    k = torch.arange(BINS, dtype=torch.float64)
    window = torch.hann_window(N_FFT, periodic=True, dtype=torch.float64)
    angle = 2 * math.pi * k.unsqueeze(1) * n.unsqueeze(0) / N_FFT  # [11, 20]
    weight = torch.full((BINS, 1), 2.0, dtype=torch.float64)
    weight[0] = weight[-1] = 1.0
    inverse = torch.cat([torch.cos(angle) * weight, -torch.sin(angle) * weight]) * window / N_FFT
    inverse[BINS] = inverse[2 * BINS - 1] = 0.0
    return inverse.float().unsqueeze(1)


def align(durations, d, t_en, n_frames: int):
    """Expand token features to frames.

    durations [B, T] long (0 on padding), d [B, T, 640], t_en [B, 512, T] ->
    en [B, F, 640], asr [B, 512, F], frames [B] (valid frames per row), zero past each row's end.
    """
    cum = torch.cumsum(durations, 1)
    frames = cum[:, -1]
    f = torch.arange(n_frames, device=durations.device).unsqueeze(0).expand(durations.shape[0], -1)
    token = torch.searchsorted(cum, f.contiguous(), right=True).clamp(max=durations.shape[1] - 1)
    valid = (f < frames.unsqueeze(1)).unsqueeze(-1)
    en = torch.gather(d, 1, token.unsqueeze(-1).expand(-1, -1, d.shape[-1])) * valid
    t = t_en.transpose(1, 2)
    asr = (torch.gather(t, 1, token.unsqueeze(-1).expand(-1, -1, t.shape[-1])) * valid).transpose(1, 2)
    return en, asr, frames


class HarmonicSource(nn.Module):
    """kokoro's SourceModuleHnNSF + the generator's STFT of it: F0 curve -> har [B, 22, 120F + 1]."""

    # buffers (register_buffer): declared so the type checker sees tensors, not Module.__getattr__'s union
    lin_weight: torch.Tensor
    lin_bias: torch.Tensor
    window: torch.Tensor
    harm: torch.Tensor

    def __init__(self, generator):
        super().__init__()
        source = generator.m_source
        gen = source.l_sin_gen
        self.sampling_rate = gen.sampling_rate
        self.scale = gen.upsample_scale  # 300 samples per F0 step
        self.harmonics = gen.dim
        self.sine_amp, self.noise_std, self.threshold = gen.sine_amp, gen.noise_std, gen.voiced_threshold
        self.noise = 1.0  # 0 makes the source deterministic (batched-vs-single checks); kokoro: 1
        self.register_buffer("lin_weight", source.l_linear.weight.detach().float().clone())
        self.register_buffer("lin_bias", source.l_linear.bias.detach().float().clone())
        self.register_buffer("window", torch.hann_window(N_FFT, periodic=True))
        self.register_buffer("harm", torch.arange(1, self.harmonics + 1, dtype=torch.float32))

    def forward(self, f0, frames):
        """f0 [B, 2F] float32, frames [B] -> har [B, 22, 120F + 1] (zero past each row's end)."""
        batch, steps = f0.shape
        samples = steps * self.scale
        valid2 = 2 * frames
        rad = (f0.unsqueeze(-1) * self.harm / self.sampling_rate) % 1
        rad = rad * (torch.arange(steps, device=f0.device) < valid2.unsqueeze(1)).unsqueeze(-1)
        # kokoro draws an initial phase here that its interpolation never reads; drawn anyway so that a
        # seeded CPU run consumes the generator exactly as kokoro does.
        torch.rand(batch, self.harmonics, device=f0.device)
        phase = torch.cumsum(rad, 1) * 2 * math.pi
        phase = F.interpolate(phase.transpose(1, 2) * self.scale, scale_factor=self.scale, mode="linear")
        sines = torch.sin(phase.transpose(1, 2)) * self.sine_amp  # [B, S, H]
        # kokoro's nearest upsampling (float scale: a sample at a block edge can take the previous value)
        f0_up = F.interpolate(f0.unsqueeze(1), scale_factor=self.scale).transpose(1, 2)  # [B, S, 1]
        uv = (f0_up > self.threshold).float()
        noise_amp = uv * self.noise_std + (1 - uv) * self.sine_amp / 3
        sines = sines * uv + noise_amp * torch.randn_like(sines) * self.noise
        merged = torch.tanh(F.linear(sines, self.lin_weight, self.lin_bias)).squeeze(-1)  # [B, S]
        torch.randn(batch, samples, 1, device=f0.device)  # kokoro's unused noise branch, same reason
        # STFT, center=True with reflection at each row's own end
        valid = (valid2 * self.scale).unsqueeze(1)
        q = torch.arange(samples + N_FFT, device=f0.device).unsqueeze(0) - N_FFT // 2
        q = torch.where(q < 0, -q, q)
        q = torch.where(q >= valid, 2 * (valid - 1) - q, q).clamp(0, samples - 1)
        # torch.stft like kokoro (cuFFT / pocketfft): the phase of near-empty bins is rounding noise that the
        # decoder still reads, and a different summation order (a DFT as a conv) moves the audio by ~3%
        spec = torch.stft(
            torch.gather(merged, 1, q),
            N_FFT,
            HOP,
            N_FFT,
            window=self.window,
            center=False,
            return_complex=True,
        )
        har = torch.cat([spec.abs(), spec.angle()], 1)
        n_frames = spec.shape[-1]
        keep = torch.arange(n_frames, device=f0.device).unsqueeze(0) < (valid // HOP + 1)
        return har * keep.unsqueeze(1)


class ISTFT(nn.Module):
    """torch.istft(exp(x[:, :11]) * exp(1j * sin(x[:, 11:])), 20, 5, 20, hann) per row's valid frames."""

    # buffers (register_buffer): declared so the type checker sees tensors, not Module.__getattr__'s union
    idft: torch.Tensor
    window_sq: torch.Tensor

    def __init__(self):
        super().__init__()
        window = torch.hann_window(N_FFT, periodic=True)
        self.register_buffer("idft", _inverse_basis())
        self.register_buffer("window_sq", (window**2).view(1, 1, N_FFT))

    def forward(self, x, frames):
        """x [B, 22, 120F + 1] float32, frames [B] -> audio [B, 600F] (zero past each row's end)."""
        n = x.shape[-1]
        keep = (torch.arange(n, device=x.device).unsqueeze(0) < (120 * frames + 1).unsqueeze(1)).unsqueeze(1)
        mag = torch.where(keep, torch.exp(x[:, :BINS]), 0.0)
        phase = torch.sin(x[:, BINS:])
        spec = torch.cat([mag * torch.cos(phase), mag * torch.sin(phase)], 1)
        audio = F.conv_transpose1d(spec, self.idft, stride=HOP)  # irfft, window and overlap-add at once
        envelope = F.conv_transpose1d(keep.float(), self.window_sq, stride=HOP)
        audio = audio / torch.where(envelope > 1e-11, envelope, 1.0)
        half = N_FFT // 2
        audio = audio[:, 0, half : half + HOP * (n - 1)]
        # the last real frames' windows reach a few samples past the end: cut there, as kokoro's length does
        return audio * (
            torch.arange(audio.shape[-1], device=x.device) < (SAMPLES_PER_FRAME * frames).unsqueeze(1)
        )
