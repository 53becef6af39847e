"""The status bar's and notices' words: the summary after each utterance, where the reading is, what was
not spoken. No widgets here: plain functions from numbers to one line.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable

from fasttts_desktop.ui.reading import ReadingProgress
from fasttts_desktop.worker.speech import UtteranceStats


def describe_utterance(stats: UtteranceStats) -> str:
    parts = []
    if stats.first_sound_s is None:
        parts.append("not played")
    else:
        parts.append(f"first sound after {stats.first_sound_s:.2f} s")
    if stats.audio_s and stats.synth_s:
        parts.append(f"RTF {stats.rtf:.2f} ({1 / stats.rtf:.1f}× real time)")
    parts.append(f"{stats.audio_s:.1f} s of audio")
    if stats.first_sound_s is not None:
        gaps = stats.underruns + stats.device_underflows
        if not gaps:
            parts.append("no underruns")
        elif stats.underrun_s:
            parts.append(f"{gaps} underrun{'s' * (gaps != 1)} ({stats.underrun_s:.2f} s of silence)")
        else:
            parts.append(f"{gaps} underrun{'s' * (gaps != 1)}")
    return "Done: " + " · ".join(parts)


def summarise_utterance(stats: UtteranceStats) -> str:
    """The status bar's short form of describe_utterance (which becomes its tooltip): it must fit beside
    the reading position at the window's default size."""
    if stats.first_sound_s is None:
        return "Done · not played"
    parts = [f"first sound after {stats.first_sound_s:.2f} s"]
    if stats.audio_s and stats.synth_s:
        parts.append(f"{1 / stats.rtf:.1f}× real time")
    gaps = stats.underruns + stats.device_underflows
    if gaps:
        parts.append(f"{gaps} underrun{'s' * (gaps != 1)}")
    return "Done · " + " · ".join(parts)


def duration(seconds: float) -> str:
    """0:42, 12:05, 3:07:09."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def describe_progress(p: ReadingProgress) -> str:
    """Sentence 12 of 340 · 3% · 0:42 heard · about 1:23:00 left (at the speed in the Speed box, which the
    status bar leaves out for room)"""
    percent = int(p.fraction * 100)  # never rounds up to 100% before the end
    if p.fraction >= 1:
        return f"Sentence {p.sentence:,} of {p.sentences:,} · 100% · {duration(p.heard_s)} heard · done"
    return (
        f"Sentence {p.sentence:,} of {p.sentences:,} · {percent}% · {duration(p.heard_s)} heard · "
        f"about {duration(p.left_s)} left"
    )


def describe_character(char: str) -> str:
    """A character as a person can recognise it in a notice: itself, or its code and name when it would
    not show (controls, spaces, marks).
    """
    category = unicodedata.category(char)
    if category[0] in "CZ" or category in ("Mn", "Me"):
        name = unicodedata.name(char, "")
        return f"U+{ord(char):04X}" + (f" {name.lower()}" if name else "")
    return char


def describe_unspoken(chars: Iterable[str], shown: int = 12) -> str:
    """14 characters were not spoken: ☃ (3), ♞, U+0007 …"""
    counts = Counter(chars)
    total = sum(counts.values())
    if not total:
        return ""
    parts = [describe_character(c) + (f" ({n})" if n > 1 else "") for c, n in counts.most_common(shown)]
    more = " …" if len(counts) > shown else ""
    noun = "character was" if total == 1 else "characters were"
    return f"{total:,} {noun} not spoken: {', '.join(parts)}{more}"


def unspoken_in(chunk) -> list[str]:
    """The characters the engine reports it could not speak in `chunk` (AudioChunk.unspoken: runs of
    (offset, characters)).
    """
    return [c for _offset, chars in getattr(chunk, "unspoken", ()) for c in chars]


def describe_failed(failures: list[tuple[str, str]], shown: int = 2) -> str:
    """Parts the engine could not make: 'Could not read 2 parts: “The first…” (reason); …'"""
    if not failures:
        return ""
    parts = [f"“{_clip(text)}” ({reason})" for text, reason in failures[:shown]]
    more = f"; and {len(failures) - shown} more" if len(failures) > shown else ""
    noun = "part" if len(failures) == 1 else "parts"
    return f"Could not read {len(failures)} {noun} of the text, skipped: {'; '.join(parts)}{more}"


def _clip(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
