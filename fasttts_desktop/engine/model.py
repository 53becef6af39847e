"""Build kokoro's own KModel around weights we already hold in memory.

KModel's constructor insists on loading a checkpoint file (and downloads one from Hugging Face when given
none). We hand it an empty checkpoint so it builds the modules and loads nothing, then load our state dict
with strict checking, which kokoro's own loader does not do.
"""

from __future__ import annotations

import functools
import tempfile
import warnings
from pathlib import Path

import torch

from fasttts_desktop.engine.config import kokoro_config


@functools.cache
def _empty_checkpoint() -> str:
    path = Path(tempfile.gettempdir()) / "fasttts-desktop-empty-checkpoint.pth"
    if not path.exists():
        tmp = path.with_suffix(f".{id(path)}.tmp")
        torch.save({}, tmp)
        tmp.replace(path)
    return str(path)


def build_kmodel(state_dict: dict[str, torch.Tensor] | None = None, config: dict | None = None):
    """Return an eval-mode KModel (float32, CPU) holding `state_dict` (KModel.state_dict() key format).

    With `state_dict=None` the model keeps its random initialisation (useful for shape-only work).
    """
    from kokoro.model import KModel  # imported late: kokoro's package import pulls in misaki and spaCy

    with warnings.catch_warnings():
        # kokoro builds 1-layer LSTMs with dropout and uses the deprecated weight_norm: both harmless here,
        # and a user should not see library warnings on every launch.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", FutureWarning)
        model = KModel(repo_id="hexgrad/Kokoro-82M", config=config or kokoro_config(), model=_empty_checkpoint())
    if state_dict is not None:
        model.load_state_dict(state_dict, strict=True)
    return model.eval()


def remove_weight_norm(model: torch.nn.Module) -> torch.nn.Module:
    """Fold kokoro's (old-style) weight norm into plain weights: same function, no per-call recompute."""
    for module in model.modules():
        if hasattr(module, "weight_g") and hasattr(module, "weight_v"):
            torch.nn.utils.remove_weight_norm(module)
    return model
