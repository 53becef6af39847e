"""What the bench runs on: the weights, the voice and the phonemes made beforehand by the app's front end.

phonemes.json (package data): the 30 Harvard sentences one per chunk, and long_text.txt packed into 7 chunks
of up to ~480 phonemes, made on a machine with spaCy/misaki (the GPU machine may have neither).
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported on use: `bench --help` must not wait for it
    import torch

    from fasttts_desktop.engine.weights.store import Weights


# what kokoro/pipeline.py's `from misaki import en, espeak` loads (spaCy; phonemizer with espeak-ng)
_PIPELINE_NEEDS = ("misaki", "spacy", "phonemizer", "espeakng_loader")


def kokoro_without_g2p() -> None:
    """Let `import kokoro.model` work where misaki's G2P cannot load: kokoro/__init__ imports its pipeline,
    which imports misaki.en and misaki.espeak. The GPU machine has none of them, or, with app_latency's
    carried front end (scripts/device/qt_site.sh), no espeak. Registers a placeholder `kokoro.pipeline`
    only then (found, not imported: the warm-start child's clock runs); the app never does this."""
    if not all(importlib.util.find_spec(name) for name in _PIPELINE_NEEDS):
        stub = types.ModuleType("kokoro.pipeline")
        stub.KPipeline = None  # type: ignore[attr-defined]  # a placeholder module: only this name is read
        sys.modules.setdefault("kokoro.pipeline", stub)


def data_text(name: str) -> str:
    """A file shipped with the bench (package data, so an ordinary install has it)."""
    return importlib.resources.files("fasttts_desktop.bench").joinpath(name).read_text(encoding="utf-8")


def phonemes() -> dict:
    return json.loads(data_text("phonemes.json"))


class BenchWeights:
    """The weights a bench run uses: a torch file's or random ones, or the app's own (the offline store's
    `Weights`, read when first asked for where `defer`; its `derived_path` names the GPU's stored form)."""

    def __init__(
        self,
        state_dict: dict[str, torch.Tensor] | None,
        voices: dict[str, torch.Tensor],
        fingerprint: str,
        store: Weights | None = None,
    ):
        self._state_dict, self.voices, self.fingerprint, self.store = state_dict, voices, fingerprint, store

    @property
    def state_dict(self) -> dict[str, torch.Tensor]:
        if self.store is not None:
            return self.store.state_dict
        if self._state_dict is None:
            raise RuntimeError("BenchWeights without a state dict")
        return self._state_dict

    def derived_path(self, form: str) -> Path | None:
        """The app's own place for a stored form of these weights; None for a file's or random weights."""
        return self.store.derived_path(form) if self.store is not None else None


def load(
    weights_file: str | None = None,
    random_weights: bool = False,
    voices_path: str | None = None,
    *,
    defer: bool = False,
) -> BenchWeights:
    """The weights the app would use (the offline store; `defer`: read on first use, as the app does), a
    torch file of them, or random ones; the voices of `voices_path` (a file the app's --voices takes) beside
    the five Japanese ones."""
    import torch

    from fasttts_desktop.engine.weights.voices import load_voices, offline_voices

    extra = load_voices(voices_path) if voices_path else {}

    if weights_file:
        blob = torch.load(weights_file, weights_only=True)
        return BenchWeights(blob["state_dict"], offline_voices() | extra, blob["fingerprint"])
    if random_weights:
        from fasttts_desktop.engine.synthesis.model_build import build_model

        torch.manual_seed(0)
        return BenchWeights(build_model().state_dict(), offline_voices() | extra, "random-seed0")
    from fasttts_desktop.engine.weights.store import load_weights

    w = load_weights(voices_path=voices_path, use_hub=False, defer=defer)
    return BenchWeights(None, w.voices, w.fingerprint, store=w)


def voice_or_default(weights: BenchWeights, voice: str | None) -> str:
    """`voice`, checked, or the app's default among the voices at hand (af_heart; jm_kumo without the set)."""
    from fasttts_desktop.engine.types import EngineError
    from fasttts_desktop.engine.weights.voices import default_voice

    if voice is None:
        return default_voice(weights.voices)
    if voice not in weights.voices:
        raise EngineError(f"Unknown voice {voice!r}: the bench has {', '.join(sorted(weights.voices))}")
    return voice


def requests(items: list[dict], pack, speed: float):
    from fasttts_desktop.engine.synthesis.config import kokoro_config
    from fasttts_desktop.engine.synthesis.protocol import Request

    vocab = kokoro_config()["vocab"]
    return [Request.from_phonemes(item["phonemes"], pack, speed, vocab) for item in items]


@dataclass
class Workload:
    harvard: list  # Requests, one sentence each
    long: list  # Requests, the long text's chunks
    batch: list  # Harvard x repeat + long: the batched run


def workload(weights: BenchWeights, voice: str, speed: float, batch_repeat: int) -> Workload:
    ph = phonemes()
    pack = weights.voices[voice]
    harvard = requests(ph["harvard"], pack, speed)
    long = requests(ph["long"], pack, speed)
    return Workload(harvard, long, harvard * batch_repeat + long)
