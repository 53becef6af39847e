"""The on-disk cache of compiled artifacts: one folder per key under the user cache dir.

    <user cache>/fasttts-desktop/compile/<name>-<digest>/
        meta.json      the key fields, the artifact's size and sha256, and whether a fresh process loaded it
        <artifact>     e.g. decoder.bin (a precompiled decoder)

The key covers everything that changes the compiled code or the numbers baked into it: the weights'
fingerprint, torch and CUDA versions, the GPU's name and compute capability, the dtype, the build options
and this project's version. An entry whose meta does not match its key (stale or foreign), whose artifact
is missing, truncated or altered (corrupt), or that failed to load before, is removed and rebuilt.
Writes go to a temporary folder renamed into place, so a crash mid-build leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from fasttts_desktop.engine.storage.files import write_text_atomic

log = logging.getLogger(__name__)

# Bump when the artifact's format or the code that builds it changes meaning.
# 3: the decoder's AdaIN modules swapped for StyledNorm (styles.py)
# 4: the decoder is the model's own modules (decoder.py, blocks.py), wrapped; guards name their classes
FORMAT = 4  # 2: Dynamo-precompiled decoders (precompiled.py), channels-last with 1-D convs at batch 1


def cache_root() -> Path:
    override = os.environ.get("FASTTTS_COMPILE_CACHE")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("fasttts-desktop", appauthor=False)) / "compile"


@dataclass(frozen=True)
class CacheKey:
    name: str  # what is cached, e.g. "decoder"
    weights: str  # the weights' fingerprint
    torch: str
    cuda: str
    gpu: str  # device name and compute capability, e.g. "NVIDIA H100 80GB HBM3 sm_90"
    dtype: str
    options: str  # build options that change the code, e.g. "conv2d=1"
    project: str  # fasttts_desktop.__version__
    format: int = FORMAT

    @classmethod
    def for_device(cls, name: str, weights: str, device, dtype, options: str) -> CacheKey:
        import torch

        import fasttts_desktop

        if device.type == "cuda":
            major, minor = torch.cuda.get_device_capability(device)
            gpu = f"{torch.cuda.get_device_name(device)} sm_{major}{minor}"
        else:
            gpu = "cpu"
        return cls(
            name=name,
            weights=weights,
            torch=torch.__version__,
            cuda=str(torch.version.cuda),
            gpu=gpu,
            dtype=str(dtype).removeprefix("torch."),
            options=options,
            project=fasttts_desktop.__version__,
        )

    def digest(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:20]

    def folder(self, root: Path | None = None) -> Path:
        return (root or cache_root()) / f"{self.name}-{self.digest()}"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


class CompileCache:
    def __init__(self, root: Path | None = None):
        self.root = root or cache_root()

    def lookup(self, key: CacheKey, artifact: str) -> Path | None:
        """The artifact's path if a sound entry for exactly this key exists; else None (bad entries
        removed)."""
        folder = key.folder(self.root)
        if not folder.exists():
            return None
        if self.loads(key) is False:
            return None  # kept as a tombstone: rebuilding would crash again on the same setup
        problem = self._check(folder, key, artifact)
        if problem:
            log.warning("compile cache: %s in %s; rebuilding", problem, folder)
            self.remove(key)
            return None
        return folder / artifact

    def _check(self, folder: Path, key: CacheKey, artifact: str) -> str | None:
        try:
            meta = json.loads((folder / "meta.json").read_text())
        except (OSError, ValueError):
            return "unreadable meta.json"
        if meta.get("key") != asdict(key):
            return "stale or foreign entry (key differs)"
        path = folder / artifact
        try:
            size = path.stat().st_size
        except OSError:
            return "missing artifact"
        if size != meta.get("size"):
            return "truncated artifact"
        if _sha256(path) != meta.get("sha256"):
            return "corrupt artifact (checksum)"
        return None

    def store(self, key: CacheKey, artifact: str, build: Callable[[Path], None]) -> Path:
        """Run build(path) into a temporary folder, then move the finished entry into place."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key.name}-", dir=self.root))
        try:
            t0 = time.perf_counter()
            build(tmp / artifact)
            meta = {
                "key": asdict(key),
                "size": (tmp / artifact).stat().st_size,
                "sha256": _sha256(tmp / artifact),
                "build_s": round(time.perf_counter() - t0, 1),
                "created": time.time(),
                "loads": None,
            }
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
            folder = key.folder(self.root)
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)
            tmp.replace(folder)
            return folder / artifact
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def mark(self, key: CacheKey, loads: bool | str) -> None:
        """Record whether (and how: a load mode) a fresh process could load the entry.

        An entry marked False is never loaded again: a crash there must not recur in the app.
        """
        path = key.folder(self.root) / "meta.json"
        try:
            meta = json.loads(path.read_text())
        except (OSError, ValueError):
            return
        meta["loads"] = loads
        write_text_atomic(path, json.dumps(meta, indent=1))

    def loads(self, key: CacheKey) -> bool | str | None:
        try:
            return json.loads((key.folder(self.root) / "meta.json").read_text()).get("loads")
        except (OSError, ValueError):
            return None

    def remove(self, key: CacheKey) -> None:
        shutil.rmtree(key.folder(self.root), ignore_errors=True)
