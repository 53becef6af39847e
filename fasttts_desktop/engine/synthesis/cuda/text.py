"""The text side of kokoro's forward, rewritten for padded batches and graph capture.

Same modules and weights as kokoro's KModel (ALBERT, bert_encoder, the prosody predictor's duration path
and the text encoder); only the forward functions are ours: no host syncs, no packing, lengths on the
device, fixed shapes. Everything here runs in float32, because the predicted durations are integers from
rounding and must come out as kokoro's do.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fasttts_desktop.engine.synthesis.cuda.attention import HEAD_DIM, HEADS, PaddedAttention
from fasttts_desktop.engine.synthesis.cuda.lstm import BiLSTM


class TextSide(torch.nn.Module):
    """Phoneme ids -> (durations, d, t_en) for a right-padded batch; wraps a KModel's modules."""

    # buffers (register_buffer): declared so the type checker sees tensors, not Module.__getattr__'s union
    qkv_weight: torch.Tensor
    qkv_bias: torch.Tensor

    def __init__(self, kmodel):
        super().__init__()
        self.bert = kmodel.bert
        self.bert_encoder = kmodel.bert_encoder
        self.predictor = kmodel.predictor
        self.text_encoder = kmodel.text_encoder
        blocks = kmodel.predictor.text_encoder.lstms  # kokoro's list: LSTM, norm, LSTM, norm, ...
        self.duration_lstms = torch.nn.ModuleList(BiLSTM(lstm) for lstm in blocks[0::2])
        self.duration_lstm = BiLSTM(kmodel.predictor.lstm)
        self.text_lstm = BiLSTM(kmodel.text_encoder.lstm)
        layer = kmodel.bert.encoder.albert_layer_groups[0].albert_layers[0]
        att = layer.attention
        # ALBERT shares one layer 12 times; one GEMM for q, k and v instead of three.
        self.register_buffer(
            "qkv_weight", torch.cat([att.query.weight, att.key.weight, att.value.weight]).detach()
        )
        self.register_buffer("qkv_bias", torch.cat([att.query.bias, att.key.bias, att.value.bias]).detach())
        self.n_layers = kmodel.bert.config.num_hidden_layers

    # -- ALBERT

    def albert(self, ids: torch.Tensor, positions: torch.Tensor, attention) -> torch.Tensor:
        """ids/positions [B, T], padded; attention: a PaddedAttention over their mask."""
        emb = self.bert.embeddings
        h = (
            emb.word_embeddings(ids)
            + emb.position_embeddings(positions)
            + emb.token_type_embeddings.weight[0]
        )
        h = self.bert.encoder.embedding_hidden_mapping_in(emb.LayerNorm(h))
        layer = self.bert.encoder.albert_layer_groups[0].albert_layers[0]
        att = layer.attention
        lead = h.shape[:-1]
        for _ in range(self.n_layers):
            q, k, v = F.linear(h, self.qkv_weight, self.qkv_bias).split(HEADS * HEAD_DIM, -1)
            shape = (*lead, HEADS, HEAD_DIM)
            a = attention(q.view(shape), k.view(shape), v.view(shape)).reshape(*lead, HEADS * HEAD_DIM)
            a = att.LayerNorm(h + att.dense(a))
            h = layer.full_layer_layer_norm(layer.ffn_output(layer.activation(layer.ffn(a))) + a)
        return h

    # -- prosody predictor, duration half

    def durations_from_bert(self, bert_out, style, speed, lengths, mask, host_lengths=None):
        """bert_out [B, T, 768] -> (pred_dur [B, T] long, zero on padding; d [B, T, 640])."""
        d_en = self.bert_encoder(bert_out)  # [B, T, 512]
        s = style[:, 128:]
        m = mask.unsqueeze(-1).to(d_en.dtype)
        s_t = s.unsqueeze(1).expand(-1, d_en.shape[1], -1)
        x = torch.cat([d_en, s_t], -1) * m
        norms = self.predictor.text_encoder.lstms[1::2]
        for lstm, norm in zip(self.duration_lstms, norms, strict=True):
            x = lstm(x, lengths, mask, host_lengths)
            x = torch.cat([norm(x, s), s_t], -1) * m  # AdaLayerNorm maps [B, T, C] -> [B, T, C]
        d = x
        x = self.duration_lstm(d, lengths, mask, host_lengths)
        duration = torch.sigmoid(self.predictor.duration_proj(x)).sum(-1) / speed.unsqueeze(1)
        pred_dur = torch.round(duration).clamp(min=1).long() * mask
        return pred_dur, d

    def encode_text(self, ids, lengths, mask, host_lengths=None):
        """kokoro's TextEncoder -> t_en [B, 512, T], zero on padding."""
        te = self.text_encoder
        m = mask.unsqueeze(1).to(torch.float32)
        x = te.embedding(ids).transpose(1, 2) * m
        for conv, norm, actv, _dropout in te.cnn:
            x = actv(norm(conv(x))) * m
        return self.text_lstm(x.transpose(1, 2), lengths, mask, host_lengths).transpose(1, 2)

    def forward(self, ids, lengths, style, speed, host_lengths=None):
        """ids [B, T] (0 beyond each length), lengths [B], style [B, 256], speed [B].

        `host_lengths` (CPU copy of `lengths`): pack the LSTMs (batched use, not capturable)."""
        steps = ids.shape[1]
        positions = torch.arange(steps, device=ids.device).unsqueeze(0).expand_as(ids)
        mask = positions < lengths.unsqueeze(1)
        bert_out = self.albert(ids, positions, PaddedAttention(mask))
        pred_dur, d = self.durations_from_bert(bert_out, style, speed, lengths, mask, host_lengths)
        return pred_dur, d, self.encode_text(ids, lengths, mask, host_lengths)
