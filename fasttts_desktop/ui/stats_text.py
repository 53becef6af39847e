"""The one-line summary the status bar shows after each utterance."""

from __future__ import annotations

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
