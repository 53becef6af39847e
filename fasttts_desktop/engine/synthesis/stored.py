"""A built model's weights kept on disk in the form a backend runs them, and loaded at start as they are.

One safetensors file per form beside the converted offline weights (`Weights.derived_path`), holding the
built model's tensors (its state dict, and the buffers it keeps outside it, such as ALBERT's joined q/k/v)
in the dtype and memory layout they run in: weight norm folded, the style projections joined into their
StyleTables, the low-precision parts already converted. A start converts nothing and never reads the
float32 weights: the CPU backend maps the file (safetensors' mmap backend: its tensors are views of the
page cache, shared, and dropped under memory pressure instead of swapped); the GPU backend copies it
straight into device memory (cuda/build.py).

What a file holds is named by its `Form` (kind, compute dtype, variant, format version: bump the version
with anything that changes what the file holds), in its name and in its metadata; a file that does not
match, or whose tensors do not fit the model, is rebuilt, once, from the float32 weights. Written whole or
not at all (AtomicFile: a temporary file renamed into place), so a crash mid-write leaves no file that could
be read.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from fasttts_desktop.engine.storage.files import AtomicFile, cannot_save, current_umask, describe_os_error

log = logging.getLogger(__name__)

M = TypeVar("M", bound=nn.Module)
_DTYPES = {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}
_LABELS = {"cpu": "CPU", "cuda": "GPU"}


@dataclass(frozen=True)
class Form:
    """One stored form of the model: what its file is called and the metadata it must carry to be read."""

    kind: str  # the backend: "cpu", "cuda"
    dtype: torch.dtype  # the compute dtype of its low-precision parts
    version: int  # the format: bump it with anything that changes what the file holds
    variant: str = ""  # anything else that changes the tensors (layout, parts kept float32); file-name safe
    code: str = ""  # a digest of the code that makes the tensors (metadata only: a new one replaces the file)

    @property
    def name(self) -> str:
        """The form's name for `Weights.derived_path`: kind, dtype, variant, format version."""
        return "-".join([self.kind, _DTYPES[self.dtype], *filter(None, [self.variant]), f"f{self.version}"])

    @property
    def label(self) -> str:
        return _LABELS.get(self.kind, self.kind)

    def metadata(self) -> dict[str, str]:
        meta = {"format": str(self.version), "dtype": _DTYPES[self.dtype]}
        if self.variant:
            meta["variant"] = self.variant
        if self.code:
            meta["code"] = self.code
        return meta


def model_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """What a stored form holds of `model`: its state dict and the buffers it keeps outside it."""
    tensors = model.state_dict()
    for name, buffer in model.named_buffers():
        tensors.setdefault(name, buffer)
    return {key: t.detach() for key, t in tensors.items()}


def load_model(
    path: Path,
    form: Form,
    frame: Callable[[], M],
    device: torch.device | str = "cpu",
    expected: Callable[[str], torch.dtype] | None = None,
) -> M | None:
    """`frame()` (the model's modules, their tensors not yet set) holding the tensors of the file at `path`
    on `device` (the CPU: views of the file's mapping; else one copy each); None where there is no such
    file or it does not fit (logged; the caller rebuilds it). `expected(key)`: each tensor's dtype where the
    frame's dtypes are not the stored ones (default: the frame's)."""
    import safetensors
    import safetensors.torch

    try:
        with safetensors.safe_open(path, framework="pt") as f:
            meta = f.metadata() or {}
        wrong = {k: meta.get(k) for k, v in form.metadata().items() if meta.get(k) != v}
        if wrong:
            raise ValueError(", ".join(f"{k} {v}" for k, v in wrong.items()))
        _read_ahead(path)
        device = torch.device(device)
        where = "cpu" if device.type == "cpu" else f"{device.type}:{device.index or 0}"
        tensors = safetensors.torch.load_file(path, device=where)  # the CPU: mmap, nothing read yet
        for key in filter(None, meta.get("channels_last", "").split(",")):
            tensors[key] = tensors[key].permute(0, 3, 1, 2)  # stored [N, H, W, C]: the same bytes
        for alias, original in json.loads(meta.get("aliases", "{}")).items():
            tensors[alias] = tensors[original]
        model = frame()
        _assign(model, tensors, expected)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RuntimeError, KeyError, TypeError, safetensors.SafetensorError) as e:
        log.warning(
            "The stored %s model at %s is unusable (%s); rebuilding it", form.label, path, str(e)[:300]
        )
        return None
    return model.eval()


def _assign(
    model: nn.Module, tensors: dict[str, torch.Tensor], expected: Callable[[str], torch.dtype] | None
):
    """Put `tensors` in place of the frame's: every one of them, each with the frame's shape, memory
    layout and dtype (or `expected`'s); ValueError where they do not fit."""
    own = model_tensors(model)
    if set(own) != set(tensors):
        missing, extra = sorted(set(own) - set(tensors)), sorted(set(tensors) - set(own))
        raise ValueError(f"missing {missing[:3]}, unexpected {extra[:3]}")
    for key, t in tensors.items():
        want = own[key]
        dtype = expected(key) if expected is not None else want.dtype
        if t.dtype != dtype or t.shape != want.shape or _channels_last(t) != _channels_last(want):
            raise ValueError(f"{key} is {t.dtype} {list(t.shape)}, expected {dtype} {list(want.shape)}")
    state = model.state_dict()
    model.load_state_dict({k: tensors[k] for k in state}, strict=True, assign=True)
    for key in own.keys() - state.keys():  # buffers kept outside the state dict
        owner, _, name = key.rpartition(".")
        setattr(model.get_submodule(owner), name, tensors[key])


def _channels_last(t: torch.Tensor) -> bool:
    """Whether `t` has exactly channels-last strides, and not also the plain ones (a [N, C, 1, 1] weight can
    have either set while being "contiguous" in both formats; cuDNN reads the strides)."""
    if t.dim() != 4:
        return False
    _, c, h, w = t.shape
    return t.stride() == (h * w * c, 1, w * c, c) and t.stride() != (c * h * w, h * w, w, 1)


def _read_ahead(path: Path) -> None:
    """Ask the kernel to bring the file into the page cache in the background: after a reboot, the first
    chunk would otherwise wait for the disk, page by page."""
    if not hasattr(os, "posix_fadvise"):
        return
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
        finally:
            os.close(fd)
    except OSError:
        pass  # only a hint


def save_model(path: Path, tensors: dict[str, torch.Tensor], form: Form, fingerprint: str) -> None:
    """`tensors` (`model_tensors(model)`, on any device) to `path`, whole or not at all; older formats of
    the same form removed. SaveError where it cannot be written (the caller runs from memory, and the next
    start rebuilds)."""
    import safetensors.torch

    flat, layout = _for_file(tensors)
    meta = {**form.metadata(), "fingerprint": fingerprint, **layout}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise cannot_save(path.parent, describe_os_error(e)) from e
    with AtomicFile(path) as f:
        try:
            safetensors.torch.save_file(flat, f.temp_path, metadata=meta)
            # save_file replaces the temporary file with one of its own (a new inode), so the AtomicFile's
            # descriptor no longer reaches the data: make it durable, and readable as other caches are, here
            fd = os.open(f.temp_path, os.O_RDONLY)
            try:
                os.fchmod(fd, 0o666 & ~current_umask())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            raise f.os_error(e) from e
        f.commit()
    _remove_other_formats(path)


def _for_file(tensors: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors as safetensors wants them (on the CPU, each owning its whole storage) and the metadata
    that restores what that loses: a tensor met again under another name (a module shared by two parents)
    is stored once and named in "aliases"; a channels-last weight is stored as its [N, H, W, C] permutation
    (the same bytes, contiguous) and named in "channels_last". Other views (a converter's slices) are
    copied."""
    out: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    layout: list[str] = []
    seen: dict[tuple, str] = {}
    storages: set[int] = set()
    for key, value in tensors.items():
        t = value.detach()
        ident = (t.device, t.data_ptr(), t.dtype, tuple(t.shape), t.stride())
        if t.numel() and ident in seen:
            aliases[key] = seen[ident]
            continue
        seen[ident] = key
        if _channels_last(t):
            t = t.permute(0, 2, 3, 1)
            layout.append(key)
        t = t.cpu()
        storage = t.untyped_storage()
        whole = (
            t.is_contiguous() and t.storage_offset() == 0 and storage.nbytes() == t.numel() * t.element_size()
        )
        if not whole or storage.data_ptr() in storages:
            t = t.clone(memory_format=torch.contiguous_format)
        storages.add(t.untyped_storage().data_ptr())
        out[key] = t
    meta = {}
    if aliases:
        meta["aliases"] = json.dumps(aliases)
    if layout:
        meta["channels_last"] = ",".join(layout)
    return out, meta


def _remove_other_formats(path: Path) -> None:
    """Other format versions of this form beside `path`: never read again, ~200 MB each."""
    stem = path.name.removesuffix(".safetensors").rsplit("-f", 1)[0]
    for old in path.parent.glob(f"{stem}-f*.safetensors"):
        if old.name != path.name:
            try:
                old.unlink()
            except OSError as e:
                log.info("Could not remove the old stored model %s: %s", old, e)
