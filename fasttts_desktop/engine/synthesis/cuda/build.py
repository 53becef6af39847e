"""The GPU model (pipeline.FastModel) on its device: built from the float32 weights, or loaded from its
stored form (engine/synthesis/stored.py) straight into device memory.

The stored form holds the built model's tensors as the GPU runs them (weight norm folded, styles folded,
q/k/v joined, the decoder in fp16 with its float32 parts, channels-last weights), so a start with it reads
one file and converts nothing: the float32 weights are never read. The model's modules are made first as a
frame on the device (the same build code over uninitialised tensors: on a GPU a few ms of kernels), and the
file's tensors take their places. Any problem with the stored form costs one logged line and the ordinary
build (`fast_model`); the file is then rewritten whole, off the start-up path (`StoredModel.write`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import torch

from fasttts_desktop.engine.storage.files import SaveError
from fasttts_desktop.engine.synthesis import stored
from fasttts_desktop.engine.synthesis.cuda.pipeline import FastModel
from fasttts_desktop.engine.synthesis.model import KokoroModel
from fasttts_desktop.engine.types import Progress

if TYPE_CHECKING:  # backend.py imports this module
    from fasttts_desktop.engine.synthesis.cuda.backend import Options

log = logging.getLogger(__name__)

# The GPU model's stored form; bump with anything that changes what it holds (the modules' tensors)
STORED_FORMAT = 1


class WeightsLike(Protocol):
    """What the GPU build reads of its weights: weights.store.Weights, or the bench's own."""

    @property
    def state_dict(self) -> dict[str, torch.Tensor]: ...
    @property
    def fingerprint(self) -> str: ...  # a compile-cache key
    def derived_path(self, form: str) -> Path | None: ...  # where a stored form may live (None: nowhere)


def stored_form(options: Options) -> stored.Form:
    """The stored form for these build options: dtype, layout and the decoder parts kept float32; and the
    code that made it (`code_digest`)."""
    layout = "nhwc" if options.channels_last else "ncl"
    keep = "-".join(sorted(options.fp32_parts)) or "none"
    return stored.Form("cuda", options.dtype, STORED_FORMAT, f"{layout}-fp32-{keep}", code_digest())


# The modules whose code turns the float32 weights into the stored tensors (folding, joining, converting,
# ordering the style table, the constant buffers): an edit to any of them replaces the stored form once,
# so a forgotten STORED_FORMAT bump costs a rebuild, never a wrong model.
_MAKERS = (
    "fasttts_desktop.engine.synthesis.albert",
    "fasttts_desktop.engine.synthesis.blocks",
    "fasttts_desktop.engine.synthesis.decoder",
    "fasttts_desktop.engine.synthesis.lstm",
    "fasttts_desktop.engine.synthesis.model",
    "fasttts_desktop.engine.synthesis.model_build",
    "fasttts_desktop.engine.synthesis.prosody",
    "fasttts_desktop.engine.synthesis.styles",
    "fasttts_desktop.engine.synthesis.stored",
    "fasttts_desktop.engine.synthesis.cuda.build",
    "fasttts_desktop.engine.synthesis.cuda.decoder",
    "fasttts_desktop.engine.synthesis.cuda.pipeline",
    "fasttts_desktop.engine.synthesis.cuda.source",
)


@functools.cache
def code_digest() -> str:
    """sha256 (12 hex digits) over the sources of `_MAKERS` and kokoro's version (its vocoder modules are
    built too); the project's version where a source cannot be read (a zipped install)."""
    import importlib.metadata
    import importlib.util

    import fasttts_desktop

    h = hashlib.sha256(importlib.metadata.version("kokoro").encode())
    for name in _MAKERS:
        spec = importlib.util.find_spec(name)
        try:
            h.update(Path(spec.origin).read_bytes() if spec and spec.origin else b"?")
        except OSError:
            return f"v{fasttts_desktop.__version__}"
    return h.hexdigest()[:12]


@dataclass
class StoredModel:
    """How the model came to be, for the log and the bench: `status` "loaded" (from its stored form),
    "built" (no usable stored form: `write` stores it), "none" (weights with no stored form: the
    bench's random or file weights, user weights)."""

    status: str = "none"
    path: Path | None = None
    load_s: float | None = None  # reading the stored form into device memory, frame included
    frame_s: float | None = None  # of which making the frame (on a first CUDA use, the context's start too)
    write_s: float | None = None  # writing it, once `write` has run
    pending: Callable[[], None] | None = field(default=None, repr=False)  # the write `write` makes

    def write(self) -> None:
        """Store the built model (once; off the start-up path: copying ~250 MB to the host and to disk)."""
        pending, self.pending = self.pending, None
        if pending is not None:
            t0 = time.perf_counter()
            pending()
            self.write_s = round(time.perf_counter() - t0, 3)


def fast_model(
    weights: WeightsLike, device: torch.device, options: Options, progress: Progress | None = None
) -> tuple[FastModel, StoredModel]:
    """The model from its stored form where the weights have one that fits, else built from their state
    dict (which is then the only thing read of them)."""
    form = stored_form(options)
    path = weights.derived_path(form.name)
    info = StoredModel(path=path)
    if path is not None:
        if progress:
            progress("Loading the stored GPU model", 0.0)
        t0 = time.perf_counter()
        model = _load(path, form, device, options, info)
        info.load_s = round(time.perf_counter() - t0, 3)
        if model is not None:
            info.status = "loaded"
            if progress:
                progress("Loading the stored GPU model", 1.0)
            return model, info
        info.status = "built"
    model = build_fast_model(weights.state_dict, device, options, progress)
    if path is not None:
        info.pending = lambda: _write(path, model, form, weights.fingerprint)
    return model, info


def _load(
    path: Path, form: stored.Form, device: torch.device, options: Options, info: StoredModel
) -> FastModel | None:
    def timed_frame() -> FastModel:
        t0 = time.perf_counter()
        made = frame(device, options)
        info.frame_s = round(time.perf_counter() - t0, 3)
        return made

    try:
        if device.type == "cuda" and device.index is None:  # "cuda": the current one, named as tensors are
            device = torch.device("cuda", torch.cuda.current_device())
        model = stored.load_model(path, form, timed_frame, device)
        if model is None:
            return None
        away = [n for n, t in stored.model_tensors(model).items() if t.device != device]
        if away:
            raise ValueError(f"{away[0]} is not on {device}")
        return finish(model, options)
    except Exception as exc:  # noqa: BLE001 - any problem with the stored form: the ordinary build instead
        log.warning("The stored GPU model at %s could not be used (%s); building it", path, str(exc)[:300])
        if device.type == "cuda":
            torch.cuda.empty_cache()  # the frame's memory
        return None


def _write(path: Path, model: FastModel, form: stored.Form, fingerprint: str) -> None:
    try:
        stored.save_model(path, stored.model_tensors(model), form, fingerprint)
    except SaveError as e:  # a full or read-only disk: the next start builds again
        log.info("Could not store the GPU model at %s: %s", path, e)
    except Exception as exc:  # noqa: BLE001 - on the background thread: what follows it must still run
        log.warning("Storing the GPU model at %s failed (%s)", path, str(exc)[:300])


def build_fast_model(
    state_dict: dict[str, torch.Tensor],
    device: torch.device,
    options: Options,
    progress: Progress | None = None,
) -> FastModel:
    """The model's modules (KokoroModel: kokoro's tree without transformers; weight norm folded) under our
    forward functions, on `device`. Progress after each step (the steps' times show in the warm-start
    bench)."""
    from fasttts_desktop.engine.synthesis.model_build import build_folded_model

    def step(fraction: float) -> None:
        if progress:
            progress("Building the GPU model", fraction)

    check_lstm(options)
    step(0.0)
    # weight norm folded as the weights are placed, no random init, no meta tensors: build_model's meta
    # device imported sympy and more here, 4.45 s of the H200's 12.5 s warm start (fc7c8da)
    kmodel = build_folded_model(state_dict)
    step(0.25)
    model = _assemble(kmodel, options)
    step(0.5)
    model.to(device)
    step(0.75)
    finish(model, options)
    step(1.0)
    return model


def check_lstm(options: Options) -> None:
    if options.lstm not in ("persistent", "cudnn"):
        raise ValueError(f"lstm {options.lstm!r}: 'persistent' or 'cudnn'")


def _assemble(kmodel: KokoroModel, options: Options) -> FastModel:
    kmodel.bert.join_qkv()
    model = FastModel(kmodel, options.dtype, tuple(options.fp32_parts), options.channels_last).eval()
    del kmodel.decoder  # the decoder core holds its own low-precision copy; the rest is shared
    return model


def frame(device: torch.device, options: Options) -> FastModel:
    """The model's modules as `build_fast_model` makes them, on `device`, over uninitialised tensors of the
    dtypes, shapes and layouts the stored form must fill. No meta tensors (their first use imports sympy
    and more: seconds); on a GPU the build's conversions are a few ms of kernels over that memory."""
    from fasttts_desktop.engine.synthesis.model_build import bare_folded_model

    check_lstm(options)
    with torch.device(device):
        return _assemble(bare_folded_model(), options)


def finish(model: FastModel, options: Options) -> FastModel:
    """What is made on the device from the model's tensors: cuDNN's flat LSTM weights, and the persistent
    LSTM kernel's joined ones."""
    for lstm in (m for m in model.modules() if isinstance(m, torch.nn.LSTM)):
        lstm.flatten_parameters()
    if options.lstm == "persistent":
        from fasttts_desktop.engine.synthesis.cuda.lstm_kernel import use_persistent

        use_persistent(model)
    return model
