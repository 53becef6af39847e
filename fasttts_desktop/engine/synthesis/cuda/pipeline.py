"""kokoro's forward as two stages over padded batches, built from the model's own modules (model.py).

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
from fasttts_desktop.engine.synthesis.cuda.lstm import BiLSTM
from fasttts_desktop.engine.synthesis.cuda.source import ISTFT, HarmonicSource, align
from fasttts_desktop.engine.synthesis.cuda.text import TextSide


class FastModel(nn.Module):
    def __init__(
        self,
        kmodel,
        dtype: torch.dtype = torch.bfloat16,
        fp32_parts: tuple[str, ...] = (),
        channels_last: bool = False,
    ):
        """`kmodel`: a KModel with weight norm removed (its modules are used, not copied, except the
        decoder)."""
        super().__init__()
        self.text = TextSide(kmodel)
        self.shared = BiLSTM(kmodel.predictor.shared)
        self.prosody = ProsodyBlocks(kmodel.predictor)
        self.source = HarmonicSource(kmodel.decoder.generator)
        self.decoder = DecoderCore(kmodel.decoder, dtype, fp32_parts, channels_last)
        self.istft = ISTFT()

    def text_stage(self, ids, lengths, style, speed, host_lengths=None):
        return self.text(ids, lengths, style, speed, host_lengths)

    def acoustic_stage(self, durations, d, t_en, style, n_frames: int, decoder=None, host_frames=None):
        """-> audio [B, 600 * n_frames] (zero past each row's end), frames [B].

        `host_frames` (CPU copy of the frame counts): pack the shared LSTM (batched use, not capturable)."""
        en, asr, frames = align(durations, d, t_en, n_frames)
        mask = torch.arange(n_frames, device=frames.device).unsqueeze(0) < frames.unsqueeze(1)
        x = self.shared(en, frames, mask, host_frames).transpose(1, 2)
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
