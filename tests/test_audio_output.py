"""Playback on its own (no Qt, no sound server): joins, tail padding, underruns, pause/resume with fades,
Stop's fade, the audio clock, and giving the device back during a long pause."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from fake_stream import FRAMES, FakeOutput
from pause_checks import PAUSE_FADE, fade_gains, ramp, split_at_pause
from timing_budget import within_budget

from fasttts_desktop.engine.types import SAMPLE_RATE
from fasttts_desktop.playback.audio_output import STOP_FADE_S, Playback

FAST = 0.2  # the fake device runs 5x faster than real time where timing does not matter
STOP_FADE = round(STOP_FADE_S * SAMPLE_RATE)


def make(pace=FAST, latency=0.0):
    output = FakeOutput(pace, latency)
    finished = threading.Event()
    playback = Playback(finished.set, open_stream=output)
    return playback, output, finished


def test_chunks_of_any_length_join_without_gaps_and_tail_is_padded():
    playback, output, finished = make()
    playback.start()
    sizes = [1000, 2500, 777, FRAMES, 5, 0]
    pieces, at = [], 0
    for n in sizes:
        pieces.append(ramp(n, at))
        at += n
    for p in pieces:
        playback.feed(p)
    playback.end()
    assert finished.wait(5)
    playback.close()
    played = output.streams[0].played
    sent = np.concatenate(pieces)
    start = int(np.flatnonzero(played)[0])
    assert np.array_equal(played[start : start + len(sent)], sent)
    tail = played[start + len(sent) :]
    assert len(tail) >= 0.2 * SAMPLE_RATE and not tail.any()  # the sound path loses the last ~100-250 ms
    stats = playback.stats
    assert stats.underruns == 0 and stats.first_sound is not None
    assert stats.played_s == pytest.approx(len(sent) / SAMPLE_RATE)
    assert playback.heard_sample() == len(sent)  # the padding is not part of the utterance


def test_feed_never_blocks_and_what_is_queued_is_counted():
    playback, _, _ = make(pace=1.0)
    playback.start()
    t0 = time.perf_counter()
    playback.feed(np.full(30 * SAMPLE_RATE, 0.1, np.float32))
    within_budget("feeding 30 s", time.perf_counter() - t0, 0.05)
    time.sleep(0.3)
    assert 29 * SAMPLE_RATE < playback.queued_samples < 30 * SAMPLE_RATE
    assert playback.fed_samples == 30 * SAMPLE_RATE
    playback.stop()
    playback.close()


def test_an_empty_queue_plays_silence_and_counts_one_underrun_while_audio_is_expected():
    playback, output, finished = make()
    playback.start()
    time.sleep(0.1)  # the device is running before the first chunk: warming up, not an underrun
    playback.feed(np.full(2 * FRAMES, 0.5, np.float32))
    time.sleep(0.3)  # the chunk is long gone: the device starves while the next is still expected
    playback.feed(np.full(2 * FRAMES, 0.5, np.float32))
    playback.end()
    assert finished.wait(5)
    time.sleep(0.1)  # after the end nothing more may be counted
    playback.close()
    stats = playback.stats
    assert stats.underruns == 1
    assert stats.underrun_s >= 0.2
    played = output.streams[0].played
    loud = np.flatnonzero(played)
    gap = np.diff(loud).max()
    assert gap > 0.2 * SAMPLE_RATE  # the silence really is in the output


def test_device_underflows_are_counted_separately():
    playback, output, finished = make()
    playback.start()
    output.streams[0].underflow_at = {2, 3}
    playback.feed(np.full(8 * FRAMES, 0.5, np.float32))
    playback.end()
    assert finished.wait(5)
    playback.close()
    assert playback.stats.device_underflows == 2


def test_stop_fades_out_then_is_silent_and_does_not_report_finished():
    playback, output, finished = make(pace=1.0)
    playback.start()
    playback.feed(np.full(10 * SAMPLE_RATE, 0.5, np.float32))
    time.sleep(0.3)
    stream = output.streams[0]
    t_stop = time.perf_counter()
    playback.stop()
    within_budget("stop", time.perf_counter() - t_stop, 0.01)
    assert not stream.aborted.is_set()  # it only asks the callback to fade
    taken = len(stream.blocks)
    playback.close()
    elapsed = time.perf_counter() - t_stop
    within_budget("close after stop", elapsed, 0.1)
    assert stream.aborted.is_set() and stream.closed
    played = stream.played
    fade_start = taken * FRAMES if played[taken * FRAMES] != 0.5 else taken * FRAMES + FRAMES
    loud = np.flatnonzero(played)
    assert loud[-1] - fade_start < STOP_FADE  # faded to nothing within 20 ms of audio ...
    fade = played[fade_start : loud[-1] + 1]
    assert np.all(np.diff(fade) < 0) and fade[0] > 0.45  # ... smoothly, from full level: no click
    assert not played[loud[-1] + 1 :].any()
    assert not finished.is_set()
    assert stream.block_times[-1] - t_stop < 0.1


def test_pause_fades_out_within_a_block_and_resume_goes_on_with_the_next_sample():
    playback, output, finished = make(pace=1.0)
    sent = ramp(int(1.5 * SAMPLE_RATE))
    playback.feed(sent)
    playback.end()
    playback.start()
    time.sleep(0.3)
    t_pause = time.perf_counter()
    playback.pause()
    stream = output.streams[0]
    time.sleep(0.2)
    assert playback.paused
    heard = playback.heard_sample()
    time.sleep(0.1)
    assert playback.heard_sample() == heard  # the clock stands still while paused
    playback.resume()
    assert finished.wait(5)
    playback.close()
    played = stream.played
    s0, p, q = split_at_pause(played, sent)
    assert heard == p + PAUSE_FADE  # what was heard, up to the end of the fade
    # The fade began in the first block after the pause was asked for.
    pause_block = next(i for i, t in enumerate(stream.block_times) if t >= t_pause)
    assert (s0 + p) // FRAMES <= pause_block
    assert q - s0 - p > 0.2 * SAMPLE_RATE  # the pause is in the output as silence


def test_paused_before_any_audio_nothing_plays_until_resume():
    playback, output, finished = make()
    playback.pause()
    sent = ramp(SAMPLE_RATE // 2)
    playback.feed(sent)
    playback.end()
    playback.start()
    time.sleep(0.3)
    stream = output.streams[0]
    assert len(stream.blocks) > 3 and not stream.played.any()
    assert playback.heard_sample() == 0 and playback.stats.first_sound is None
    playback.resume()
    assert finished.wait(5)
    playback.close()
    played = stream.played
    s0 = int(np.flatnonzero(played)[0])
    np.testing.assert_allclose(
        played[s0 : s0 + PAUSE_FADE], sent[:PAUSE_FADE] * fade_gains(PAUSE_FADE, PAUSE_FADE, False), atol=1e-6
    )
    assert np.array_equal(played[s0 + PAUSE_FADE : s0 + len(sent)], sent[PAUSE_FADE:])


def test_stop_while_paused_closes_at_once():
    playback, output, _ = make(pace=1.0)
    playback.feed(ramp(SAMPLE_RATE))
    playback.start()
    time.sleep(0.1)
    playback.pause()
    time.sleep(0.1)
    t0 = time.perf_counter()
    playback.stop()
    playback.close()
    within_budget("stop and close while paused (no fade to wait for)", time.perf_counter() - t0, 0.1)
    assert not output.streams[0].played[-FRAMES * 3 :].any()


def test_the_clock_follows_the_dac_times_and_interpolates_between_blocks():
    latency = 0.05
    playback, output, finished = make(pace=1.0, latency=latency)
    playback.feed(ramp(SAMPLE_RATE))
    playback.end()
    playback.start()
    stream = output.streams[0]
    assert playback.heard_sample() == 0  # the first block is not at the speaker yet
    samples = []
    while not finished.is_set():
        samples.append((stream.time, playback.heard_sample(), stream.time))
        time.sleep(0.003)
    dac, handed = np.array(stream.dac_times), np.array(stream.handed_times)

    def block_at(t):
        return int(np.searchsorted(dac, t, side="right")) - 1

    def expected(t):
        # What the fake's speaker plays at a given clock time: block k started at dac[k], in order, and
        # holds FRAMES samples (a late next block on a loaded machine leaves its last sample sounding).
        k = block_at(t)
        return 0 if k < 0 else min(SAMPLE_RATE, k * FRAMES + min(FRAMES, int((t - dac[k]) * SAMPLE_RATE)))

    for before, heard, after in samples:
        assert heard <= expected(after) + 1
        # (A block the loaded machine handed over only after its DAC time cannot be known before.)
        if block_at(before) < 0 or handed[block_at(before)] <= before:
            assert expected(before) - 1 <= heard
    heards = [h for _, h, _ in samples]
    assert heards == sorted(heards) and heards[-1] == SAMPLE_RATE
    playback.close()


def test_a_long_pause_gives_the_device_back_and_resume_opens_it_again_seamlessly():
    playback, output, finished = make()
    sent = ramp(SAMPLE_RATE)
    playback.feed(sent)
    playback.end()
    playback.start()
    time.sleep(0.05)
    assert not playback.park()  # only a paused, faded-out playback can be parked
    playback.pause()
    time.sleep(0.05)
    heard = playback.heard_sample()
    assert playback.park()
    first = output.streams[0]
    assert first.closed and not finished.is_set()  # closing it is not the end of the utterance
    assert playback.heard_sample() == heard
    playback.resume()
    assert finished.wait(5)
    playback.close()
    assert len(output.streams) == 2
    played = np.concatenate([first.played, output.streams[1].played])
    split_at_pause(played, sent)
    assert playback.heard_sample() == len(sent)


def test_first_sound_is_when_the_first_block_is_taken():
    playback, output, finished = make()
    playback.start()
    time.sleep(0.05)
    t_feed = time.perf_counter()
    playback.feed(np.full(FRAMES, 0.5, np.float32))
    playback.end()
    assert finished.wait(5)
    playback.close()
    first = playback.stats.first_sound
    assert first is not None and first >= t_feed
    stream = output.streams[0]
    index = next(i for i, b in enumerate(stream.blocks) if b.any())
    assert first == pytest.approx(stream.block_times[index], abs=1e-3)


def test_the_first_block_the_device_asks_for_is_already_sound():
    from fasttts_desktop.worker.player import Player

    output = FakeOutput(FAST)
    player = Player(lambda on_finished: Playback(on_finished, open_stream=output), warm_up=lambda: None)
    assert player.play(1, np.full(3 * FRAMES, 0.5, np.float32))
    player.shutdown()
    assert output.streams[0].blocks[0].all()  # no block of silence before the sound (~10 ms sooner)
