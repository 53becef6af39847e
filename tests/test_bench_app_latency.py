"""bench/app_latency.py: Speak and skip -> first samples through the real SpeechService, engine thread,
Player and Playback, with the bench's stand-in output stream. Structure and causality only: no time
threshold (the numbers are the bench's)."""

from __future__ import annotations

import sys

import pytest
from fake_engine import FakeEngine

from fasttts_desktop.bench import app_latency

SENTENCES = ["The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background."]


@pytest.fixture(autouse=True)
def _app(qapp):
    """The session's QApplication first: the harness would otherwise make a QCoreApplication, and later
    tests' widgets could not be made in this process."""
    return qapp


def check(res: dict, n: int, engine_s: float | None = None) -> None:
    assert res["sentences"] == n
    for what, count in (("speak", n), ("skip", n - 1)):
        r = res[what]
        assert len(r["ms"]) == count, what
        assert len(r["first_chunk_synth_ms"]) == count, what
        assert r["p50_ms"] <= r["p95_ms"]
        for total, synth in zip(r["ms"], r["first_chunk_synth_ms"], strict=True):
            assert synth is not None, what  # the first chunk of that very request was reported
            # the samples cannot reach the output before the engine has made them
            assert total >= synth > 0, (what, total, synth)
            if engine_s is not None:
                assert synth >= engine_s * 1000 * 0.99, (what, synth)


def test_fake_engine_through_the_real_worker_and_player():
    # the fake takes a known time per chunk: every measured first sound must include it
    res = app_latency.run(FakeEngine(chunk_s=0.4, synth_s=0.03), SENTENCES * 2, "jm_kumo", dwell_s=0.1)
    check(res, 4, engine_s=0.03)


def test_without_sounddevice_its_exceptions_stand_in(monkeypatch):
    # the lent GPU machine has no cffi/PortAudio: `import sounddevice` fails there, and the app's Playback
    # still needs CallbackStop to end each utterance (a sentence that never ended would hang the skips)
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # `import sounddevice` raises ImportError
    res = app_latency.run(FakeEngine(chunk_s=0.4, synth_s=0.03), SENTENCES, "jm_kumo", dwell_s=0.1)
    check(res, 2, engine_s=0.03)
    assert res["sounddevice"] == "stand-in exceptions (no PortAudio)"
    assert sys.modules["sounddevice"].__doc__.startswith("stand-in")


def test_with_sounddevice_nothing_stands_in():
    res = app_latency.run(FakeEngine(chunk_s=0.4, synth_s=0.03), SENTENCES, "jm_kumo", dwell_s=0.1)
    assert res["sounddevice"] == "sounddevice"
    assert sys.modules["sounddevice"].__file__


@pytest.mark.slow
def test_real_cpu_engine(engine):
    res = app_latency.run(engine, SENTENCES, engine.voice(None).name, dwell_s=0.1)
    check(res, 2)
