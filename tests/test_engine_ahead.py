"""The export's look-ahead (engine._ahead): the front end's chunks made on a thread, handed over in order."""

from __future__ import annotations

import threading
import time

import pytest

from fasttts_desktop.engine.stream_helpers import ahead as _ahead


def test_items_arrive_in_order_and_made_on_another_thread():
    made_on = set()

    def items():
        for i in range(50):
            made_on.add(threading.current_thread().name)
            yield i

    assert list(_ahead(items(), 4, lambda: False)) == list(range(50))
    assert made_on == {"fasttts-frontend-ahead"}


def test_producer_works_ahead_while_the_consumer_is_busy():
    produced = []

    def items():
        for i in range(6):
            produced.append(i)
            yield i

    it = _ahead(items(), 3, lambda: False)
    assert next(it) == 0
    time.sleep(0.3)  # the consumer "waits for the GPU"
    assert len(produced) >= 4  # one handed over, up to three queued, the next one made
    assert list(it) == [1, 2, 3, 4, 5]


def test_errors_reach_the_consumer_after_the_items_before_them():
    def items():
        yield 1
        raise ValueError("bad text")

    it = _ahead(items(), 2, lambda: False)
    assert next(it) == 1
    with pytest.raises(ValueError, match="bad text"):
        next(it)


def test_cancel_and_early_close_end_the_producer():
    state = {"cancel": False, "made": 0}

    def endless():
        while True:
            state["made"] += 1
            yield state["made"]

    it = _ahead(endless(), 2, lambda: state["cancel"])
    assert next(it) == 1
    state["cancel"] = True
    rest = list(it)  # ends: the producer stops after the item it was making
    assert len(rest) <= 3
    it2 = _ahead(endless(), 2, lambda: False)
    next(it2)
    it2.close()  # the consumer stops reading: the producer must not hang on a full queue
    time.sleep(0.3)
    alive = [t for t in threading.enumerate() if t.name == "fasttts-frontend-ahead"]
    assert not alive
