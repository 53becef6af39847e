"""SpeechService's reading controls with a fake engine and fake output: pause and resume (also before the
first chunk), what is heard now (word, chunk, seconds), reading from an offset, and the engine making
audio only so far ahead of the listener however long the text."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from fake_engine import FakeEngine
from fake_stream import FRAMES
from pause_checks import split_at_pause
from PySide6.QtCore import Qt, QTimer
from timing_budget import within_budget

from fasttts_desktop.engine.types import SAMPLE_RATE
from fasttts_desktop.worker.speech import MAKE_AHEAD_S

pytest_plugins = ["app_fixtures"]

THREE = "One sentence. Two sentence. Three sentence."


def test_pause_holds_and_resume_goes_on_with_the_next_sample(qtbot, make_app):
    app = make_app(FakeEngine(chunk_s=0.5, synth_s=0.02), pace=1.0)
    qtbot.waitUntil(lambda: app.service.is_ready)
    made = []
    app.service.chunk_played.connect(lambda rid, c: made.append(c.audio))
    states = []
    app.service.paused_changed.connect(states.append)
    app.service.speak(THREE, "", 1.0)
    qtbot.waitUntil(lambda: (h := app.service.heard()) is not None and h.seconds > 0.6, timeout=3000)
    app.service.pause()
    assert app.service.paused and states == [True]
    qtbot.wait(150)
    frozen = app.service.heard()
    qtbot.wait(300)
    assert app.service.heard() == frozen  # nothing moves while paused
    assert frozen.chunk_index == 1
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000) as finished:
        app.service.resume()
    assert states == [True, False] and not app.service.paused
    played = app.output.streams[0].played
    split_at_pause(played, np.concatenate(made))  # one pause, not a sample lost or repeated
    assert finished.args[0].underruns == 0


def test_pause_while_the_engine_loads_plays_nothing_until_resume(qtbot, make_app):
    app = make_app(FakeEngine(chunk_s=0.3, synth_s=0.01), hold_load=True)
    app.service.speak(THREE, "", 1.0)
    app.service.pause()
    assert app.service.paused
    app.release_load.set()
    qtbot.waitUntil(lambda: len(app.engine.calls) == 1 and bool(app.output.streams), timeout=3000)
    qtbot.wait(400)
    assert not app.output.streams[0].played.any()
    assert app.service.heard().seconds == 0
    t_resume = time.perf_counter()
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000) as finished:
        app.service.resume()
    stream = app.output.streams[0]
    first = next(i for i, b in enumerate(stream.blocks) if b.any())
    assert stream.block_times[first] >= t_resume
    # the 0.4 s paused is not counted as waiting for sound (0.3 s: the two clocks of the first block differ)
    assert finished.args[0].first_sound_s < stream.block_times[first] - t_resume + 0.3


def test_stop_and_a_new_speak_end_a_pause(qtbot, make_app):
    app = make_app(FakeEngine(chunk_s=0.5, synth_s=0.01))
    qtbot.waitUntil(lambda: app.service.is_ready)
    states = []
    app.service.paused_changed.connect(states.append)
    app.service.pause()  # nothing to pause
    assert not app.service.paused and states == []
    app.service.speak(THREE, "", 1.0)
    app.service.pause()
    app.service.speak("Other.", "", 1.0)
    assert not app.service.paused and states == [True, False]
    app.service.pause()
    app.service.stop()
    assert not app.service.paused and states == [True, False, True, False]
    assert app.service.heard() is None


def test_heard_follows_the_words_as_they_reach_the_speaker(qtbot, make_app):
    text = "Alpha beta gamma delta. Epsilon zeta eta theta."
    words = [(m.start(), m.end()) for m in re.finditer(r"\w+", text)]
    app = make_app(FakeEngine(chunk_s=0.8, synth_s=0.01), pace=1.0, latency=0.05)
    qtbot.waitUntil(lambda: app.service.is_ready)
    seen = []  # (stream clock before, Heard, stream clock after)

    def poll():
        if app.output.streams:
            stream = app.output.streams[-1]
            before = stream.time
            heard = app.service.heard()
            if heard is not None:
                seen.append((before, heard, stream.time))

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(poll)
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000) as finished:
        app.service.speak(text, "", 1.0)
        timer.start()
    timer.stop()
    assert finished.args[0].underruns == 0
    spans = []
    for _, h, _ in seen:
        if not spans or spans[-1] != (h.offset, h.end):
            spans.append((h.offset, h.end))
    assert spans == words  # every word, in order, none skipped
    assert {(h.chunk_start, h.chunk_end) for _, h, _ in seen} == {(0, 23), (23, len(text))}
    seconds = [h.seconds for _, h, _ in seen]
    assert seconds == sorted(seconds) and seconds[-1] == pytest.approx(1.6, abs=0.01)
    # Each poll named the word whose sample was at the fake speaker then: blocks reach it at their DAC
    # times, 0.2 s of audio per word. (The first word is named from the start of playback, at most the
    # device's latency early, as sample 0 is what comes next.)
    stream = app.output.streams[0]
    dac, handed = np.array(stream.dac_times), np.array(stream.handed_times)

    def block_at(t: float) -> int:
        return int(np.searchsorted(dac, t, side="right")) - 1

    def word_at(t: float) -> int:
        k = block_at(t)
        sample = 0 if k < 0 else k * FRAMES + int((t - dac[k]) * SAMPLE_RATE)
        return min(len(words) - 1, int(sample / (0.2 * SAMPLE_RATE)))

    for before, heard, after in seen:
        index = words.index((heard.offset, heard.end))
        assert index <= word_at(after)
        # (A block the loaded machine handed over only after its DAC time cannot be known before.)
        if block_at(before) < 0 or handed[block_at(before)] <= before:
            assert word_at(before) <= index


def test_speak_from_an_offset_reads_from_there_in_the_whole_texts_coordinates(qtbot, make_app):
    app = make_app(FakeEngine(chunk_s=0.3, synth_s=0.01))
    qtbot.waitUntil(lambda: app.service.is_ready)
    start = THREE.index("Two")
    chunks = []
    app.service.chunk_played.connect(lambda rid, c: chunks.append(c))
    heard = []
    app.service.chunk_played.connect(lambda rid, c: heard.append(app.service.heard()))
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000):
        app.service.speak(THREE, "", 1.0, start=start)
    assert app.engine.starts == [start]
    assert [(c.chunk.start, c.chunk.text) for c in chunks] == [
        (start, "Two sentence."),
        (27, " Three sentence."),
    ]
    assert all(h is None or h.offset >= start for h in heard)


def test_the_engine_makes_only_so_far_ahead_of_the_listener(qtbot, make_app):
    ten_minutes = " ".join(f"Sentence {i}." for i in range(600))  # one second of audio each
    engine = FakeEngine(chunk_s=1.0, synth_s=0.0)
    app = make_app(engine, pace=1.0)
    qtbot.waitUntil(lambda: app.service.is_ready)
    ahead = []
    app.service.ahead_changed.connect(ahead.append)
    app.service.speak(ten_minutes, "", 1.0)
    app.service.pause()
    qtbot.waitUntil(lambda: engine.made >= MAKE_AHEAD_S, timeout=3000)
    qtbot.wait(700)
    # Paused: 20 s made (and one chunk more, the one that crossed the line), then nothing.
    assert engine.made == MAKE_AHEAD_S + 1
    assert app.service.player.queued_samples() == (MAKE_AHEAD_S + 1) * SAMPLE_RATE
    assert app.service.ahead_s == pytest.approx(MAKE_AHEAD_S + 1)
    assert ahead[-1] == pytest.approx(MAKE_AHEAD_S + 1)
    app.service.resume()
    qtbot.wait(1500)
    # Playing: the engine keeps pace with the listener, a chunk at a time.
    assert MAKE_AHEAD_S + 1 < engine.made <= MAKE_AHEAD_S + 3
    assert app.service.ahead_s <= MAKE_AHEAD_S + 1
    # The timeline forgets what was heard: what it holds stays within what is made ahead.
    assert len(app.service._utterance.timeline._chunks) <= MAKE_AHEAD_S + 2
    cancelled = []  # appended on the engine thread (qtbot.waitSignal would stop its timer from there)
    app.service._worker.speech_cancelled.connect(cancelled.append, Qt.ConnectionType.DirectConnection)
    t0 = time.perf_counter()
    app.service.stop()
    qtbot.waitUntil(lambda: bool(cancelled), timeout=1000)
    within_budget("a held-back engine letting go", time.perf_counter() - t0, 0.2)
    assert ahead[-1] == 0


def test_a_save_is_made_while_speech_waits_for_the_listener(qtbot, make_app, tmp_path):
    engine = FakeEngine(chunk_s=1.0, synth_s=0.0)
    app = make_app(engine, pace=1.0)
    qtbot.waitUntil(lambda: app.service.is_ready)
    app.service.speak(" ".join(f"Sentence {i}." for i in range(100)), "", 1.0)
    app.service.pause()
    qtbot.waitUntil(lambda: engine.made > MAKE_AHEAD_S, timeout=3000)
    target = tmp_path / "minute.wav"
    with qtbot.waitSignal(app.service.exports.finished, timeout=5000):
        app.service.exports.save(str(target), " ".join(f"Other {i}." for i in range(60)), "", 1.0)
    assert target.stat().st_size > 60 * SAMPLE_RATE * 2  # a minute of 16-bit audio, never held back
    assert app.service.busy and app.service.paused  # the reading waited, as it was
    app.service.stop()


def test_a_long_speech_is_not_kept_for_save(qtbot):
    from fasttts_desktop.worker.engine_worker import KEEP_FOR_SAVE_S, EngineWorker

    worker = EngineWorker(lambda progress: FakeEngine(chunk_s=60.0, synth_s=0.0))
    worker.load()
    done = []
    worker.speech_done.connect(lambda *args: done.append(args))
    worker.wanted.speak(1)
    worker.wanted.hear(1, None)  # nobody listens: nothing holds it back
    sentences = int(KEEP_FOR_SAVE_S / 60) + 1
    worker.speak(1, " ".join(f"Long {i}." for i in range(sentences)), "", 1.0)
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
    assert done[0][1] == pytest.approx(60.0 * sentences)
    assert worker._last is None and worker._speech is None


def test_a_long_pause_gives_the_device_back_and_resume_takes_it_again(qtbot, make_app, monkeypatch):
    from fasttts_desktop.worker import player

    monkeypatch.setattr(player, "PARK_AFTER_S", 0.2)
    app = make_app(FakeEngine(chunk_s=0.5, synth_s=0.01))
    qtbot.waitUntil(lambda: app.service.is_ready)
    made = []
    app.service.chunk_played.connect(lambda rid, c: made.append(c.audio))
    app.service.speak(THREE, "", 1.0)
    qtbot.waitUntil(lambda: (h := app.service.heard()) is not None and h.seconds > 0.2, timeout=3000)
    app.service.pause()
    first = app.output.streams[0]
    qtbot.waitUntil(lambda: first.closed, timeout=1000)  # parked: the device is free
    heard = app.service.heard()
    assert heard is not None and app.service.busy
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000):
        app.service.resume()
    assert len(app.output.streams) == 2
    split_at_pause(np.concatenate([first.played, app.output.streams[1].played]), np.concatenate(made))


def test_an_output_gone_during_a_long_pause_is_reported_and_the_utterance_still_ends(
    qtbot, make_app, monkeypatch
):
    from fake_stream import FakeOutput

    from fasttts_desktop.playback.sound_stream import NoOutputDevice
    from fasttts_desktop.worker import player

    monkeypatch.setattr(player, "PARK_AFTER_S", 0.1)
    fake = FakeOutput()

    def opener(*args, **kwargs):
        if fake.streams:
            raise NoOutputDevice("No audio output device was found.")
        return fake(*args, **kwargs)

    app = make_app(FakeEngine(chunk_s=0.5, synth_s=0.01), output=opener)
    qtbot.waitUntil(lambda: app.service.is_ready)
    problems = []
    app.service.device_problem.connect(problems.append)
    app.service.speak(THREE, "", 1.0)
    qtbot.waitUntil(lambda: bool(fake.streams), timeout=3000)
    app.service.pause()
    qtbot.waitUntil(lambda: fake.streams[0].closed, timeout=1000)
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000):
        app.service.resume()
    assert problems == ["No audio output device was found."]
    assert app.service.heard() is None and not app.service.paused
