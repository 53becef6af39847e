"""kokoro's forward as two stages over padded batches, built from the model's own modules (model.py).
The text stage is the model's own `text_side` given a `Padding`; the acoustic stage wraps its acoustic
modules for padded frames (decoder.py, source.py).

    text stage      ids -> durations (float32, exact), d, t_en              (fixed token bucket T)
    acoustic stage  durations, d, t_en -> audio                             (fixed frame bucket F)

Between the two the host reads the durations once (it must choose F and return them anyway). Neither
stage syncs with the host or depends on a CPU tensor, so each can be captured in a CUDA graph per
bucket; `decoder` can be swapped for a compiled artifact with the same signature.
"""

from __future__ import annotations

import torch
from torch import nn

from fasttts_desktop.engine.synthesis.cuda.decoder import DecoderCore, ProsodyBlocks
from fasttts_desktop.engine.synthesis.cuda.source import ISTFT, HarmonicSource, align
from fasttts_desktop.engine.synthesis.lstm import Padding
from fasttts_desktop.engine.synthesis.model import KokoroModel


class FastModel(nn.Module):
    def __init__(
        self,
        kmodel: KokoroModel,
        dtype: torch.dtype = torch.bfloat16,
        fp32_parts: tuple[str, ...] = (),
        channels_last: bool = False,
    ):
        """`kmodel`: the model with weight norm removed (its modules are used, not copied, except the
        decoder's)."""
        super().__init__()
        self.model = kmodel
        self.prosody = ProsodyBlocks(kmodel.predictor)
        self.source = HarmonicSource(kmodel.decoder.generator)
        self.decoder = DecoderCore(kmodel.decoder, dtype, fp32_parts, channels_last)
        self.istft = ISTFT()

    def text_stage(self, ids, lengths, style, speed, host_lengths=None):
        """ids [B, T] (0 beyond each length), lengths [B], style [B, 256], speed [B] -> (durations [B, T],
        d, t_en), zero where padded. `host_lengths` (CPU copy of `lengths`): pack the LSTMs (batched use,
        not capturable)."""
        return self.model.text_side(ids, style, speed, Padding(lengths, ids.shape[1], host_lengths))

    def acoustic_stage(self, durations, d, t_en, style, n_frames: int, decoder=None, host_frames=None):
        """-> audio [B, 600 * n_frames] (zero past each row's end), frames [B].

        `host_frames` (CPU copy of the frame counts): pack the shared LSTM (batched use, not capturable)."""
        en, asr, frames = align(durations, d, t_en, n_frames)
        x = self.model.predictor.shared.run(en, Padding(frames, n_frames, host_frames)).transpose(1, 2)
        f0, n = self.prosody(x, style[:, 128:], frames)
        har = self.source(f0, frames)
        decoder = decoder if decoder is not None else self.decoder
        # fresh contiguous tensors: compiled code is specialised on its inputs' strides (and torch.compile's
        # guards on their dispatch keys), so views of static buffers would make it recompile
        args = (asr, f0, n, style[:, :128], har, frames)
        post = decoder(*(t.clone(memory_format=torch.contiguous_format) for t in args))
        return self.istft(post, frames), frames

    @torch.inference_mode()
    def forward(self, ids, lengths, style, speed):
        """Whole forward with the frame count read from the durations (eager use, tests)."""
        durations, d, t_en = self.text_stage(ids, lengths, style, speed)
        n_frames = int(durations.sum(1).max())
        audio, frames = self.acoustic_stage(durations, d, t_en, style, n_frames)
        return audio, durations, frames
