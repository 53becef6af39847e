"""Voice blends: two or three voices mixed with weights, written "jm_kumo:60,jf_alpha:40", and saved ones.

A blend's voice pack is the weighted sum of its voices' packs, row by row (each row is the style for one
input length), with the weights normalised to sum to one; that is how kokoro's own voices are averaged.
Saved blends live in the user config dir as JSON, {name: [[voice, weight], ...]} (in order: the first
voice's language is the blend's), written whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fasttts_desktop.engine.storage.jsonfile import read_json, write_json_atomic
from fasttts_desktop.engine.types import EngineError

if TYPE_CHECKING:  # torch costs seconds to import; the blend dialog's parsing needs none of it
    import torch

__all__ = ["MAX_VOICES", "Blend", "blend_pack", "delete_blend", "is_blend_spec", "parse_blend", "save_blend",
           "saved_blends"]  # fmt: skip

FILE_NAME = "blends.json"
MAX_VOICES = 3
# "name:60", "name(2)" (Kokoro-FastAPI's form) or a bare name (weight 1); parts joined by "," or "+".
_PART = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(?::\s*([0-9.]+)|\(\s*([0-9.]+)\s*\))?\s*$")
_NAME = re.compile(r"^[^\s:,+()][^:,+()]{0,39}$")
_VOICE_LIKE = re.compile(r"^[abefhijpz][fm]_")  # kokoro's voice names, which always win over a saved blend


@dataclass(frozen=True)
class Blend:
    parts: tuple[tuple[str, float], ...]  # (voice name, weight); weights sum to 1

    @property
    def voices(self) -> list[str]:
        return [name for name, _ in self.parts]

    @property
    def spec(self) -> str:
        """The canonical spec, weights in percent: "jm_kumo:60,jf_alpha:40"."""
        return ",".join(f"{name}:{_percent(w)}" for name, w in self.parts)


def _percent(weight: float) -> str:
    p = round(weight * 100, 2)
    return f"{p:g}"


def is_blend_spec(text: str) -> bool:
    """Whether a voice argument is written as a blend (it names weights or more than one voice)."""
    return any(c in text for c in ":,+(")


def parse_blend(spec: str) -> Blend:
    """A Blend from "a:60,b:40", "a:3+b:1" or "a(2)+b(1)"; weights are normalised. EngineError if
    malformed."""
    parts: dict[str, float] = {}
    for piece in re.split(r"[,+]", spec):
        m = _PART.match(piece)
        if not m:
            raise EngineError(f"Cannot read the voice blend {spec!r}: write it like jm_kumo:60,jf_alpha:40")
        name, weight = m.group(1), m.group(2) or m.group(3) or "1"
        try:
            w = float(weight)
        except ValueError:
            raise EngineError(f"Weight {weight!r} for {name} in {spec!r} is not a number") from None
        parts[name] = parts.get(name, 0.0) + w
    if len(parts) > MAX_VOICES:
        raise EngineError(f"A blend mixes at most {MAX_VOICES} voices ({len(parts)} in {spec!r}).")
    total = sum(parts.values())
    if total <= 0:
        raise EngineError(f"The weights in {spec!r} add up to nothing: give at least one voice a weight.")
    return Blend(tuple((name, w / total) for name, w in parts.items()))


def blend_pack(blend: Blend, packs: dict[str, torch.Tensor]) -> torch.Tensor:
    """The weighted sum of the named packs (torch tensors [510, 1, 256]). EngineError names a missing
    voice."""
    missing = [n for n in blend.voices if n not in packs]
    if missing:
        known = ", ".join(sorted(packs))
        raise EngineError(
            f"Unknown voice {missing[0]!r} in the blend {blend.spec}. Available voices: {known}."
        )
    (first, first_weight), *rest = blend.parts  # a parsed blend has at least one voice
    out = packs[first] * first_weight
    for name, weight in rest:
        out = out + packs[name] * weight
    return out.contiguous()


# ------------------------------------------------------------------------------------------- saved blends


def _path() -> Path:
    from fasttts_desktop.engine.storage.paths import config_dir

    return config_dir() / FILE_NAME


def saved_blends() -> dict[str, Blend]:
    """The user's saved blends by name (a malformed one is skipped, the rest still load)."""
    raw = read_json(_path(), {})
    if not isinstance(raw, dict):
        raise EngineError(f"{_path()} is not a list of saved blends: fix or remove it")
    out = {}
    for name, parts in raw.items():
        try:
            spec = ",".join(f"{voice}:{float(w)}" for voice, w in parts)
            out[name] = parse_blend(spec)
        except (EngineError, AttributeError, TypeError, ValueError):
            import logging

            logging.getLogger(__name__).warning("skipping saved blend %r in %s", name, _path())
    return out


def save_blend(name: str, blend: Blend | str) -> Blend:
    """Save (or replace) a blend under `name`; a spec string is parsed first. Returns the saved Blend."""
    name = name.strip()
    if not _NAME.match(name):
        raise EngineError(f"A blend's name needs 1-40 characters, none of : , + ( ) (got {name!r}).")
    if _VOICE_LIKE.match(name):
        raise EngineError(f"{name!r} looks like one of Kokoro's voice names; give the blend another name.")
    if isinstance(blend, str):
        blend = parse_blend(blend)
    raw = read_json(_path(), {})
    raw = raw if isinstance(raw, dict) else {}
    raw[name] = [[voice, round(w, 6)] for voice, w in blend.parts]
    write_json_atomic(_path(), raw)
    return blend


def delete_blend(name: str) -> bool:
    """Forget a saved blend; False when there was none of that name."""
    raw = read_json(_path(), {})
    if not isinstance(raw, dict) or name not in raw:
        return False
    del raw[name]
    write_json_atomic(_path(), raw)
    return True
