"""Engine.stream over a backend with `infer_stream` (the GPU's: the next chunk is taken before this one's
result is out): the same chunks and durations as one call per chunk; a backend failure mid-stream loses no
chunk (the rest are made one at a time). The real CPU model under a wrapper that keeps the GPU's order."""

from __future__ import annotations

import numpy as np
import pytest

TEXT = "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. It is easy."


class StreamingBackend:
    """The CPU backend plus an infer_stream in CompiledBackend's order; raises on request `fail_at`."""

    def __init__(self, inner, fail_at: int | None = None):
        self.inner = inner
        self.fail_at = fail_at
        self.streamed = 0  # results handed out by infer_stream
        self.pulled = 0  # requests taken from the engine

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def infer_stream(self, requests):
        it = iter(requests)
        current = next(it, None)
        self.pulled += current is not None
        first = True
        while current is not None:
            if self.pulled - 1 == self.fail_at:
                raise RuntimeError("a chunk the backend cannot make")
            result = self.inner.infer(current)
            following = None
            if not first:  # the GPU takes the next request while this chunk's second stage runs
                following = next(it, None)
                self.pulled += following is not None
            self.streamed += 1
            yield result
            if first:
                following = next(it, None)
                self.pulled += following is not None
                first = False
            current = following


def chunks_of(engine, backend, monkeypatch):
    monkeypatch.setattr(engine, "backend", backend)
    return list(engine.stream(TEXT, pack=False))


@pytest.mark.slow
def test_streamed_backend_gives_the_same_chunks(engine, monkeypatch):
    plain = list(engine.stream(TEXT, pack=False))
    backend = StreamingBackend(engine.backend)
    streamed = chunks_of(engine, backend, monkeypatch)
    assert len(plain) >= 3
    assert backend.streamed == len(plain)  # every chunk came through infer_stream
    assert [c.chunk.text for c in streamed] == [c.chunk.text for c in plain]
    for a, b in zip(streamed, plain, strict=True):
        assert np.array_equal(a.durations, b.durations)
        assert [(w.text, w.start_s) for w in a.words] == [(w.text, w.start_s) for w in b.words]
        assert not a.failed
        assert len(a.audio) == len(b.audio)


@pytest.mark.slow
def test_a_backend_failure_mid_stream_loses_no_chunk(engine, monkeypatch):
    plain = list(engine.stream(TEXT, pack=False))
    backend = StreamingBackend(engine.backend, fail_at=1)
    streamed = chunks_of(engine, backend, monkeypatch)
    assert backend.streamed == 1  # the first came through the stream, then it failed
    assert [c.chunk.text for c in streamed] == [c.chunk.text for c in plain]
    assert all(len(c.audio) for c in streamed)
    assert [c.index for c in streamed] == list(range(len(plain)))
