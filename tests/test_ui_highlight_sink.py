"""The window's highlight against a real sound server: each word lights up in the text box within 50 ms of
its sound reaching PulseAudio's null sink (recorded with parec). The fake engine's words are tones with a
silent last fifth, so every word's onset can be found in the recording.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from audio_checks import loud
from fake_engine import FakeEngine
from sound_sink import RATE

pytest_plugins = ["app_fixtures", "sound_sink"]

pytestmark = pytest.mark.slow

TEXT = "Alpha beta gamma delta epsilon. Zeta eta theta iota kappa. Lambda mu nu xi omicron."


def onsets(heard: np.ndarray, min_gap_s: float = 0.02) -> list[int]:
    idx = loud(heard)
    gaps = np.flatnonzero(np.diff(idx) > min_gap_s * RATE)
    return [int(idx[0])] + [int(idx[g + 1]) for g in gaps]


def test_the_word_lit_in_the_window_is_the_one_at_the_sink_within_50_ms(qtbot, make_app, sound_sink):
    starts = [m.start() for m in re.finditer(r"\w+", TEXT)]
    app = make_app(FakeEngine(chunk_s=1.5, synth_s=0.02, word_gaps=True), output="real")
    w, edit = app.window, app.window.text_edit
    qtbot.waitUntil(lambda: app.service.is_ready)
    assert app.service.player.probe()
    lit: list[tuple[float, int]] = []  # (perf_counter when the box was told, start of the lit word)
    show = edit.show_reading

    def recording_show(sentence, word):
        if word is not None and (not lit or lit[-1][1] != word[0]):
            lit.append((time.perf_counter(), word[0]))
        show(sentence, word)

    edit.show_reading = recording_show  # what the reader calls to light a word
    w.text_edit.setPlainText(TEXT)
    capture = sound_sink.capture()
    with qtbot.waitSignal(app.service.utterance_finished, timeout=10_000):
        w.speak()
    heard = capture.stop()

    found = onsets(heard)
    assert len(found) == len(starts)  # each word's tone, in order
    assert [offset for _, offset in lit] == starts  # every word lit, in order, none twice
    lags = (
        np.array([t - capture.arrival_of(onset) for (t, _), onset in zip(lit, found, strict=True)][1:]) * 1000
    )
    print(
        f"\nwindow highlight vs sink over {len(lags)} words: mean {lags.mean():+.1f} ms, "
        f"min {lags.min():+.1f}, max {lags.max():+.1f} (polled every 25 ms; parec is ~10 ms late itself)"
    )
    assert np.abs(lags).max() < 50
