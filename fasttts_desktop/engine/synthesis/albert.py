"""kokoro's phoneme ALBERT (PL-BERT) as a small module of our own: no `transformers` import.

kokoro's CustomAlbert is transformers' AlbertModel returning its last hidden state. Importing transformers
costs ~4.7 s on a 2-core CPU (8.5 s on the GPU machines) before anything can speak, for a forward that is a
dozen lines. This module has the same submodules under the same names, so kokoro's `bert.*` state-dict keys
load into it unchanged and code written against kokoro's module tree (`bert.encoder.albert_layer_groups[0]
.albert_layers[0].attention.query`, `bert.config.num_hidden_layers`, ...) keeps working.

ALBERT shares one transformer layer across all its layers; the embeddings are 128 wide and mapped up to the
768-wide hidden size once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class AlbertConfig:
    """The few hyperparameters the forward needs, under transformers' names (kokoro's config.json
    `plbert`)."""

    vocab_size: int = 178
    embedding_size: int = 128
    hidden_size: int = 768
    num_attention_heads: int = 12
    intermediate_size: int = 2048
    num_hidden_layers: int = 12
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12

    @classmethod
    def from_kokoro(cls, config: dict) -> AlbertConfig:
        """From kokoro's model config (`n_token` and the `plbert` section)."""
        fields = {k: v for k, v in config["plbert"].items() if k in cls.__dataclass_fields__}
        return cls(vocab_size=config["n_token"], **fields)


def gelu_new(x: torch.Tensor) -> torch.Tensor:
    """ALBERT's activation ("gelu_new"): the tanh approximation of GELU, written out as transformers does
    (torch's fused approximate="tanh" rounds differently, and durations are rounded from these values)."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class _Activation(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gelu_new(x)


class AlbertEmbeddings(nn.Module):
    def __init__(self, c: AlbertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.embedding_size, padding_idx=0)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.embedding_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.embedding_size)
        self.LayerNorm = nn.LayerNorm(c.embedding_size, eps=c.layer_norm_eps)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        # every token is of type 0 (kokoro never passes token types); the sum order is transformers' own
        h = self.word_embeddings(input_ids) + self.token_type_embeddings.weight[0]
        return self.LayerNorm(h + self.position_embeddings(positions))


class AlbertAttention(nn.Module):
    # q, k and v's weights joined for one GEMM instead of three (`join_qkv`); None until then. Buffers
    # outside the state dict, so the weights' keys stay transformers' own.
    qkv_weight: torch.Tensor | None
    qkv_bias: torch.Tensor | None

    def __init__(self, c: AlbertConfig):
        super().__init__()
        self.heads = c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.register_buffer("qkv_weight", None, persistent=False)
        self.register_buffer("qkv_bias", None, persistent=False)

    def join_qkv(self) -> None:
        """One [3 * 768, 768] projection for q, k and v; once, after the weights are loaded."""
        with torch.no_grad():
            self.qkv_weight = torch.cat([self.query.weight, self.key.weight, self.value.weight])
            self.qkv_bias = torch.cat([self.query.bias, self.key.bias, self.value.bias])

    def forward(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, t, width = h.shape

        def heads(x: torch.Tensor) -> torch.Tensor:  # [B, T, 768] -> [B, 12, T, 64]
            return x.view(b, t, self.heads, width // self.heads).transpose(1, 2)

        if self.qkv_weight is not None:
            q, k, v = F.linear(h, self.qkv_weight, self.qkv_bias).split(width, -1)
        else:
            q, k, v = self.query(h), self.key(h), self.value(h)
        a = F.scaled_dot_product_attention(heads(q), heads(k), heads(v), mask)
        a = a.transpose(1, 2).reshape(b, t, width)
        return self.LayerNorm(h + self.dense(a))


class AlbertLayer(nn.Module):
    def __init__(self, c: AlbertConfig):
        super().__init__()
        # registered in transformers' order, so state_dict() lists the keys as KModel's does
        self.full_layer_layer_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.attention = AlbertAttention(c)
        self.ffn = nn.Linear(c.hidden_size, c.intermediate_size)
        self.ffn_output = nn.Linear(c.intermediate_size, c.hidden_size)
        self.activation = _Activation()

    def forward(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        a = self.attention(h, mask)
        return self.full_layer_layer_norm(self.ffn_output(self.activation(self.ffn(a))) + a)


class AlbertLayerGroup(nn.Module):
    def __init__(self, c: AlbertConfig):
        super().__init__()
        self.albert_layers = nn.ModuleList([AlbertLayer(c)])

    def forward(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        for layer in self.albert_layers:
            h = layer(h, mask)
        return h


class AlbertEncoder(nn.Module):
    def __init__(self, c: AlbertConfig):
        super().__init__()
        self.embedding_hidden_mapping_in = nn.Linear(c.embedding_size, c.hidden_size)
        self.albert_layer_groups = nn.ModuleList([AlbertLayerGroup(c)])
        self.layers = c.num_hidden_layers

    def forward(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        h = self.embedding_hidden_mapping_in(h)
        for _ in range(self.layers):  # one group, shared by every layer
            h = self.albert_layer_groups[0](h, mask)
        return h


class Albert(nn.Module):
    """Phoneme ids [B, T] -> hidden states [B, T, 768], as kokoro's CustomAlbert returns them."""

    def __init__(self, config: AlbertConfig | None = None):
        super().__init__()
        self.config = config or AlbertConfig()
        self.embeddings = AlbertEmbeddings(self.config)
        self.encoder = AlbertEncoder(self.config)
        # Never used by kokoro; kept so that kokoro's checkpoints (which hold it) load strictly.
        self.pooler = nn.Linear(self.config.hidden_size, self.config.hidden_size)

    def join_qkv(self) -> None:
        """q, k and v as one GEMM (AlbertAttention.join_qkv) in the one layer every step shares."""
        for module in self.modules():
            if isinstance(module, AlbertAttention):
                module.join_qkv()

    def forward(self, input_ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """`mask` [B, T] bool: True for tokens, False for padding (None: all tokens). No host sync, so a
        CUDA graph can capture it."""
        if mask is not None:
            mask = mask[:, None, None, :]  # padded keys get no attention; broadcasts over heads, queries
        return self.encoder(self.embeddings(input_ids), mask)
