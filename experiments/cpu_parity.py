"""The CPU path's output on the first Harvard sentences, for comparing two checkouts sample for sample.

Run from each checkout's root, then compare the two files (durations and audio, same noise seed):
    python3 -m experiments.cpu_parity out.npz
Used for issue 18 (the model's modules swapped for one style table): 251d4a0 and after gave identical
durations and identical audio (largest sample difference 0.0) on six sentences, bf16 vocoder.
"""

from __future__ import annotations

import importlib.resources
import json
import sys

import numpy as np
import torch

from fasttts_desktop.engine.synthesis.cpu.threads import configure_process


def main(path: str, sentences: int = 6) -> None:
    configure_process()
    from fasttts_desktop.engine.synthesis.config import kokoro_config
    from fasttts_desktop.engine.synthesis.cpu.backend import CpuBackend
    from fasttts_desktop.engine.synthesis.protocol import Request
    from fasttts_desktop.engine.weights.store import load_weights

    phonemes = json.loads(
        importlib.resources.files("fasttts_desktop.bench").joinpath("phonemes.json").read_text()
    )
    weights = load_weights(use_hub=False)
    backend = CpuBackend(weights.state_dict, dtype=torch.bfloat16)
    vocab, pack = kokoro_config()["vocab"], weights.voices["jm_kumo"]
    out = {}
    for i, item in enumerate(phonemes["harvard"][:sentences]):
        torch.manual_seed(0)
        result = backend.infer(Request.from_phonemes(item["phonemes"], pack, 1.0, vocab))
        out[f"audio{i}"], out[f"durations{i}"] = result.audio, result.durations
    np.savez(path, allow_pickle=False, **out)
    print(f"wrote {path}: {sentences} sentences")


if __name__ == "__main__":
    main(sys.argv[1])
