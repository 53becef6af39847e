"""The engine thread's side of an export (EngineWorker driven directly, fake engine, real encoders): it
hands chunks to the encoder thread and goes on without waiting for the encoding, holds off only when the
encoder is MAX_BACKLOG_S behind, reuses the utterance just played, and reports failures in one line."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from fake_engine import FakeEngine

from fasttts_desktop.engine.types import SAMPLE_RATE
from fasttts_desktop.worker import engine_worker
from fasttts_desktop.worker.engine_worker import EngineWorker
from fasttts_desktop.worker.export_job import ExportRequest


def worker_with(engine: FakeEngine) -> tuple[EngineWorker, dict]:
    worker = EngineWorker(lambda progress: engine)
    worker.load()
    got: dict = {"progress": []}
    worker.saved.connect(lambda request, summary: got.setdefault("saved", summary))
    worker.save_failed.connect(lambda request, message: got.setdefault("failed", message))
    worker.save_progress.connect(lambda request, progress: got["progress"].append(progress))
    return worker, got


def export(worker: EngineWorker, request: int, path, text: str, **options) -> None:
    worker.wanted.save(request)
    worker.save(request, ExportRequest(str(path), text, "", 1.0, **options))


def sentences(n: int) -> str:
    return " ".join(f"Part {i}." for i in range(n))


def test_the_engine_does_not_wait_for_the_encoder(qtbot, tmp_path):
    # 100 s of audio made in a few milliseconds a chunk; MP3-encoding it takes the encoder far longer.
    worker, got = worker_with(FakeEngine(chunk_s=20.0, synth_s=0.0))
    export(worker, 1, tmp_path / "long.mp3", sentences(5))
    encoder = worker.encoder
    qtbot.waitUntil(lambda: worker._save is None, timeout=10_000)  # the engine has made every chunk
    still_encoding = not encoder.ended.is_set()
    qtbot.waitUntil(lambda: "saved" in got or "failed" in got, timeout=30_000)
    assert still_encoding, "the engine thread waited for the encoder"
    assert got["saved"].audio_s == pytest.approx(100.0)
    audio, _ = soundfile.read(str(tmp_path / "long.mp3"), dtype="float32")
    assert abs(len(audio) - 100 * SAMPLE_RATE) <= 1152 + 576
    assert got["progress"][-1].chunks_done == 5 and got["progress"][-1].fraction == 1.0


def test_the_engine_holds_off_while_the_encoder_is_far_behind(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(engine_worker, "MAX_BACKLOG_S", 30.0)
    engine = FakeEngine(chunk_s=20.0, synth_s=0.0)
    worker, got = worker_with(engine)
    export(worker, 1, tmp_path / "capped.opus", sentences(10))
    encoder = worker.encoder
    backlog = []
    qtbot.waitUntil(
        lambda: backlog.append(encoder.backlog_s) or "saved" in got or "failed" in got, timeout=60_000
    )
    print(f"\nlargest backlog {max(backlog):.0f} s of audio (cap 30 s + one 20 s chunk)")
    assert max(backlog) <= 30.0 + 20.0
    assert got["saved"].audio_s == pytest.approx(200.0) and engine.made == 10


def test_an_export_of_what_was_just_played_is_not_made_again(qtbot, tmp_path):
    engine = FakeEngine(chunk_s=0.3, synth_s=0.0)
    worker, got = worker_with(engine)
    played = []
    worker.chunk_ready.connect(lambda request, chunk: played.append(chunk))
    done = []
    worker.speech_done.connect(lambda *args: done.append(args))
    worker.wanted.speak(1)
    worker.wanted.hear(1, None)
    worker.speak(1, "One. Two. Three.", "", 1.0)
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
    # loudness off: the file must hold exactly what was played (normalising: tests/test_export_loudness.py)
    export(
        worker,
        2,
        tmp_path / "again.flac",
        "One. Two. Three.",
        subtitles=str(tmp_path / "again.srt"),
        loudness=None,
    )
    qtbot.waitUntil(lambda: "saved" in got, timeout=5000)
    assert len(engine.calls) == 1 and got["saved"].reused
    audio, _ = soundfile.read(str(tmp_path / "again.flac"), dtype="float32")
    assert np.abs(audio - np.concatenate([c.audio for c in played])).max() <= 1 / 32767
    assert (tmp_path / "again.srt").read_text().count("-->") == 3


def test_bad_requests_fail_before_anything_is_made(qtbot, tmp_path):
    engine = FakeEngine()
    worker, got = worker_with(engine)
    export(worker, 1, tmp_path / "x.xyz", "Hello.")
    assert "Cannot tell the audio format" in got["failed"] and engine.calls == []
    got.clear()
    export(worker, 2, tmp_path / "x.mp3", "Hello.", subtitles=str(tmp_path / "x.txt"))
    assert "subtitle format" in got["failed"] and engine.calls == []
    assert list(tmp_path.iterdir()) == []


def test_an_engine_failure_midway_is_reported_and_leaves_nothing(qtbot, tmp_path):
    class Failing(FakeEngine):
        def stream(self, *args, **kwargs):
            for i, chunk in enumerate(super().stream(*args, **kwargs)):
                if i == 2:
                    from fasttts_desktop.engine.types import EngineError

                    raise EngineError("The model gave up on part 3.")
                yield chunk

    worker, got = worker_with(Failing(chunk_s=0.2, synth_s=0.0))
    export(worker, 1, tmp_path / "broken.m4b", sentences(5), subtitles=str(tmp_path / "broken.vtt"))
    qtbot.waitUntil(lambda: "failed" in got, timeout=10_000)
    assert got["failed"] == "The model gave up on part 3."
    qtbot.waitUntil(worker.encoder.ended.is_set, timeout=5000)
    assert list(tmp_path.iterdir()) == []
