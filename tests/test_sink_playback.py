"""Pause, resume, Stop's fade and the audio clock against a real sound server (PulseAudio's null sink,
recorded with parec): what the listener would hear, and when.

No speech model is needed: known signals (noise, a tone, bursts at known samples) and the fake engine's
words show sample-exact continuity and timing better than speech would. Each test prints what it measured.
"""

from __future__ import annotations

import re
import threading
import time

import numpy as np
import pytest
from audio_checks import locate, loud, upsample_2x
from fake_engine import FakeEngine
from PySide6.QtCore import QTimer
from sound_sink import RATE
from timing_budget import within_budget

from fasttts_desktop.engine.types import SAMPLE_RATE
from fasttts_desktop.playback.audio_output import Playback

pytest_plugins = ["app_fixtures", "sound_sink"]

pytestmark = pytest.mark.slow

UP = RATE // SAMPLE_RATE  # sink samples per utterance sample


def noise(seconds: float, seed: int = 8) -> np.ndarray:
    """Band-limited noise: no two stretches alike, so a recording lines up with it at one place only."""
    n = int(seconds * SAMPLE_RATE)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    spectrum[int(n * 8000 / SAMPLE_RATE) :] = 0  # well inside what the resampler passes
    audio = np.fft.irfft(spectrum, n)
    return (0.3 * audio / audio.std()).clip(-0.95, 0.95).astype(np.float32)


def silent_runs(audio: np.ndarray, min_s: float) -> list[tuple[int, int]]:
    """(last loud sample, next loud sample) around each silence of at least `min_s` inside the sound."""
    idx = loud(audio)
    gaps = np.flatnonzero(np.diff(idx) > min_s * RATE)
    return [(int(idx[g]), int(idx[g + 1])) for g in gaps]


def play(sent: np.ndarray) -> tuple[Playback, threading.Event]:
    finished = threading.Event()
    playback = Playback(finished.set)
    playback.feed(sent)
    playback.end()
    playback.start()
    return playback, finished


def test_pause_silences_within_100_ms_and_resume_goes_on_with_the_samples_due_next(sound_sink):
    sent = noise(3.0)
    capture = sound_sink.capture()
    playback, finished = play(sent)
    time.sleep(1.0)
    t_pause = time.perf_counter()
    playback.pause()
    time.sleep(0.5)
    t_resume = time.perf_counter()
    playback.resume()
    assert finished.wait(10)
    playback.close()
    time.sleep(0.1)
    heard = capture.stop()

    [(g0, g1)] = silent_runs(heard, 0.2)  # the pause, and no other gap
    pause_latency = capture.arrival_of(g0) - t_pause
    extra_gap = (g1 - g0) / RATE - (t_resume - t_pause)
    # Where the sound before and after the pause lies in what was sent (at the sink's rate).
    ref = upsample_2x(sent)
    before, after = heard[g0 - RATE // 5 : g0 - RATE // 100], heard[g1 + RATE // 100 : g1 + RATE // 5]
    a, corr_a = locate(ref, before)
    b, corr_b = locate(ref, after)
    stopped_at = a + (g0 - (g0 - RATE // 5))  # the sample of `sent` (x2) that was heard last
    went_on_at = b - (g1 + RATE // 100 - g1)  # the sample of `sent` (x2) that was heard first again
    print(
        f"\npause -> silent at the sink {pause_latency * 1000:.0f} ms (parec's ~10 ms included); silence "
        f"{extra_gap * 1000:+.0f} ms longer than the pause; resumed {(went_on_at - stopped_at) / UP:+.0f} "
        f"samples from where it stopped (correlation {corr_a:.3f} / {corr_b:.3f})"
    )
    assert corr_a > 0.95 and corr_b > 0.95
    within_budget("pause to silence at the sink", pause_latency, 0.1)
    assert abs(extra_gap) < 0.05
    # Nothing repeated, nothing skipped: the few samples either side are the fades' quietest ends.
    assert abs(went_on_at - stopped_at) < 0.002 * RATE
    sounding = (g0 - loud(heard)[0]) + (loud(heard)[-1] - g1)
    assert sounding / RATE == pytest.approx(len(sent) / SAMPLE_RATE, abs=0.002)  # all of it, once


def test_stop_fades_out_without_a_click_and_is_silent_within_100_ms(sound_sink):
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    sent = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    capture = sound_sink.capture()
    playback, finished = play(sent)
    time.sleep(0.8)
    t_stop = time.perf_counter()
    playback.stop()
    playback.close()
    closed = time.perf_counter() - t_stop
    time.sleep(0.2)
    heard = capture.stop()

    end = int(loud(heard)[-1])
    silent_after = capture.arrival_of(end) - t_stop
    envelope = np.abs(heard[end - RATE // 10 : end + 1])
    peaks = np.array([envelope[i : i + RATE // 440].max() for i in range(0, len(envelope), RATE // 880)])
    fade_s = (len(peaks) - int(np.flatnonzero(peaks > 0.45)[-1])) * (1 / 880)
    steepest = np.abs(np.diff(heard[end - RATE // 10 : end + RATE // 100])).max()
    print(
        f"\nstop -> silent at the sink {silent_after * 1000:.0f} ms (parec's ~10 ms included), fade "
        f"~{fade_s * 1000:.0f} ms, steepest step {steepest:.4f} (the tone's own: 0.029); close() "
        f"returned after {closed * 1000:.0f} ms"
    )
    assert silent_after < 0.1
    assert steepest < 0.035  # no jump: a cut from 0.5 to 0 would step far more
    assert 0.01 < fade_s < 0.035
    assert not finished.is_set()


def test_the_clock_names_the_sample_at_the_sink_within_50_ms(sound_sink):
    period, burst = int(0.25 * SAMPLE_RATE), int(0.005 * SAMPLE_RATE)
    sent = np.zeros(3 * SAMPLE_RATE, np.float32)
    marks = list(range(int(0.1 * SAMPLE_RATE), len(sent) - burst, period))
    for m in marks:
        sent[m : m + burst] = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(burst) / SAMPLE_RATE)
    capture = sound_sink.capture()
    playback, finished = play(sent)
    polls = []  # (perf_counter, heard sample)
    while not finished.is_set():
        polls.append((time.perf_counter(), playback.heard_sample()))
        time.sleep(0.001)
    playback.close()
    heard = capture.stop()

    onsets = [int(loud(heard)[0])] + [g1 for _, g1 in silent_runs(heard, 0.1)]
    assert len(onsets) == len(marks)
    times, samples = np.array(polls).T
    lags = []
    for mark, onset in zip(marks, onsets, strict=True):
        at_sink = capture.arrival_of(onset)
        named = times[np.searchsorted(samples, mark)]  # the first poll that had reached the mark
        lags.append(named - at_sink)
    lags = np.array(lags) * 1000
    print(
        f"\nclock vs sink over {len(lags)} marks: mean {lags.mean():+.1f} ms, min {lags.min():+.1f}, "
        f"max {lags.max():+.1f} (negative: named before parec delivered it; parec is ~10 ms late itself)"
    )
    assert np.abs(lags).max() < 50
    assert samples[-1] == len(sent)


def test_the_highlighted_word_is_the_one_at_the_sink_within_50_ms(qtbot, make_app, sound_sink):
    text = "Alpha beta gamma delta epsilon. Zeta eta theta iota kappa. Lambda mu nu xi omicron."
    starts = [m.start() for m in re.finditer(r"\w+", text)]
    app = make_app(FakeEngine(chunk_s=1.5, synth_s=0.02, word_gaps=True), output="real")
    qtbot.waitUntil(lambda: app.service.is_ready)
    assert app.service.player.probe()
    polls = []  # (perf_counter, offset of the highlighted word)

    def poll():
        heard = app.service.heard()
        if heard is not None:
            polls.append((time.perf_counter(), heard.offset))

    timer = QTimer()
    timer.setInterval(2)
    timer.timeout.connect(poll)
    capture = sound_sink.capture()
    with qtbot.waitSignal(app.service.utterance_finished, timeout=10_000):
        app.service.speak(text, "", 1.0)
        timer.start()
    timer.stop()
    heard = capture.stop()

    onsets = [int(loud(heard)[0])] + [g1 for _, g1 in silent_runs(heard, 0.02)]
    assert len(onsets) == len(starts)  # each word's tone, in order (the last fifth of each is silent)
    lags = []
    for offset, onset in zip(starts, onsets, strict=True):
        shown = next(t for t, o in polls if o == offset)
        lags.append(shown - capture.arrival_of(onset))
    lags = np.array(lags[1:]) * 1000  # the first word is shown from the start: nothing precedes it
    print(
        f"\nhighlight vs sink over {len(lags)} words: mean {lags.mean():+.1f} ms, min {lags.min():+.1f}, "
        f"max {lags.max():+.1f} (parec is ~10 ms late itself)"
    )
    assert np.abs(lags).max() < 50
