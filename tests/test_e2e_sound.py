"""The real app, the real engine on CPU and a real sound server: what reaches the speaker is the utterance,
it starts before the last chunk is made, Stop silences it, and Save writes what was played."""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile
from app_fixtures import utterance_done
from audio_checks import locate, loud, upsample_2x
from PySide6.QtCore import Qt
from sound_sink import RATE

from fasttts_desktop.engine.types import SAMPLE_RATE

pytest_plugins = ["app_fixtures", "sound_sink"]

pytestmark = pytest.mark.slow

# A blank line always ends a chunk, so these are two chunks of ~3 s each.
TWO_LINES = "The birch canoe slid on the smooth planks.\n\nGlue the sheet to the dark blue background."
# A short first chunk, then a long one (~110 phonemes): its synthesis outlasts the wait before Stop even on
# a fast CPU (a ~3 s second chunk was sometimes made within that wait).
SHORT_THEN_LONG = (
    "The birch canoe slid on the smooth planks.\n\n"
    "Glue the sheet to the dark blue background, then press it flat while the glue sets, "
    "and leave it there until the morning comes."
)


@pytest.fixture
def real_app(qtbot, make_app, engine, sound_sink):
    app = make_app(engine, output="real")
    qtbot.waitUntil(lambda: app.service.is_ready, timeout=120_000)
    assert app.service.player.probe()  # the sink is the output device
    return app


def test_the_sink_hears_the_utterance_as_it_is_made_and_save_writes_it(qtbot, real_app, sound_sink, tmp_path):
    app, w = real_app, real_app.window
    made = []  # (perf_counter when the chunk reached the GUI thread, AudioChunk)
    app.service.chunk_played.connect(lambda rid, chunk: made.append((time.perf_counter(), chunk)))
    capture = sound_sink.capture()
    w.text_edit.setPlainText(TWO_LINES)
    t_speak = time.perf_counter()
    with utterance_done(qtbot, app.service, 120_000) as finished:
        qtbot.keyClick(w.text_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.wait(200)
    heard = capture.stop()
    stats = finished.stats

    assert len(made) == 2
    # Each chunk is found, in order, in what the sink received.
    lags = []
    for _, chunk in made:
        lag, corr = locate(heard, upsample_2x(chunk.audio))
        assert corr > 0.9, f"chunk {chunk.index} correlates only {corr:.2f} with the sound at the sink"
        lags.append(lag)
    assert lags[0] < lags[1]
    # Sound began before the last chunk had been made.
    first = int(loud(heard)[0])
    first_heard_at = capture.arrival_of(first)
    assert first_heard_at < made[-1][0]
    assert stats.first_sound_s is not None and stats.chunks == 2
    print(
        f"\nSpeak -> first sample at the sink: {capture.arrival_of(lags[0]) - t_speak:.3f} s, first speech "
        f"{first_heard_at - t_speak:.3f} s "
        f"(app's estimate {stats.first_sound_s:.3f} s); first chunk made after {made[0][0] - t_speak:.3f} s "
        f"(its model call {made[0][1].synth_s:.3f} s), "
        f"last after {made[-1][0] - t_speak:.3f} s; "
        f"RTF {stats.rtf:.2f}; underruns {stats.underruns} ({stats.underrun_s:.2f} s)"
    )
    assert "first sound after" in w.status_label.text()
    # The whole tail was played: nothing of the last chunk was cut off.
    last_chunk = upsample_2x(made[-1][1].audio)
    tail_lag, _ = locate(heard, last_chunk)
    assert int(loud(heard)[-1]) >= tail_lag + int(loud(last_chunk)[-1]) - int(0.01 * RATE)

    # Save now: same text, voice and speed, so it is what was just played, sample for sample (loudness
    # normalisation off, as the export dialog remembers it).
    app.window.settings.setValue("export/loudness", "off")
    target = tmp_path / "played.wav"
    with qtbot.waitSignal(app.service.exports.finished, timeout=10_000):
        w.save_to(str(target))
    saved, rate = soundfile.read(str(target), dtype="float32")  # read back by the library that wrote it
    played = np.concatenate([c.audio for _, c in made])
    assert rate == SAMPLE_RATE and len(saved) == len(played)
    assert np.abs(saved - played).max() <= 1.01 / 32767
    _, corr = locate(heard, upsample_2x(saved[: len(made[0][1].audio)]))
    assert corr > 0.9


def test_stop_silences_the_sink_within_100_ms_and_halts_synthesis(qtbot, real_app, sound_sink):
    app, w = real_app, real_app.window
    worker = app.service._worker
    made = []
    worker.chunk_ready.connect(lambda rid, chunk: made.append(chunk.index))  # straight from the engine thread
    capture = sound_sink.capture()
    errors = []
    app.service.speech_error.connect(errors.append)
    # ~40 s of speech: on any CPU its synthesis is still going on well after the first sound.
    w.text_edit.setPlainText("\n\n".join([SHORT_THEN_LONG] * 4))
    w.speak()
    # Let the first chunk play for a while.
    qtbot.waitUntil(lambda: len(loud(capture.audio())) > 0 or bool(errors), timeout=120_000)
    assert not errors
    qtbot.wait(500)
    with qtbot.waitSignal(worker.speech_cancelled, timeout=120_000):
        t_stop = time.perf_counter()
        qtbot.keyClick(w.text_edit, Qt.Key.Key_Escape)
        made_at_stop = list(made)
        at_stop = capture.samples_by(t_stop)
    qtbot.wait(500)
    heard = capture.stop()

    assert len(loud(heard[:at_stop])) > 0.3 * RATE  # it was really speaking when stopped
    after = loud(heard[at_stop + int(0.1 * RATE) :])
    assert len(after) == 0, f"sound {len(after) / RATE:.3f} s long more than 100 ms after Stop"
    # The chunk being made when Stop came was thrown away, and no later chunk was started.
    assert made == made_at_stop and len(made) < 8, made
    assert not app.service.busy and w.status_label.text() == "Stopped."
