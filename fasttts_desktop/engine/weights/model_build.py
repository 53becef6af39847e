"""Build the model around weights we already hold in memory: ours (`build_model`) or kokoro's (`build_kmodel`).

`build_model` is what the app runs: engine/synthesis/model.py's KokoroModel, kokoro's function and module
tree without importing transformers (or kokoro's package __init__ with misaki and spaCy), so start-up does
not pay seconds for them. `build_kmodel` is kokoro's own KModel, the reference that tests and the bench
compare against. KModel's constructor insists on loading a checkpoint file (and downloads one from Hugging
Face when given none); we hand it an empty checkpoint so it builds the modules and loads nothing.

Both then load our state dict with strict checking, which kokoro's own loader does not do.
"""

from __future__ import annotations

import functools
import logging
import tempfile
import warnings
from pathlib import Path

import torch

from fasttts_desktop.engine.weights.config import kokoro_config

log = logging.getLogger(__name__)


@functools.cache
def _empty_checkpoint() -> str:
    path = Path(tempfile.gettempdir()) / "fasttts-desktop-empty-checkpoint.pth"
    if not path.exists():
        tmp = path.with_suffix(f".{id(path)}.tmp")
        torch.save({}, tmp)
        tmp.replace(path)
    return str(path)


def _construct(config: dict | None):
    from kokoro.model import KModel  # imported late: kokoro's package import pulls in misaki and spaCy

    with warnings.catch_warnings():
        # kokoro builds 1-layer LSTMs with dropout and uses the deprecated weight_norm: both harmless here,
        # and a user should not see library warnings on every launch.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", FutureWarning)
        return KModel(
            repo_id="hexgrad/Kokoro-82M", config=config or kokoro_config(), model=_empty_checkpoint()
        )


def _construct_ours(config: dict | None):
    from fasttts_desktop.engine.synthesis.model import KokoroModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # kokoro's vocoder blocks use the old weight_norm
        return KokoroModel(config or kokoro_config())


def build_model(state_dict: dict[str, torch.Tensor] | None = None, config: dict | None = None):
    """Our KokoroModel (CPU, eval) holding `state_dict` (KModel.state_dict() keys): KModel's function and
    module tree, no transformers import. Same fast path as `build_kmodel` (below)."""
    return _build(_construct_ours, state_dict, config)


def build_kmodel(state_dict: dict[str, torch.Tensor] | None = None, config: dict | None = None):
    """Return kokoro's own KModel (CPU, eval) holding `state_dict`: the reference. Imports transformers.

    With weights given, the modules are built on the meta device and handed the tensors (`assign=True`):
    ~0.5 s instead of ~4 s of random initialisation that the weights would overwrite anyway. The model then
    shares the state dict's tensors; nothing here writes to them. With `state_dict=None` the model keeps
    its random initialisation (useful for shape-only work).
    """
    return _build(_construct, state_dict, config)


def _build(construct, state_dict: dict[str, torch.Tensor] | None, config: dict | None):
    if state_dict is None:
        return construct(config).eval()
    try:
        with torch.device("meta"):
            model = construct(config)
        model.load_state_dict(state_dict, strict=True, assign=True)
        emb = model.bert.embeddings
        if hasattr(emb, "position_ids"):
            # transformers' ALBERT has two non-persistent index buffers that a state dict does not carry
            positions = emb.position_embeddings.num_embeddings
            emb.register_buffer("position_ids", torch.arange(positions).expand((1, -1)), persistent=False)
            emb.register_buffer("token_type_ids", torch.zeros(1, positions, dtype=torch.long), persistent=False)
        _rebuild_plain_tensors(model)
        left = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
        left += [f"{name}.{key}" for name, key in _meta_attributes(model)]
        if left:
            raise RuntimeError(f"tensors left on the meta device: {left[:3]}")
    except RuntimeError as exc:
        if "Error(s) in loading state_dict" in str(exc):
            raise  # wrong weights: say so, do not hide it behind a slow rebuild
        log.warning("fast model build failed (%s); building the ordinary way", exc)
        model = construct(config)
        model.load_state_dict(state_dict, strict=True)
    return model.eval()


def _meta_attributes(model: torch.nn.Module):
    """Tensors kept as plain attributes (not parameters/buffers) that are still on the meta device.

    Weight norm's `weight` is one, but it is recomputed from weight_g/weight_v before every use.
    """
    for name, module in model.named_modules():
        for key, value in vars(module).items():
            if isinstance(value, torch.Tensor) and value.is_meta:
                if key == "weight" and hasattr(module, "weight_g"):
                    continue
                yield name, key


def _rebuild_plain_tensors(model: torch.nn.Module) -> None:
    # kokoro's TorchSTFT keeps its Hann window as a plain attribute, made in __init__.
    stft = model.decoder.generator.stft
    if isinstance(getattr(stft, "window", None), torch.Tensor) and stft.window.is_meta:
        stft.window = torch.hann_window(stft.win_length, periodic=True, dtype=torch.float32)


def remove_weight_norm(model: torch.nn.Module) -> torch.nn.Module:
    """Fold kokoro's (old-style) weight norm into plain weights: same function, no per-call recompute."""
    for module in model.modules():
        if hasattr(module, "weight_g") and hasattr(module, "weight_v"):
            torch.nn.utils.remove_weight_norm(module)
    return model
