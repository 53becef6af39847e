"""Build the model around weights we already hold in memory: ours (`build_model`) or kokoro's
(`build_kmodel`).

`build_model` is what the app runs: engine/synthesis/model.py's KokoroModel, kokoro's function and module
tree without importing transformers (or kokoro's package __init__ with misaki and spaCy), so start-up does
not pay seconds for them. `build_kmodel` is kokoro's own KModel, the reference that tests and the bench
compare against. KModel's constructor insists on loading a checkpoint file (and downloads one from Hugging
Face when given none); we hand it an empty checkpoint so it builds the modules and loads nothing.

Both then load our state dict with strict checking, which kokoro's own loader does not do.
"""

from __future__ import annotations

import functools
import io
import logging
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any, TypeVar

import torch

from fasttts_desktop.engine.storage.files import write_bytes_atomic
from fasttts_desktop.engine.synthesis.config import kokoro_config

log = logging.getLogger(__name__)

M = TypeVar("M", bound=torch.nn.Module)
_build_lock = threading.Lock()  # build_folded_model swaps a module global while it builds


@functools.cache
def _empty_checkpoint() -> str:
    path = Path(tempfile.gettempdir()) / "fasttts-desktop-empty-checkpoint.pth"
    if not path.exists():
        buffer = io.BytesIO()
        torch.save({}, buffer)
        write_bytes_atomic(path, buffer.getvalue())
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
            emb.register_buffer(
                "token_type_ids", torch.zeros(1, positions, dtype=torch.long), persistent=False
            )
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
    stft: Any = model.get_submodule("decoder.generator.stft")  # kokoro's module: untyped
    if isinstance(getattr(stft, "window", None), torch.Tensor) and stft.window.is_meta:
        stft.window = torch.hann_window(stft.win_length, periodic=True, dtype=torch.float32)


def remove_weight_norm(model: M) -> M:
    """Fold kokoro's (old-style) weight norm into plain weights: same function, no per-call recompute."""
    for module in model.modules():
        if hasattr(module, "weight_g") and hasattr(module, "weight_v"):
            torch.nn.utils.remove_weight_norm(module)
    return model


# -- the runtime build: weight norm folded, nothing initialised, nothing allocated twice


def fold_weight_norm(
    state_dict: dict[str, torch.Tensor], cast=None, consume: bool = False
) -> dict[str, torch.Tensor]:
    """kokoro's weight_g / weight_v pairs as the plain `weight` they stand for (what remove_weight_norm
    computes, with the same kernel), every other tensor as it is. `cast(key)` may name a dtype for a tensor
    (None: keep float32); the conversion happens here, one tensor at a time, so no float32 copy of the
    whole model is ever made beside the state dict. With `consume`, entries leave `state_dict` as they are
    converted, so their memory goes as the model's arrives (start-up peak: one copy, not two)."""
    out = {}
    for key in list(state_dict):
        if key.endswith(".weight_v") or key not in state_dict:
            continue
        value = state_dict.pop(key) if consume else state_dict[key]
        if key.endswith(".weight_g"):
            key = key[: -len("_g")]
            v = state_dict.pop(key + "_v") if consume else state_dict[key + "_v"]
            value = torch._weight_norm(v, value, 0)  # noqa: SLF001 - the kernel remove_weight_norm uses
        dtype = cast(key) if cast else None
        out[key] = value.to(dtype) if dtype is not None else value
    return out


class _SkipInit(torch.overrides.TorchFunctionMode):
    """Module constructors' random initialisation as no-ops: the weights are assigned right after."""

    _SKIP = frozenset(
        {
            torch.Tensor.normal_,
            torch.Tensor.uniform_,
            torch.Tensor.zero_,
            torch.Tensor.fill_,
            torch.nn.init.normal_,
            torch.nn.init.uniform_,
            torch.nn.init.kaiming_uniform_,
            torch.nn.init.xavier_uniform_,
            torch.nn.init.zeros_,
            torch.nn.init.ones_,
            torch.nn.init.constant_,
        }
    )

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self._SKIP:
            return args[0] if args else kwargs["tensor"]
        return func(*args, **kwargs)


def build_folded_model(
    state_dict: dict[str, torch.Tensor], config: dict | None = None, cast=None, consume: bool = False
):
    """Our KokoroModel (CPU, eval) with weight norm folded, as `remove_weight_norm(build_model(sd))` gives it
    (tested equal), built faster and in less memory: no weight norm to set up and tear down, no random
    initialisation, and no meta tensors (whose first use imports a good part of torch: sympy and more,
    seconds on a 2-core machine). Parameters start as uninitialised CPU tensors, never touched, then
    replaced by the given ones. `cast`, `consume`: as for `fold_weight_norm`."""
    folded = fold_weight_norm(state_dict, cast, consume)
    model = bare_folded_model(config)
    model.load_state_dict(folded, strict=True, assign=True)
    return model.eval()


def bare_folded_model(config: dict | None = None):
    """Our KokoroModel with weight norm folded away and its parameters uninitialised (never touched, so
    never in memory): a frame to `load_state_dict(..., assign=True)` a folded state dict into."""
    from fasttts_desktop.engine.synthesis import blocks
    from fasttts_desktop.engine.synthesis.model import KokoroModel

    def plain(module: M) -> M:
        return module

    with _build_lock:
        saved = blocks.weight_normed
        blocks.weight_normed = plain  # every weight-normed layer of ours is made through this name
        try:
            # No warnings.catch_warnings here (this build warns of nothing): it saves and restores the
            # process's warning filters, so on start-up, beside the front end's imports on another thread,
            # it undid a filter `requests` set meanwhile and a library warning reached the terminal.
            with _SkipInit():
                return KokoroModel(config or kokoro_config())
        finally:
            blocks.weight_normed = saved
