"""The sentence pass of `bench --cpu`: ours against kokoro-onnx, called the ways that matter.

Every system runs every sentence once per round, one after the other (A B C, then C B A the next round, so
no system always follows the same one: a spinning pool's tail or a cache warmed by the previous system
falls on each alike); a sentence's time is the median of its rounds. Next to each system's compute time per
sentence stands the audio it made for that sentence: kokoro-onnx's `create()` trims the model's leading and
trailing silence and inserts pauses, so its seconds of audio differ from the raw model's, and a
per-audio-second figure alone would flatter or penalise it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

SAMPLE_RATE = 24_000


@dataclass(frozen=True)
class Call:
    """One timed synthesis call: wall and process-CPU seconds, samples of audio made."""

    s: float
    cpu_s: float
    samples: int


def round_order(names: Sequence[str], rnd: int) -> list[str]:
    """ABC, CBA, ABC, ...: which system runs first alternates round by round."""
    return list(names) if rnd % 2 == 0 else list(reversed(names))


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def summarize(calls: dict[str, list[list[Call]]], baseline: str = "ours") -> dict[str, dict]:
    """Per system, from calls[system][sentence][round]: the per-sentence medians and what they add up to."""
    medians = {k: [statistics.median(c.s for c in rounds) for rounds in v] for k, v in calls.items()}
    out = {}
    for name, per_sentence in calls.items():
        audio = [statistics.median(c.samples for c in rounds) / SAMPLE_RATE for rounds in per_sentence]
        wall = sum(c.s for rounds in per_sentence for c in rounds)
        cpu = sum(c.cpu_s for rounds in per_sentence for c in rounds)
        row = {
            "sentences": len(per_sentence),
            "rounds": min(len(r) for r in per_sentence),
            "p50_s": statistics.median(medians[name]),
            "p95_s": _pct(medians[name], 0.95),
            "total_s": sum(medians[name]),
            "audio_p50_s": statistics.median(audio),
            "audio_total_s": sum(audio),
            "per_audio_s": sum(medians[name]) / sum(audio),
            "cpu_per_wall": cpu / wall if wall else 0.0,
            # CPU seconds of a sentence (median of its rounds): the work itself, far less moved by other
            # processes than the wall time (but a spinning pool's wait counts as work)
            "cpu_p50_s": statistics.median(statistics.median(c.cpu_s for c in r) for r in per_sentence),
            "per_sentence": [{"s": s, "audio_s": a} for s, a in zip(medians[name], audio, strict=True)],
        }
        if baseline in medians and name != baseline:
            pairs = zip(medians[baseline], medians[name], strict=True)
            row["over_baseline"] = statistics.median(b / a for a, b in pairs)
        out[name] = row
    return out


def table(summary: dict[str, dict], labels: dict[str, str], baseline: str = "ours") -> list[str]:
    """The printed table: compute per sentence beside the audio each system made for it."""
    any_row = next(iter(summary.values()))
    lines = [
        (
            f"{any_row['sentences']} sentences x {any_row['rounds']} rounds, systems alternated run by run "
            "(order reversed each round); a sentence's time is the median of its rounds"
        ),
        (
            f"{'system':50s} {'s/sentence p50':>14s} {'p95':>6s} {'audio s/sent':>12s} "
            f"{'s per audio s':>13s} {'CPU/wall':>8s} {'CPU s/sent':>10s} {f'x {baseline}':>7s}"
        ),
    ]
    for name, row in summary.items():
        ratio = f"{row['over_baseline']:.2f}" if "over_baseline" in row else "1"
        lines.append(
            f"{labels.get(name, name):50s} {row['p50_s']:14.3f} {row['p95_s']:6.3f} "
            f"{row['audio_p50_s']:12.2f} {row['per_audio_s']:13.3f} {row['cpu_per_wall']:8.2f} "
            f"{row['cpu_p50_s']:10.3f} {ratio:>7s}"
        )
    lines.append(
        f"(x {baseline}: median over sentences of that system's time / {baseline}'s; "
        "CPU/wall: process CPU seconds per wall second, ~threads when they spin; CPU s/sent: CPU seconds "
        "of a sentence, the work, which other processes move far less than the wall time)"
    )
    return lines
