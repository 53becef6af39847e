"""Playback > Output Device against a real PulseAudio server with two null sinks, both monitors recorded:
speech lands on the chosen sink and nowhere else, a switch while playing moves the rest of the utterance
to the other sink from the sample being heard, and a sink that is gone gives way to the default."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from audio_checks import locate, loud, upsample_2x
from fake_engine import FakeEngine
from sound_sink import RATE

from fasttts_desktop.engine.types import SAMPLE_RATE
from fasttts_desktop.playback.output_devices import list_outputs
from fasttts_desktop.worker.player import Player

pytest_plugins = ["app_fixtures", "sound_sink"]

pytestmark = pytest.mark.slow

UP = RATE // SAMPLE_RATE


@pytest.fixture(scope="module")
def two_sinks(sound_sink):
    """vsink (the server's default) and vsink2, "Second Output"."""
    sound_sink.add_sink("vsink2", "Second Output")
    yield sound_sink
    sound_sink.remove_sink("vsink2")


def noise(seconds: float, seed: int = 8) -> np.ndarray:
    """Band-limited noise: no two stretches alike, so a recording lines up with it at one place only."""
    n = int(seconds * SAMPLE_RATE)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    spectrum[int(n * 8000 / SAMPLE_RATE) :] = 0
    audio = np.fft.irfft(spectrum, n)
    return (0.3 * audio / audio.std()).clip(-0.95, 0.95).astype(np.float32)


def level(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(audio**2))) if len(audio) else 0.0


def test_both_sinks_are_listed_with_portaudios_own_devices(two_sinks):
    outputs = {o.key: o.label for o in list_outputs(rescan=True)}
    print("\n" + "\n".join(f"{k!r}: {v}" for k, v in outputs.items()))
    assert next(iter(outputs)) == "" and outputs[""] == "System default"
    assert outputs["pulse:vsink2"] == "Second Output (PulseAudio)"
    assert "pulse:vsink" in outputs
    assert "portaudio:ALSA:pulse" in outputs  # sounddevice's list is there too


def test_speech_lands_on_the_sink_chosen_in_the_menu(qtbot, make_app, two_sinks):
    app = make_app(FakeEngine(chunk_s=0.4, synth_s=0.01), output="real")
    w = app.window
    menu = w.commands.output_menu
    menu.aboutToShow.emit()
    [second] = [a for a in menu.actions() if a.data() == "pulse:vsink2"]
    second.trigger()
    first_sink, second_sink = two_sinks.capture("vsink"), two_sinks.capture("vsink2")
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.text_edit.setPlainText("One. Two. Three.")
    with qtbot.waitSignal(app.service.utterance_finished, timeout=10_000) as done:
        w.speak()
    time.sleep(0.2)
    on_first, on_second = first_sink.stop(), second_sink.stop()
    heard_s = len(loud(on_second)) / RATE
    print(
        f"\nvsink2: {heard_s:.2f} s of sound (level {level(on_second):.3f}); "
        f"vsink: level {level(on_first):.4f}"
    )
    assert done.args[0].first_sound_s is not None and not w.banner.isVisible()
    assert heard_s == pytest.approx(3 * 0.4, abs=0.02)  # every chunk, on the chosen sink
    assert not len(loud(on_first))  # and nothing on the default one


def test_a_switch_while_playing_moves_the_rest_to_the_other_sink_from_the_sample_heard(qtbot, two_sinks):
    sent = noise(2.0)
    player = Player()
    player.set_output("pulse:vsink2")
    first_sink, second_sink = two_sinks.capture("vsink"), two_sinks.capture("vsink2")
    done = threading.Event()
    player.finished.connect(lambda *args: done.set())
    assert player.play(1, sent)
    player.end(1)
    qtbot.waitUntil(lambda: (player.heard_sample() or 0) > 0.8 * SAMPLE_RATE, timeout=3000)
    t_switch = time.perf_counter()
    player.set_output("pulse:vsink")
    qtbot.waitUntil(done.is_set, timeout=5000)
    time.sleep(0.2)
    on_first, on_second = first_sink.stop(), second_sink.stop()
    player.shutdown()

    before, after = loud(on_second), loud(on_first)
    assert len(before) and len(after)
    moved_after = second_sink.arrival_of(int(before[-1])) - t_switch
    ref = upsample_2x(sent)
    end_piece = on_second[before[-1] - RATE // 5 : before[-1] - RATE // 100]
    start_piece = on_first[after[0] + RATE // 100 : after[0] + RATE // 5]
    a, corr_a = locate(ref, end_piece)
    b, corr_b = locate(ref, start_piece)
    stopped_at = a + RATE // 5  # the sample of `sent` (x2) heard last on vsink2
    went_on_at = b - RATE // 100  # ... and first on vsink
    sounding = (before[-1] - before[0]) + (after[-1] - after[0])
    print(
        f"\nswitch -> silent on vsink2 after {moved_after * 1000:.0f} ms; vsink went on "
        f"{(went_on_at - stopped_at) / UP:+.0f} samples from where vsink2 stopped (correlation "
        f"{corr_a:.3f} / {corr_b:.3f}); {sounding / RATE:.3f} s heard of {len(sent) / SAMPLE_RATE:.3f} s"
    )
    assert corr_a > 0.95 and corr_b > 0.95
    assert abs(went_on_at - stopped_at) < 0.002 * RATE  # nothing skipped or repeated but the fades' ends
    assert sounding / RATE == pytest.approx(len(sent) / SAMPLE_RATE, abs=0.005)


def test_a_sink_that_is_gone_gives_way_to_the_default_with_a_notice(qtbot, two_sinks):
    player = Player()
    player.set_output("pulse:unplugged")
    problems = []
    player.device_problem.connect(problems.append)
    first_sink = two_sinks.capture("vsink")
    done = threading.Event()
    player.finished.connect(lambda *args: done.set())
    assert player.play(1, noise(0.5))
    player.end(1)
    qtbot.waitUntil(done.is_set, timeout=5000)
    time.sleep(0.2)
    on_first = first_sink.stop()
    player.shutdown()
    assert len(loud(on_first)) / RATE == pytest.approx(0.5, abs=0.01)
    assert len(problems) == 1 and "unplugged" in problems[0] and "system default" in problems[0]


def test_the_menu_shows_a_sink_that_appears_after_it_was_first_opened(qtbot, make_app, two_sinks):
    app = make_app(output="real")
    menu = app.window.commands.output_menu
    menu.aboutToShow.emit()
    assert "pulse:vsink3" not in [a.data() for a in menu.actions()]
    two_sinks.add_sink("vsink3", "Third Output")
    try:
        menu.aboutToShow.emit()
        assert "Third Output (PulseAudio)" in [a.text() for a in menu.actions()]
    finally:
        two_sinks.remove_sink("vsink3")
    menu.aboutToShow.emit()
    assert "pulse:vsink3" not in [a.data() for a in menu.actions()]
