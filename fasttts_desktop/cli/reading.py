"""`say`'s options for how the text is read: markup, pauses, a voice per chapter, a voice for dialogue."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from fasttts_desktop.engine.text.pauses import KINDS, Pauses
from fasttts_desktop.engine.text.segments import MARKUP_MODES, Reading
from fasttts_desktop.engine.types import EngineError

# A voice map larger than this is not a voice map.
MAX_MAP_BYTES = 1 << 20


def add_reading_options(p: argparse.ArgumentParser) -> None:
    defaults = Pauses()
    shown = ", ".join(f"{k} {'natural' if defaults.of(k) is None else f'{defaults.of(k):g}'}" for k in KINDS)
    p.add_argument(
        "--pauses",
        metavar="KIND=SECONDS,…",
        default="",
        help=f"silence at each kind of join, e.g. comma=0.3,sentence=0.8,chapter=3 (or =off for the "
        f"voice's own); kinds {', '.join(KINDS)}; defaults: {shown}",
    )
    p.add_argument(
        "--markup",
        choices=MARKUP_MODES,
        default="auto",
        help="auto (default): SSML when the text starts with <speak, else [pause:1.5s] [voice:NAME] "
        "[rate:1.2] tags; ssml; tags; off: read every character as written",
    )
    p.add_argument(
        "--voice-map",
        metavar="FILE.json",
        help='a voice per chapter: {"1": "bf_emma", "The Storm": "am_adam", "dialogue": "bf_emma"} '
        "(chapter numbers from 1, or titles; dialogue: quoted speech)",
    )
    p.add_argument("--dialogue-voice", metavar="VOICE", help="read quoted speech in this voice")


def reading_from_args(args: argparse.Namespace, text: str, chapters: Sequence[tuple[int, str]]) -> Reading:
    pauses = Pauses().with_spec(args.pauses or "")
    mapping = _voice_map(Path(args.voice_map)) if args.voice_map else {}
    dialogue = args.dialogue_voice or mapping.pop("dialogue", "")
    return Reading(
        markup=args.markup,
        pauses=pauses,
        chapters=tuple(offset for offset, _ in chapters),
        voices=chapter_voices(mapping, chapters, len(text)),
        dialogue_voice=dialogue,
    )


def chapter_voices(
    mapping: dict[str, str], chapters: Sequence[tuple[int, str]], length: int
) -> tuple[tuple[int, int, str], ...]:
    """(start, end, voice) for each chapter the map names, by number (from 1) or title."""
    ranges = []
    used = set()
    for n, (offset, title) in enumerate(chapters):
        end = chapters[n + 1][0] if n + 1 < len(chapters) else length
        for key in (str(n + 1), title.strip().casefold()):
            if key in mapping:
                ranges.append((offset, end, mapping[key]))
                used.add(key)
                break
    unknown = sorted(set(mapping) - used)
    if unknown:
        have = f"{len(chapters)} chapters" if chapters else "no chapters"
        raise EngineError(
            f"the voice map names chapters the text does not have ({have}): {', '.join(unknown)}"
        )
    return tuple(ranges)


def _voice_map(path: Path) -> dict[str, str]:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_MAP_BYTES + 1)
    except OSError as exc:
        raise EngineError(f"cannot read the voice map {path}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_MAP_BYTES:
        raise EngineError(f"the voice map {path} is over {MAX_MAP_BYTES // 1024} KiB")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise EngineError(f"the voice map {path} is not JSON: {str(exc).splitlines()[0]}") from exc
    if not isinstance(data, dict) or not all(isinstance(v, str) and v.strip() for v in data.values()):
        raise EngineError(
            f'the voice map {path} must be an object of chapter: voice, e.g. {{"1": "bf_emma"}}'
        )
    return {str(k).strip().casefold(): v.strip() for k, v in data.items()}
