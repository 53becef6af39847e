"""The engine end to end on CPU with the real weights: text in, speech out, same as kokoro's reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from audio_checks import log_mel_distance, pitch_track, rms_db

from fasttts_desktop.engine import SAMPLE_RATE, EngineError

HARVARD = "The birch canoe slid on the smooth planks."


@pytest.fixture(scope="module")
def harvard_chunks(engine):
    torch.manual_seed(0)
    return list(engine.stream(HARVARD))


def test_harvard_sentence_is_speech(harvard_chunks):
    assert len(harvard_chunks) == 1
    audio = harvard_chunks[0].audio
    assert audio.dtype == np.float32 and np.isfinite(audio).all()
    seconds = len(audio) / SAMPLE_RATE
    assert 1.5 < seconds < 5.0, seconds
    assert 0.05 < np.abs(audio).max() <= 1.0
    pitch = pitch_track(audio, SAMPLE_RATE)
    voiced = pitch[pitch > 0]
    assert len(voiced) > 0.25 * len(pitch), f"only {len(voiced)} of {len(pitch)} frames voiced"
    assert 80 <= np.median(voiced) <= 400, np.median(voiced)


def test_chunk_carries_text_phonemes_and_word_times(harvard_chunks):
    c = harvard_chunks[0]
    assert c.chunk.text == HARVARD and (c.chunk.start, c.chunk.end) == (0, len(HARVARD))
    assert c.index == 0 and c.total == 1
    assert "k" in c.chunk.phonemes and c.synth_s > 0
    words = [w.text for w in c.words]
    assert words[:3] == ["The", "birch", "canoe"], words
    starts = [w.start_s for w in c.words]
    assert starts == sorted(starts) and c.words[-1].end_s <= c.seconds + 0.05
    assert len(c.durations) == len(c.chunk.phonemes) + 2


def test_durations_equal_kokoro_reference(engine, kmodel, harvard_chunks):
    """Same tokens and style through kokoro's own KModel.forward_with_tokens (weight norm unfolded)."""
    c = harvard_chunks[0]
    vocab = kmodel.vocab
    ids = torch.tensor([[0, *[vocab[p] for p in c.chunk.phonemes if p in vocab], 0]])
    pack = engine._packs[engine.default_voice]
    torch.manual_seed(1)
    ref_audio, ref_dur = kmodel.forward_with_tokens(ids, pack[len(c.chunk.phonemes) - 1], 1.0)
    np.testing.assert_array_equal(c.durations, ref_dur.numpy())
    # Spectra as close as kokoro is to itself under another noise seed.
    torch.manual_seed(2)
    ref2, _ = kmodel.forward_with_tokens(ids, pack[len(c.chunk.phonemes) - 1], 1.0)
    ours = log_mel_distance(c.audio, ref_audio.numpy())
    seeds = log_mel_distance(ref2.numpy(), ref_audio.numpy())
    assert ours <= 1.5 * seeds + 0.05, (ours, seeds)


def test_pause_at_full_stop(engine):
    torch.manual_seed(0)
    # The first chunk is kept short on purpose, so look inside the second, packed one.
    # (short enough that both sentences share the second chunk, whose budget is 80 on a CPU)
    text = "Hello. The birch canoe slid on the smooth planks. Glue the sheet."
    chunk = list(engine.stream(text))[-1]
    assert chunk.chunk.text.startswith("The birch"), chunk.chunk
    words = {w.text: w for w in chunk.words}
    gap_start, gap_end = words["planks"].end_s, words["Glue"].start_s
    assert gap_end - gap_start >= 0.1, (gap_start, gap_end)
    level = rms_db(chunk.audio, SAMPLE_RATE)
    gap = level[int(gap_start / 0.02) : int(gap_end / 0.02) + 1]
    assert gap.size and gap.min() < level.max() - 40, "no silence between the sentences"
    inside = level[int(words["birch"].start_s / 0.02) : int(words["planks"].start_s / 0.02)]
    assert np.median(inside) > level.max() - 25, "the words themselves should be loud"


def test_speed_changes_duration(engine):
    torch.manual_seed(0)
    slow = engine.synthesize("Rice is often served in round bowls.", speed=0.75)
    fast = engine.synthesize("Rice is often served in round bowls.", speed=1.5)
    assert len(slow) > 1.6 * len(fast)


def test_stream_stops_when_cancelled_and_keeps_cpu_chunks_short(engine):
    text = "One two three. " * 3 + "Four five six seven eight nine ten. " * 12
    seen = []
    for chunk in engine.stream(text, cancel=lambda: len(seen) >= 3):
        seen.append(chunk)  # noqa: PERF402 - one at a time: the cancel callback counts them
    assert len(seen) == 3
    assert seen[0].total >= 4
    # Uncapped, the third chunk's budget would be 240 phonemes; on CPU that costs twice as much per second
    # of audio, so the CPU backend caps chunks.
    assert engine.backend.chunk_phonemes == 120
    assert all(len(c.chunk.phonemes) <= 120 for c in seen)
    assert len(seen[2].chunk.phonemes) > 90


def test_a_chunk_in_progress_stops_at_the_next_cancel_point(engine):
    """On a CPU a chunk takes seconds; Stop or a new Speak must not wait for it to finish."""
    polls = []

    def cancel():
        polls.append(len(polls) >= 8)  # says stop from the 9th poll on: inside ALBERT's layers
        return polls[-1]

    assert list(engine.stream(HARVARD, cancel=cancel)) == []
    assert len(polls) == 9, polls  # it stopped at the first poll that said so, in the middle of the model
    after = list(engine.stream("Hi."))  # and the engine is fine afterwards
    assert len(after) == 1 and len(after[0].audio) > 0


def test_batched_stream_makes_the_same_chunks_in_one_call(engine, monkeypatch):
    text = "Glue the sheet. Rice is often served in round bowls. The juice of lemons makes fine punch."
    one_by_one = list(engine.stream(text, pack=False))
    calls = []
    real = engine.backend.infer_batch

    def spy(requests):
        calls.append(len(requests))
        return real(requests)

    monkeypatch.setattr(engine.backend, "infer_batch", spy)
    batched = list(engine.stream(text, pack=False, batch=2))
    assert calls == [2]  # two chunks in one call, the last one alone (through infer)
    assert [c.chunk for c in batched] == [c.chunk for c in one_by_one] and len(batched) == 3
    assert [c.index for c in batched] == [0, 1, 2]
    for a, b in zip(batched, one_by_one, strict=True):
        assert np.array_equal(a.durations, b.durations)
        assert len(a.audio) == len(b.audio) and a.words == b.words


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"text": "   \n"}, "no text", id="empty"),
        pytest.param({"text": "Hi.", "voice": "zz_nobody"}, "Unknown voice", id="voice"),
        pytest.param({"text": "Hi.", "speed": 9.0}, "Speed", id="speed"),
        pytest.param({"text": "!!! ... ???"}, "nothing speakable", id="unspeakable"),
        pytest.param({"text": "Hi.", "start": 4}, "start reading", id="start-past-end"),
        pytest.param({"text": "Hi. Bye.   ", "start": 8}, "no text", id="start-at-trailing-space"),
    ],
)
def test_bad_requests_give_clear_errors(engine, kwargs, message):
    with pytest.raises(EngineError, match=message):
        list(engine.stream(**kwargs))


def test_voices_listed_with_language(engine):
    names = {v.name: v for v in engine.voices}
    assert engine.default_voice in names
    assert names["jm_kumo"].language == "Japanese" and names["jm_kumo"].gender == "male"
    assert "CPU" in engine.description


def test_a_failing_gpu_path_falls_back_to_the_reference_with_a_notice(weights, monkeypatch):
    """The compiled backend really fails here (no CUDA in this torch); the app must still get a model."""
    from fasttts_desktop.engine import backend_choice as engine_mod

    cpu = torch.device("cpu")
    real_eager = engine_mod.EagerBackend
    monkeypatch.setattr(engine_mod, "EagerBackend", lambda sd, device: real_eager(sd, cpu))
    backend, notice = engine_mod.make_backend(weights, torch.device("cuda"), None, None)
    assert "could not start" in notice and backend.device == cpu
    with pytest.raises(EngineError, match="compiled GPU path is unavailable"):
        engine_mod.make_backend(weights, torch.device("cuda"), True, None)
