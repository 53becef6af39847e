"""Small iterator and signal helpers for Engine.stream: work ahead on a thread, groups for batched calls,
click-free chunk edges."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import numpy as np

from fasttts_desktop.engine.types import SAMPLE_RATE

# A few milliseconds of fade at each chunk edge: chunks are made separately, so without it a join can
# land mid-waveform and click.
_EDGE_FADE = int(0.004 * SAMPLE_RATE)

T = TypeVar("T")


def ahead(items: Iterator[T], depth: int, cancelled: Callable[[], bool]) -> Iterator[T]:
    """`items` produced on a thread, up to `depth` ahead of the consumer, in order.

    For exports: G2P of the next chunks (Python, ~2,000x realtime on one core) runs while the backend waits
    for the GPU (which releases the GIL), so neither waits for the other. An exception in the producer is
    raised here; stopping early (cancel, a closed generator) ends the producer at its next item.
    """
    import queue

    # ("item", T), ("error", BaseException) or ("end", None)
    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.1)
            except queue.Full:
                continue
            else:
                return True
        return False

    def produce() -> None:
        outcome: tuple[str, BaseException | None] = ("end", None)
        try:
            for item in items:
                if not put(("item", item)):
                    return
                if cancelled():
                    break
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            outcome = ("error", exc)
        put(outcome)

    thread = threading.Thread(target=produce, name="fasttts-frontend-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()


def in_groups(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of `size` items (the last may be shorter), taking each item only when needed."""
    group: list[T] = []
    for item in items:
        group.append(item)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def fade_edges(audio: np.ndarray) -> np.ndarray:
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    n = min(_EDGE_FADE, len(audio) // 2)
    if n:
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n, dtype=np.float32))).astype(np.float32)
        audio[:n] *= ramp
        audio[-n:] *= ramp[::-1]
    return audio
