"""The GUI thread's side of the engine thread's contract (worker/engine_worker.Wanted): what a request id
means once stopped, replaced or closed, and the audio clock that holds speech back."""

from __future__ import annotations

import threading

from fasttts_desktop.worker.engine_worker import Wanted


def test_a_new_speech_replaces_the_old_and_restarts_its_clock():
    wanted = Wanted()
    wanted.speak(1)
    wanted.hear(1, 48_000)
    wanted.speak(2)
    assert wanted.speech == 2 and wanted.heard == (2, 0)
    wanted.stop_speech()
    assert wanted.speech == 0 and wanted.export == 0


def test_an_export_is_wanted_beside_the_speech_until_cancelled():
    wanted = Wanted()
    wanted.speak(1)
    wanted.save(2)
    wanted.stop_speech()
    assert wanted.export == 2
    wanted.cancel_save()
    assert wanted.export == 0


def test_nothing_is_wanted_after_close_whatever_comes_later():
    wanted = Wanted()
    wanted.speak(3)
    wanted.close()
    wanted.speak(4)
    wanted.save(5)
    wanted.stop_speech()
    wanted.cancel_save()
    assert (wanted.speech, wanted.export) == (-1, -1)


def test_the_clock_is_read_whole_while_another_thread_posts_it():
    wanted = Wanted()
    stop = threading.Event()

    def post() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            wanted.hear(n, n * 10)

    poster = threading.Thread(target=post)
    poster.start()
    try:
        for _ in range(20_000):
            request, samples = wanted.heard
            assert samples == request * 10
    finally:
        stop.set()
        poster.join()
