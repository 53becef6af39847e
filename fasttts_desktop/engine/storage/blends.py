"""Voice blends: two or three voices mixed with weights, written "jm_kumo:60,jf_alpha:40", and saved ones.

A blend's voice pack is the weighted sum of its voices' packs, row by row (each row is the style for one
input length), with the weights normalised to sum to one; that is how kokoro's own voices are averaged.
Saved blends live in the user config dir as JSON, {name: [[voice, weight], ...]} (in order: the first
voice's language is the blend's), written whole.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fasttts_desktop.engine.storage.jsonfile import locked, read_json, write_json_atomic
from fasttts_desktop.engine.types import EngineError

if TYPE_CHECKING:  # torch costs seconds to import; the blend dialog's parsing needs none of it
    import torch

__all__ = ["MAX_VOICES", "Blend", "blend_of", "blend_pack", "delete_blend", "is_blend_spec", "parse_blend",
           "save_blend", "saved_blend", "saved_blends"]  # fmt: skip

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
    parts: list[tuple[str, float]] = []
    for piece in re.split(r"[,+]", spec):
        m = _PART.match(piece)
        if not m:
            raise EngineError(
                f"Cannot read the voice blend {_shown(spec)}: write it like jm_kumo:60,jf_alpha:40"
            )
        name, weight = m.group(1), m.group(2) or m.group(3) or "1"
        try:
            w = float(weight)
        except ValueError:
            raise EngineError(f"The weight {_shown(weight)} for {name} is not a number.") from None
        if not math.isfinite(w):  # 400 nines parse as infinity
            raise EngineError(f"The weight {_shown(weight)} for {name} is too large: use percentages.")
        parts.append((name, w))
    return blend_of(parts, f"the blend {_shown(spec)}")


def blend_of(parts: Iterable[tuple[str, float]], where: str) -> Blend:
    """A Blend from (voice, weight) pairs, weights normalised; a voice named twice adds up. EngineError
    naming the reason (and `where`, e.g. "the saved blend 'duo'") when a weight is not a finite number of
    0 or more, or when they add up to nothing."""
    summed: dict[str, float] = {}
    for name, w in parts:
        if isinstance(w, bool) or not isinstance(w, (int, float)):
            raise EngineError(f"The weight of {name} in {where} is not a number.")
        if math.isnan(w):
            raise EngineError(f"The weight of {name} in {where} is not a number (NaN).")
        if math.isinf(w):
            raise EngineError(f"The weight of {name} in {where} is infinite: use percentages.")
        if w < 0:
            raise EngineError(f"The weight of {name} in {where} is negative ({w:g}): weights are 0 or more.")
        summed[name] = summed.get(name, 0.0) + w
    if len(summed) > MAX_VOICES:
        raise EngineError(f"A blend mixes at most {MAX_VOICES} voices ({len(summed)} in {where}).")
    # Scaled by the largest first, so that weights near the float limit (1e308) cannot overflow the sum.
    largest = max(summed.values(), default=0.0)
    if not largest > 0:
        raise EngineError(f"The weights in {where} add up to nothing: give at least one voice a weight.")
    scaled = {name: w / largest for name, w in summed.items()}
    total = sum(scaled.values())
    return Blend(tuple((name, w / total) for name, w in scaled.items()))


def _shown(text: str, limit: int = 40) -> str:
    """`text` quoted for a message, cut short: a pasted megabyte must not become the message."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text):,} characters)"


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
    """The user's saved blends by name (a malformed one is skipped with its reason logged, the rest still
    load)."""
    out = {}
    for name, blend in _read_saved().items():
        if isinstance(blend, Blend):
            out[name] = blend
        else:
            import logging

            logging.getLogger(__name__).warning("skipping the saved blend %r in %s: %s", name, _path(), blend)
    return out


def saved_blend(name: str) -> Blend | None:
    """The saved blend `name`; None when there is none; EngineError saying why when it cannot be used."""
    blend = _read_saved().get(name)
    if isinstance(blend, str):
        raise EngineError(f"{blend} Fix it in {_path()} or save the blend again.")
    return blend


def _read_saved() -> dict[str, Blend | str]:
    """Each saved blend, or the reason it cannot be used."""
    raw = read_json(_path(), {})
    if not isinstance(raw, dict):
        raise EngineError(f"{_path()} is not a list of saved blends: fix or remove it")
    out: dict[str, Blend | str] = {}
    for name, parts in raw.items():
        where = f"the saved blend {_shown(name)}"
        if not isinstance(parts, list) or not all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in parts
        ):
            out[name] = f"The saved blend {_shown(name)} is not a list of [voice, weight] pairs."
            continue
        try:
            out[name] = blend_of(((voice, w) for voice, w in parts), where)
        except EngineError as exc:
            out[name] = str(exc)
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
    with locked(_path()):
        raw = read_json(_path(), {})
        raw = raw if isinstance(raw, dict) else {}
        raw[name] = [[voice, round(w, 6)] for voice, w in blend.parts]
        write_json_atomic(_path(), raw)
    return blend


def delete_blend(name: str) -> bool:
    """Forget a saved blend; False when there was none of that name."""
    with locked(_path()):
        raw = read_json(_path(), {})
        if not isinstance(raw, dict) or name not in raw:
            return False
        del raw[name]
        write_json_atomic(_path(), raw)
    return True
