"""One engine for every request: speech is made on one thread, one request at a time, in arrival order.

Admission is bounded: one request speaking plus `queue_size` waiting; the next gets a 429 with a
Retry-After (the expected wait, from how long requests have been taking) instead of a growing backlog.
A request's audio is handed to the event loop chunk by chunk as it is made, at most AHEAD chunks ahead of
what the client has read (a slow reader holds the engine back rather than filling memory); a client that
goes away cancels its request (the engine stops between chunks, or inside one where the backend can).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

DONE = object()
AHEAD = 8  # items made but not yet read by the client


class Busy(Exception):
    def __init__(self, retry_after_s: int):
        super().__init__(f"The speech engine is busy; try again in {retry_after_s} s.")
        self.retry_after_s = retry_after_s


@dataclass
class Job:
    """Made on the engine's thread, read on the event loop: `next()` gives each item (bytes, or a dict for
    captioned output), then DONE; an exception raised making it comes out of `next()`."""

    loop: asyncio.AbstractEventLoop
    items: asyncio.Queue = field(default_factory=asyncio.Queue)
    cancel: threading.Event = field(default_factory=threading.Event)
    room: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(AHEAD))

    def put(self, item: object) -> None:
        """Waits while AHEAD items are unread; gives up waiting once the request is cancelled."""
        while not self.room.acquire(timeout=0.1):
            if self.cancel.is_set():
                return
        self.loop.call_soon_threadsafe(self.items.put_nowait, item)

    async def next(self) -> object:
        item = await self.items.get()
        self.room.release()
        if isinstance(item, BaseException):
            raise item
        return item


class Jobs:
    def __init__(self, queue_size: int):
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="speech")
        self._limit = 1 + max(0, queue_size)
        self._admitted = 0
        self._lock = threading.Lock()
        self._typical_s = 2.0  # running mean of a request's time on the engine

    def start(self, work: Callable[[Job], Iterator[object]]) -> Job:
        """Queue `work` (a generator of items, run on the engine's thread); Busy when the queue is full."""
        with self._lock:
            if self._admitted >= self._limit:
                raise Busy(max(1, round(self._typical_s * self._admitted)))
            self._admitted += 1
        job = Job(asyncio.get_running_loop())
        self._pool.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Callable[[Job], Iterator[object]]) -> None:
        t0 = time.perf_counter()
        try:
            if not job.cancel.is_set():
                for item in work(job):
                    if job.cancel.is_set():
                        break
                    job.put(item)
            job.put(DONE)
        except Exception as exc:  # noqa: BLE001 - handed to the request, which answers or ends the stream
            job.put(exc)
        finally:
            with self._lock:
                self._admitted -= 1
                self._typical_s = 0.7 * self._typical_s + 0.3 * (time.perf_counter() - t0)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
