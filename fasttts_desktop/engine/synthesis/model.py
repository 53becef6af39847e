"""Kokoro-82M as one module of our own: kokoro's KModel function without transformers, in two halves.

The one definition of the model's forward: modules only (albert.py, prosody.py, blocks.py, decoder.py),
no compilation or device policy here; backends convert weights at build time and wrap these modules
(the CPU backend runs them as they are; kokoro's KModel stays only as the reference tests compare with).

The module tree and state-dict keys are KModel's (`bert`, `bert_encoder`, `predictor`, `text_encoder`,
`decoder`), so weights and code written for KModel fit. Once the weights are in, `fold_styles` swaps the
AdaIN style projections for one StyleTable per half (styles.py), which the forwards need. Then
`forward_with_tokens` gives what KModel's does (the same durations and, with the same random seed, the same
audio up to rounding: tested). It is split where backends want to split it: `text_side` (ids -> integer
durations and the two text encodings, small and cheap, and where exact float32 matters because durations
are rounded) and `acoustic_side` (the frame-rate work: pitch/energy, decoder and vocoder, nearly all of
the compute). The text side takes one sentence (the CPU path) or a right-padded batch with its `Padding`
(lstm.py; the GPU path's text stage, captured in CUDA graphs): the same forward either way.
"""

from __future__ import annotations

import torch
from torch import nn

from fasttts_desktop.engine.synthesis.albert import Albert, AlbertConfig
from fasttts_desktop.engine.synthesis.decoder import Decoder
from fasttts_desktop.engine.synthesis.lstm import Padding
from fasttts_desktop.engine.synthesis.prosody import ProsodyPredictor, TextEncoder


class KokoroModel(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        self.bert = Albert(AlbertConfig.from_kokoro(config))
        self.bert_encoder = nn.Linear(self.bert.config.hidden_size, config["hidden_dim"])
        self.predictor = ProsodyPredictor(
            config["style_dim"], config["hidden_dim"], config["n_layer"], config["max_dur"]
        )
        self.text_encoder = TextEncoder(
            config["hidden_dim"], config["text_encoder_kernel_size"], config["n_layer"], config["n_token"]
        )
        self.decoder = Decoder(config["hidden_dim"], config["style_dim"], config["istftnet"])
        self.context_length = self.bert.config.max_position_embeddings

    def fold_styles(self) -> KokoroModel:
        """The AdaIN style projections as one GEMM per half (styles.py); once, after the weights are in.
        The state dict then no longer has KModel's AdaIN keys."""
        self.predictor.fold_styles()
        self.decoder.fold_styles()
        return self

    def text_side(
        self,
        input_ids: torch.Tensor,
        ref_s: torch.Tensor,
        speed: float | torch.Tensor = 1.0,
        padding: Padding | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """ids [B, T], style [B, 256], speed (one, or one per row) -> (durations [B, T] long, d [B, T, 640],
        t_en [B, 512, T]). A batch of sentences of different lengths comes right-padded with its `Padding`:
        each row then comes out as if it had run alone (up to float rounding), zero where padded."""
        mask = padding.mask if padding else None
        d_en = self.bert_encoder(self.bert(input_ids, mask))  # [B, T, 512]
        d = self.predictor.text_encoder(d_en, ref_s[:, 128:], padding)
        durations = torch.round(self.predictor.durations(d, speed, padding)).clamp(min=1).long()
        if mask is not None:
            durations = durations * mask
        return durations, d, self.text_encoder(input_ids, padding)

    def acoustic_side(
        self, durations: torch.Tensor, d: torch.Tensor, t_en: torch.Tensor, ref_s: torch.Tensor
    ) -> torch.Tensor:
        """The text side's outputs (durations [1, T]) -> audio [samples] at 24 kHz (600 samples per frame);
        batch 1."""
        durations = durations.squeeze(0)
        # Each token's features repeated for its frames: what kokoro's one-hot alignment matmul computes.
        en = d.transpose(-1, -2).repeat_interleave(durations, dim=-1)
        f0, n = self.predictor.F0Ntrain(en, ref_s[:, 128:])
        asr = t_en.repeat_interleave(durations, dim=-1)
        return self.decoder(asr, f0, n, ref_s[:, :128]).squeeze()

    @torch.no_grad()
    def forward_with_tokens(
        self, input_ids: torch.Tensor, ref_s: torch.Tensor, speed: float = 1.0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """ids [1, T] (pads included), style [1, 256] -> (audio [samples], durations [T]), as KModel's."""
        durations, d, t_en = self.text_side(input_ids, ref_s, speed)
        return self.acoustic_side(durations, d, t_en, ref_s), durations.squeeze(0)
