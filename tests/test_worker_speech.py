"""SpeechService + EngineWorker + Player with a fake engine and fake output: threads, signals, Stop, replace,
speak-while-loading, save, shutdown."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import soundfile
from fake_engine import FakeEngine, chunk_pitch
from fake_stream import FRAMES, FakeOutput
from timing_budget import within_budget

from fasttts_desktop.engine.types import SAMPLE_RATE
from fasttts_desktop.playback.audio_output import STOP_FADE_S, Playback
from fasttts_desktop.playback.sound_stream import NoOutputDevice
from fasttts_desktop.worker.engine_worker import EngineWorker
from fasttts_desktop.worker.player import Player
from fasttts_desktop.worker.speech import SpeechService, UtteranceStats

pytest_plugins = ["app_fixtures"]

THREE = "One sentence. Two sentence. Three sentence."


def dominant_pitches(audio: np.ndarray, frame_s: float = 0.1) -> list[float]:
    """The strongest frequency of each loud 100 ms frame, in order."""
    n = int(frame_s * SAMPLE_RATE)
    out = []
    for i in range(0, len(audio) - n, n):
        f = audio[i : i + n]
        if np.abs(f).max() < 0.1:
            continue
        spectrum = np.abs(np.fft.rfft(f * np.hanning(n)))
        out.append(float(np.argmax(spectrum)) / frame_s)
    return out


def pitches_heard(output: FakeOutput) -> set[int]:
    """Which chunk indices' tones reached the fake speaker."""
    heard = set()
    for stream in output.streams:
        for p in dominant_pitches(stream.played):
            heard.add(round((p - chunk_pitch(0)) / (chunk_pitch(1) - chunk_pitch(0))))
    return heard


def test_chunks_play_in_order_as_they_arrive_and_one_summary_follows(qtbot, make_app):
    app = make_app(FakeEngine(chunk_s=0.3, synth_s=0.1), pace=1.0)
    qtbot.waitUntil(lambda: app.service.is_ready)
    chunks = []
    app.service.chunk_played.connect(lambda rid, c: chunks.append((time.perf_counter(), c.index)))
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000) as finished:
        app.service.speak(THREE, "", 1.0)
    stats: UtteranceStats = finished.args[0]
    assert [i for _, i in chunks] == [0, 1, 2]
    assert len(app.output.streams) == 1  # one stream for the whole utterance
    stream = app.output.streams[0]
    # Sound started with the first chunk, long before the last one was made.
    first_sound = stream.block_times[next(i for i, b in enumerate(stream.blocks) if b.any())]
    assert first_sound < chunks[-1][0]
    assert [round(p) for p in dominant_pitches(stream.played)][::3][:3] == [220, 330, 440]
    assert stats.chunks == 3 and stats.audio_s == pytest.approx(0.9, abs=0.01)
    assert stats.first_sound_s is not None and stats.first_sound_s > 0
    within_budget("first sound", stats.first_sound_s, 1.0)
    assert stats.rtf == pytest.approx(0.3 / 0.9, rel=0.05)
    assert stats.underruns == 0
    assert not app.service.busy


def test_speak_while_loading_is_remembered_and_played_once_ready(qtbot, make_app):
    app = make_app(hold_load=True)
    assert not app.service.is_ready
    app.window.text_edit.setPlainText("Hello there.")
    app.window.speak()
    qtbot.wait(200)
    assert app.output.streams == [] and app.engine.calls == []
    assert "engine has loaded" in app.window.status_label.text()
    qtbot.wait(500)
    t_ready = time.perf_counter()
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000) as finished:
        app.release_load.set()
    assert app.engine.calls == [("Hello there.", "jm_kumo", 1.0)]
    stream = app.output.streams[0]
    first = stream.block_times[next(i for i, b in enumerate(stream.blocks) if b.any())]
    # counted from the engine being ready, not from Speak 0.5 s before (0.3 s: the two clocks of one block)
    assert finished.args[0].first_sound_s < first - t_ready + 0.3
    assert pitches_heard(app.output) == {0}


def test_only_the_last_of_several_speaks_while_loading_is_spoken(qtbot, make_app):
    app = make_app(hold_load=True)
    app.service.speak("First.", "", 1.0)
    app.service.speak("Second.", "", 1.0)
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000):
        app.release_load.set()
    assert [c[0] for c in app.engine.calls] == ["Second."]


def test_stop_while_loading_cancels_the_remembered_speak(qtbot, make_app):
    app = make_app(hold_load=True)
    app.service.speak("Hello.", "", 1.0)
    app.service.stop()
    app.release_load.set()
    qtbot.waitUntil(lambda: app.service.is_ready)
    qtbot.wait(200)
    assert app.engine.calls == [] and app.output.streams == []


def test_a_new_speak_replaces_the_old_utterance(qtbot, make_app):
    app = make_app(FakeEngine(chunk_s=0.5, synth_s=0.15), pace=1.0)
    qtbot.waitUntil(lambda: app.service.is_ready)
    finished = []
    app.service.utterance_finished.connect(finished.append)
    app.service.speak(THREE, "", 1.0)
    qtbot.waitUntil(
        lambda: bool(app.output.streams) and len(app.output.streams[0].blocks) * FRAMES > 0.2 * SAMPLE_RATE,
        timeout=3000,
    )
    old = app.output.streams[0]
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000):
        app.service.speak("Other.", "", 1.0)
        speak_block = len(old.blocks)
    # The old sound faded out (20 ms) at once, before the new request was even made, and was closed.
    assert not old.played[(speak_block + 1) * FRAMES + round(STOP_FADE_S * SAMPLE_RATE) :].any()
    assert len(app.output.streams) == 2 and old.closed and old.aborted.is_set()
    # The old utterance's later chunks (made before its synthesis noticed) never reached a speaker.
    assert set(dominant_pitches(app.output.streams[1].played)) == {chunk_pitch(0)}
    assert round(max(dominant_pitches(old.played))) == chunk_pitch(0)
    qtbot.wait(300)
    assert len(finished) == 1 and finished[0].chunks == 1


def test_stop_silences_within_100_ms_while_a_chunk_is_being_made(qtbot, make_app):
    engine = FakeEngine(chunk_s=2.0, synth_s=0.8)
    app = make_app(engine, pace=1.0)
    qtbot.waitUntil(lambda: app.service.is_ready)
    app.service.speak(THREE, "", 1.0)
    qtbot.waitUntil(
        lambda: bool(app.output.streams) and len(app.output.streams[0].blocks) * FRAMES > 0.2 * SAMPLE_RATE,
        timeout=3000,
    )
    qtbot.waitUntil(engine.in_chunk.is_set, timeout=3000)  # chunk 2 is being made right now
    stream = app.output.streams[0]
    t0 = time.perf_counter()
    app.window.stop()
    elapsed = time.perf_counter() - t0
    stop_block = len(stream.blocks)
    within_budget("Stop while a chunk is being made", elapsed, 0.1)
    assert not app.service.busy
    assert app.window.status_label.text() == "Stopped."
    qtbot.waitUntil(stream.aborted.is_set, timeout=100)  # once the fade is out
    assert not stream.played[(stop_block + 1) * FRAMES + round(STOP_FADE_S * SAMPLE_RATE) :].any()
    taken = len(stream.blocks)
    qtbot.wait(1200)  # chunk 2 is finished meanwhile and must be dropped
    assert len(stream.blocks) == taken and len(app.output.streams) == 1
    assert pitches_heard(app.output) == {0}


def test_save_reuses_what_was_just_played(qtbot, make_app, tmp_path):
    app = make_app(FakeEngine(chunk_s=0.2, synth_s=0.01), pace=0.3)
    qtbot.waitUntil(lambda: app.service.is_ready)
    played = []
    app.service.chunk_played.connect(lambda rid, c: played.append(c.audio))
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000):
        app.service.speak(THREE, "jf_alpha", 1.2)
    target = tmp_path / "out.wav"
    with qtbot.waitSignal(app.service.exports.finished, timeout=5000):
        app.service.exports.save(str(target), THREE, "jf_alpha", 1.2, loudness=None)  # samples as played
    assert len(app.engine.calls) == 1  # not synthesized again
    audio, rate = soundfile.read(str(target), dtype="float32")  # by the library that wrote it
    assert rate == SAMPLE_RATE
    assert np.abs(audio - np.concatenate(played)).max() <= 1 / 32767

    # A different speed is a different utterance: made again, and saved with its progress shown.
    progress = []
    app.service.exports.chunks.connect(lambda done, total: progress.append((done, total)))
    with qtbot.waitSignal(app.service.exports.finished, timeout=5000):
        app.service.exports.save(str(target), THREE, "jf_alpha", 1.0)
    assert len(app.engine.calls) == 2
    assert progress[-1] == (3, 3)


def test_a_cancelled_save_writes_nothing(qtbot, make_app, tmp_path):
    engine = FakeEngine(chunk_s=0.2, synth_s=0.3)
    app = make_app(engine)
    qtbot.waitUntil(lambda: app.service.is_ready)
    target = tmp_path / "cancelled.wav"
    failed = []
    app.service.exports.failed.connect(failed.append)
    app.service.exports.save(str(target), THREE, "", 1.0)
    qtbot.waitUntil(engine.in_chunk.is_set, timeout=2000)
    app.window.exporter.panel.cancel_button.click()
    assert failed == [""] and not app.service.exports.busy
    qtbot.wait(1200)
    assert list(tmp_path.glob("cancelled*")) == [] and list(tmp_path.glob(".cancelled*")) == []
    assert failed == [""]  # the engine thread's late report was ignored


def test_an_unwritable_path_gives_a_clear_error(qtbot, make_app, tmp_path):
    app = make_app()
    qtbot.waitUntil(lambda: app.service.is_ready)
    with qtbot.waitSignal(app.service.exports.failed, timeout=5000) as failed:
        app.service.exports.save(str(tmp_path / "no-such-folder" / "x.wav"), "Hi.", "", 1.0)
    assert "does not exist" in failed.args[0]


def test_without_an_output_device_speech_still_finishes_and_save_works(qtbot, tmp_path):
    def no_device(on_finished):
        playback = Playback(on_finished)
        playback.start = lambda: (_ for _ in ()).throw(NoOutputDevice("No audio output device was found."))
        return playback

    engine = FakeEngine()
    service = SpeechService(lambda progress: engine, player=Player(no_device, warm_up=lambda: None))
    problems = []
    service.device_problem.connect(problems.append)
    service.start()
    try:
        qtbot.waitUntil(lambda: service.is_ready)
        with qtbot.waitSignal(service.utterance_finished, timeout=5000) as finished:
            service.speak(THREE, "", 1.0)
        assert finished.args[0].first_sound_s is None and finished.args[0].chunks == 3
        assert problems == ["No audio output device was found."]
        with qtbot.waitSignal(service.exports.finished, timeout=5000):
            service.exports.save(str(tmp_path / "x.wav"), THREE, "", 1.0)
        assert len(engine.calls) == 1
    finally:
        assert service.shutdown()


def test_shutdown_during_a_slow_load_returns_promptly(qtbot):
    release = threading.Event()

    def slow_load(progress):
        for _ in range(1000):  # ~50 s unless abandoned
            progress("Converting weights", 0.1)
            if release.wait(0.05):
                break
        return FakeEngine()

    service = SpeechService(slow_load, player=Player(warm_up=lambda: None))
    service.start()
    service.speak("Hello.", "", 1.0)
    qtbot.wait(200)
    t0 = time.perf_counter()
    assert service.shutdown(wait_s=3.0)
    within_budget("shutdown while loading", time.perf_counter() - t0, 1.0)


def test_shutdown_mid_chunk_does_not_hang(qtbot):
    engine = FakeEngine(synth_s=1.0)
    output = FakeOutput()
    service = SpeechService(
        lambda progress: engine,
        player=Player(lambda f: Playback(f, open_stream=output), warm_up=lambda: None),
    )
    service.start()
    qtbot.waitUntil(lambda: service.is_ready)
    service.speak(THREE, "", 1.0)
    qtbot.waitUntil(engine.in_chunk.is_set, timeout=2000)
    t0 = time.perf_counter()
    clean = service.shutdown(wait_s=0.2)
    within_budget("shutdown mid-chunk", time.perf_counter() - t0, 0.5)
    assert not clean  # the chunk is still being made; the thread is left to finish it on its own
    qtbot.waitUntil(service._thread.isFinished, timeout=3000)


def test_worker_signals_carry_plain_data(qtbot):
    worker = EngineWorker(lambda progress: FakeEngine(synth_s=0))
    got = []
    worker.loaded.connect(got.append)
    worker.chunk_ready.connect(lambda rid, chunk: got.append(chunk))
    worker.load()
    worker.wanted.speak(1)
    worker.speak(1, "A. B.", "", 1.0)  # made one chunk per turn of this thread's event loop
    qtbot.waitUntil(lambda: len(got) == 3)
    info, *chunks = got
    assert info.voices[0] == ("jf_alpha", "jf_alpha (Japanese, female)") or info.voices
    assert all(isinstance(v, tuple) and all(isinstance(s, str) for s in v) for v in info.voices)
    assert [type(c.audio) for c in chunks] == [np.ndarray, np.ndarray]
    assert all(c.audio.dtype == np.float32 for c in chunks)
