"""Playback on its own (no Qt, no sound server): block queue, joins, tail padding, underruns, Stop."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from fake_stream import FakeOutput

from fasttts_desktop.engine.types import SAMPLE_RATE
from fasttts_desktop.worker.audio_output import BLOCK_FRAMES, QUEUE_SECONDS, Playback

FAST = 0.2  # the fake device runs 5x faster than real time where timing does not matter


def make(pace=FAST):
    output = FakeOutput(pace)
    finished = threading.Event()
    playback = Playback(finished.set, open_stream=output)
    return playback, output, finished


def ramp(n, start=0):
    # Every sample differs from its neighbour, so a dropped, repeated or inserted sample shows.
    return ((np.arange(start, start + n) % 1999) / 2000 + 0.001).astype(np.float32)


def test_chunks_of_any_length_join_without_gaps_and_tail_is_padded():
    playback, output, finished = make()
    playback.start()
    sizes = [1000, 2500, 777, BLOCK_FRAMES, 5]
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
    assert stats.played_s == pytest.approx(len(sent) / SAMPLE_RATE, abs=BLOCK_FRAMES / SAMPLE_RATE)


def test_feed_never_blocks_and_the_queue_stays_bounded():
    playback, _, _ = make(pace=1.0)
    playback.start()
    t0 = time.perf_counter()
    playback.feed(np.full(30 * SAMPLE_RATE, 0.1, np.float32))
    assert time.perf_counter() - t0 < 0.05
    time.sleep(0.3)
    assert playback._blocks.qsize() * BLOCK_FRAMES <= (QUEUE_SECONDS * SAMPLE_RATE) + BLOCK_FRAMES
    playback.stop()
    playback.close()


def test_an_empty_queue_plays_silence_and_counts_one_underrun_while_audio_is_expected():
    playback, output, finished = make()
    playback.start()
    time.sleep(0.1)  # the device is running before the first chunk: warming up, not an underrun
    playback.feed(np.full(2 * BLOCK_FRAMES, 0.5, np.float32))
    time.sleep(0.3)  # the chunk is long gone: the device starves while the next is still expected
    playback.feed(np.full(2 * BLOCK_FRAMES, 0.5, np.float32))
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
    output = FakeOutput(FAST)
    finished = threading.Event()
    playback = Playback(finished.set, open_stream=output)
    playback.start()
    output.streams[0].underflow_at = {2, 3}
    playback.feed(np.full(8 * BLOCK_FRAMES, 0.5, np.float32))
    playback.end()
    assert finished.wait(5)
    playback.close()
    assert playback.stats.device_underflows == 2


def test_stop_silences_within_100_ms_and_does_not_report_finished():
    playback, output, finished = make(pace=1.0)
    playback.start()
    playback.feed(np.full(10 * SAMPLE_RATE, 0.5, np.float32))
    time.sleep(0.3)
    stream = output.streams[0]
    assert len(stream.blocks) > 0
    t_stop = time.perf_counter()
    playback.stop()
    elapsed = time.perf_counter() - t_stop
    taken = len(stream.blocks)
    time.sleep(0.2)
    playback.close()
    assert elapsed < 0.1
    assert len(stream.blocks) == taken  # not one more block after stop returned
    assert not finished.is_set()
    assert not playback._feeder.is_alive()  # the feeder, blocked on a full queue, was let go


def test_first_sound_is_when_the_first_block_is_taken():
    playback, output, finished = make()
    playback.start()
    time.sleep(0.05)
    t_feed = time.perf_counter()
    playback.feed(np.full(BLOCK_FRAMES, 0.5, np.float32))
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
    assert player.play(1, np.full(3 * BLOCK_FRAMES, 0.5, np.float32))
    player.stop()
    assert output.streams[0].blocks[0].all()  # no block of silence before the sound (~40 ms sooner)
