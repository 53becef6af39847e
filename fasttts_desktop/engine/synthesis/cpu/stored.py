"""The CPU model's weights kept on disk in the form the CPU runs, and memory-mapped at start.

One safetensors file beside the converted offline weights (`Weights.derived_path`) holding the built CPU
model's state dict: weight norm folded, the decoder's and vocoder's big convolutions in the compute dtype
(bfloat16 on CPUs with native bf16), the text side and everything else float32, the AdaIN style projections
already joined into their StyleTables. A start converts nothing: the model's tensors are views of the
file's mapping (safetensors' mmap backend), so the weights cost no read, no copy, no float32 version of what
runs in bfloat16, and their pages are the page cache's (shared, and dropped under memory pressure instead of
swapped).

The format version (FORMAT: bump it with anything that changes what the file holds, e.g. which tensors run
in bfloat16) and the dtype are in the name and in the file's metadata; a file that does not match is
rebuilt, once, from the float32 weights. Written whole or not at all (AtomicFile: a temporary file renamed
into place), so a crash mid-write leaves no file that could be read.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from fasttts_desktop.engine.storage.files import AtomicFile, cannot_save, current_umask, describe_os_error
from fasttts_desktop.engine.synthesis.model_build import bare_folded_model

if TYPE_CHECKING:
    from fasttts_desktop.engine.synthesis.model import KokoroModel

log = logging.getLogger(__name__)

FORMAT = 1
_DTYPES = {torch.float32: "float32", torch.bfloat16: "bfloat16"}


def form_name(dtype: torch.dtype) -> str:
    """The form's name for `Weights.derived_path`: what it is, its compute dtype, its format version."""
    return f"cpu-{_DTYPES[dtype]}-f{FORMAT}"


def load_model(path: Path, dtype: torch.dtype, expected: Callable[[str], torch.dtype]) -> KokoroModel | None:
    """The CPU model (styles folded, eval) on the mapped tensors of the file at `path`; None where there is
    no such file or it does not fit (logged; the caller rebuilds it). `expected(key)`: each tensor's dtype."""
    import safetensors
    import safetensors.torch

    try:
        with safetensors.safe_open(path, framework="pt") as f:
            meta = f.metadata() or {}
        if meta.get("format") != str(FORMAT) or meta.get("dtype") != _DTYPES[dtype]:
            raise ValueError(f"format {meta.get('format')}, dtype {meta.get('dtype')}")
        tensors = safetensors.torch.load_file(path)  # mmap: views of the file, nothing read yet
        _read_ahead(path)
        wrong = next((k for k, t in tensors.items() if t.dtype != expected(k)), None)
        if wrong is not None:
            raise ValueError(f"{wrong} is {tensors[wrong].dtype}, expected {expected(wrong)}")
        model = bare_folded_model().fold_styles()
        model.load_state_dict(tensors, strict=True, assign=True)  # names and shapes checked here
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RuntimeError, safetensors.SafetensorError) as e:
        log.warning("The stored CPU model at %s is unusable (%s); rebuilding it", path, str(e)[:300])
        return None
    return model.eval()


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


def save_model(path: Path, model: KokoroModel, dtype: torch.dtype, fingerprint: str) -> None:
    """The model's state dict to `path`, whole or not at all; older formats of the same form removed.
    SaveError where it cannot be written (the caller runs from memory, and the next start rebuilds)."""
    import safetensors.torch

    tensors = _unshared(model.state_dict())
    meta = {"format": str(FORMAT), "dtype": _DTYPES[dtype], "fingerprint": fingerprint}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise cannot_save(path.parent, describe_os_error(e)) from e
    with AtomicFile(path) as f:
        try:
            safetensors.torch.save_file(tensors, f.temp_path, metadata=meta)
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


def _unshared(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Each tensor owning its whole storage, as safetensors wants: views (a converter's slices) and tensors
    met twice are copied."""
    seen: set[int] = set()
    out = {}
    for key, value in state_dict.items():
        t = value.detach()
        storage = t.untyped_storage()
        whole = (
            t.is_contiguous() and t.storage_offset() == 0 and storage.nbytes() == t.numel() * t.element_size()
        )
        if not whole or storage.data_ptr() in seen:
            t = t.clone(memory_format=torch.contiguous_format)
        seen.add(t.untyped_storage().data_ptr())
        out[key] = t
    return out


def _remove_other_formats(path: Path) -> None:
    """Other format versions of this form beside `path`: never read again, ~200 MB each."""
    stem = path.name.removesuffix(".safetensors").rsplit("-f", 1)[0]
    for old in path.parent.glob(f"{stem}-f*.safetensors"):
        if old.name != path.name:
            try:
                old.unlink()
            except OSError as e:
                log.info("Could not remove the old stored model %s: %s", old, e)
