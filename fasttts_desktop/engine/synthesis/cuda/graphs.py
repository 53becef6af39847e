"""Batch-1 CUDA graphs of the two stages, one per token bucket and one per frame bucket.

A sentence pads up to the next bucket, so a new text length never compiles or captures anything new
once its bucket exists; the first use of a bucket costs a warm-up run and a capture (tens of ms).
The text graphs share one memory pool and the acoustic graphs another. Within a pool that is safe because
graphs of one stage replay one after another and every value that crosses stages goes through the static
buffers below (allocated outside the pools): the text graphs write `dur`, `d`, `t_en`; these and the style
are copied to the acoustic graphs' own inputs (`a_*`) just before an acoustic graph replays. So while one
chunk's acoustic graph runs, the next chunk's text graph can run beside it on a second stream
(`run_stream`): the two stages touch no memory in common.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator

import torch

from fasttts_desktop.engine.types import SAMPLES_PER_FRAME

log = logging.getLogger(__name__)

TOKEN_BUCKETS = (16, 24, 32, 48, 64, 96, 128, 192, 256, 320, 384, 448, 512)
# ~1.25x apart: at most ~20% padded frames, ~20 graphs up to 20 s of audio in one chunk
# ~1.25x apart up to 1024 frames, ~1.125x above (long chunks: padded frames cost the F0/N LSTM real steps)
FRAME_BUCKETS = (
    32,
    48,
    64,
    80,
    96,
    112,
    128,
    160,
    192,
    224,
    256,
    320,
    384,
    448,
    512,
    640,
    768,
    896,
    1024,
    1152,
    1280,
    1408,
    1536,
    1792,
    2048,
    2304,
    2560,
    3072,
    3584,
    4096,
    5120,
    6144,
    8192,
)
# prepare() captures these ahead of the first sentence: the text graphs of Harvard-like sentences (30-60
# tokens; after the first capture a text graph takes ~20 ms) and one acoustic graph, whose capture also pays
# the first-use costs (cuDNN, the decoder's kernels). Each further acoustic graph costs ~0.35 s (H100), so
# the other common ones (80-200 frames) are captured in the background once the first sound is out
# (backend.py); any other bucket on first use.
PRECAPTURE_TOKENS = (48, 64)
PRECAPTURE_FRAMES = (128,)
LATER_FRAMES = (112, 96, 160, 192)
# A stream's chunks after the first are longer (up to ~480 phonemes, ~1,100 frames at speed 1). Their buckets
# are captured in the background too once the compiled decoder is in (around the decoder that will run them):
# on first use, a capture (tens of ms with the compiled decoder) held up whatever came next, a skip included.
STREAM_FRAMES = (224, 256, 320, 384, 448, 512, 640, 768, 896, 1024, 1152, 1280, 1408, 1536)


def bucket(n: int, buckets: tuple[int, ...]) -> int | None:
    for b in buckets:
        if n <= b:
            return b
    return None


class GraphRunner:
    def __init__(self, model, decoder: Callable, device: torch.device):
        self.model, self.decoder, self.device = model, decoder, device
        t = TOKEN_BUCKETS[-1]
        self.ids = torch.zeros(1, t, dtype=torch.long, device=device)
        self.lengths = torch.ones(1, dtype=torch.long, device=device)
        self.style = torch.zeros(1, 256, device=device)
        self.speed = torch.ones(1, device=device)
        self.dur = torch.zeros(1, t, dtype=torch.long, device=device)
        self.d = torch.zeros(1, t, 640, device=device)
        self.t_en = torch.zeros(1, 512, t, device=device)
        # the acoustic graphs' inputs: the text graph's outputs and the style, copied before each replay
        self.a_dur, self.a_d, self.a_t_en = (torch.zeros_like(x) for x in (self.dur, self.d, self.t_en))
        self.a_style = torch.zeros_like(self.style)
        self.ids_host = torch.zeros(t, dtype=torch.long).pin_memory()
        self.dur_host = torch.zeros(t, dtype=torch.long).pin_memory()
        self.audio_host = torch.zeros(SAMPLES_PER_FRAME * FRAME_BUCKETS[-1]).pin_memory()
        self.pool = torch.cuda.graph_pool_handle()  # the acoustic graphs'
        self.text_pool = torch.cuda.graph_pool_handle()
        self.stream = torch.cuda.Stream(device)  # captures
        self.side = torch.cuda.Stream(device)  # the next chunk's text graph while an acoustic graph runs
        self.inputs_copied = torch.cuda.Event()
        self.text_runs = 0  # text graphs enqueued so far: a stream checks its pending result is still there
        self.text_graphs: dict[int, torch.cuda.CUDAGraph] = {}
        self.acoustic_graphs: dict[int, tuple[torch.cuda.CUDAGraph, torch.Tensor]] = {}
        self.capture_error: str | None = None

    # -- capture

    def _capture(self, fn, pool):
        self.stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(self.stream):
            fn()  # cuBLAS/cuDNN handles and workspaces, first-use kernel loads: all outside the capture
        torch.cuda.current_stream(self.device).wait_stream(self.stream)
        graph = torch.cuda.CUDAGraph()
        # thread_local: a compile running on another thread must not invalidate this capture
        with torch.cuda.graph(graph, pool=pool, stream=self.stream, capture_error_mode="thread_local"):
            out = fn()
        return graph, out

    def _text_fn(self, tokens: int):
        def run():
            dur, d, t_en = self.model.text_stage(self.ids[:, :tokens], self.lengths, self.style, self.speed)
            self.dur.zero_()
            self.dur[:, :tokens].copy_(dur)
            self.d[:, :tokens].copy_(d)
            self.t_en[:, :, :tokens].copy_(t_en)

        return run

    def _acoustic_fn(self, frames: int):
        def run():
            audio, _ = self.model.acoustic_stage(
                self.a_dur, self.a_d, self.a_t_en, self.a_style, frames, self.decoder
            )
            return audio

        return run

    def text_graph(self, tokens: int) -> torch.cuda.CUDAGraph:
        if tokens not in self.text_graphs:
            self.text_graphs[tokens], _ = self._capture(self._text_fn(tokens), self.text_pool)
        return self.text_graphs[tokens]

    def acoustic_graph(self, frames: int):
        if frames not in self.acoustic_graphs and self.capture_error is None:
            try:
                self.acoustic_graphs[frames] = self._capture(self._acoustic_fn(frames), self.pool)
            except RuntimeError as exc:  # e.g. a compiled decoder that cannot be captured: run it directly
                self.capture_error = repr(exc)
                log.warning("acoustic stage runs without CUDA graphs: %s", exc)
        return self.acoustic_graphs.get(frames)

    def set_decoder(self, decoder: Callable) -> None:
        """Run `decoder` from now on: the acoustic graphs captured so far are captured again around it."""
        self.decoder = decoder
        buckets = sorted(self.acoustic_graphs)
        self.acoustic_graphs.clear()
        self.capture_error = None
        for frames in buckets:
            self._placeholder_durations(frames)
            self.acoustic_graph(frames)
        torch.cuda.synchronize(self.device)

    def _placeholder_durations(self, frames: int) -> None:
        self.a_dur.zero_()
        self.a_dur[0, : frames // 4].fill_(3)  # 3/4 of the bucket: realistic padding

    def precapture(self, progress=None) -> None:
        """Capture the common buckets now, on placeholder input, so the first sentences pay nothing."""
        total = len(PRECAPTURE_TOKENS) + len(PRECAPTURE_FRAMES)
        done = 0
        for tokens in PRECAPTURE_TOKENS:
            self.ids.zero_()
            self.lengths.fill_(tokens)
            self.text_graph(tokens)
            done += 1
            if progress:
                progress("Preparing the GPU graphs", done / total)
        for frames in PRECAPTURE_FRAMES:
            self._placeholder_durations(frames)
            self.acoustic_graph(frames)
            done += 1
            if progress:
                progress("Preparing the GPU graphs", done / total)
        torch.cuda.synchronize(self.device)

    def capture_acoustic(self, frames: int) -> None:
        """Capture one more acoustic graph now, on placeholder durations (its inputs are copied afresh before
        every replay, so a stream in progress is not disturbed)."""
        if frames not in self.acoustic_graphs:
            self._placeholder_durations(frames)
            self.acoustic_graph(frames)
            torch.cuda.synchronize(self.device)

    # -- one sentence, or a stream of them

    def _text(self, input_ids: list[int], ref_s: torch.Tensor, speed: float) -> int:
        """Enqueue the text graph of one chunk and its durations' copy to the host (current stream)."""
        n = len(input_ids)
        tokens = bucket(n, TOKEN_BUCKETS)
        if tokens is None:
            raise ValueError(f"{n} tokens: more than the model's {TOKEN_BUCKETS[-1]} positions")
        graph = self.text_graph(tokens)
        self.ids_host[:n] = torch.as_tensor(input_ids, dtype=torch.long)
        self.ids_host[n:tokens] = 0
        self.ids[0, :tokens].copy_(self.ids_host[:tokens], non_blocking=True)
        self.lengths.fill_(n)
        self.style.copy_(ref_s.reshape(1, 256), non_blocking=True)
        self.speed.fill_(float(speed))
        graph.replay()
        self.dur_host[:n].copy_(self.dur[0, :n], non_blocking=True)
        self.text_runs += 1
        return n

    def _acoustic(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """After the text graph of an n-token chunk has finished (host-synced): its acoustic graph,
        enqueued on the current stream -> (audio [1, >= samples] on the GPU, durations: a host copy)."""
        durations = self.dur_host[:n].clone()
        n_frames = int(durations.sum())
        for dst, src in ((self.a_dur, self.dur), (self.a_d, self.d), (self.a_t_en, self.t_en)):
            dst.copy_(src)
        self.a_style.copy_(self.style)
        self.inputs_copied.record()  # the text buffers are free for the next chunk from here
        frames = bucket(n_frames, FRAME_BUCKETS)
        captured = self.acoustic_graph(frames) if frames is not None else None
        if captured is None:  # longer than any graph (or capture failed): run the stage directly
            return self._acoustic_fn(n_frames)(), durations
        graph, audio = captured
        graph.replay()
        return audio, durations

    def _to_host(self, audio: torch.Tensor, durations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Wait for the current stream; the chunk's audio (a host view valid until the next call)."""
        samples = SAMPLES_PER_FRAME * int(durations.sum())
        if samples > self.audio_host.numel():
            return audio[0, :samples].cpu(), durations
        self.audio_host[:samples].copy_(audio[0, :samples], non_blocking=True)
        torch.cuda.current_stream(self.device).synchronize()
        return self.audio_host[:samples], durations

    def run(
        self, input_ids: list[int], ref_s: torch.Tensor, speed: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (audio float32 CPU view, durations int64 CPU tensor); the audio is valid until the next call."""
        main = torch.cuda.current_stream(self.device)
        main.wait_stream(self.side)  # a stream left before its end may still run a text graph there
        n = self._text(input_ids, ref_s, speed)
        main.synchronize()  # the one sync: the frame count picks the graph
        return self._to_host(*self._acoustic(n))

    def run_stream(
        self, chunks: Iterable[tuple[list[int], torch.Tensor, float]]
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Like `run` for each chunk in turn, but from the second chunk on the next chunk is taken from
        `chunks` (the front end's work, on the host) and its text graph run on the side stream while this
        chunk's acoustic graph runs. The first chunk comes out as soon as it is made (nothing waits for the
        second). Each yielded audio view is valid until the generator is resumed."""
        main = torch.cuda.current_stream(self.device)
        main.wait_stream(self.side)
        it = iter(chunks)
        item = next(it, None)
        if item is None:
            return
        n = self._text(*item)
        main.synchronize()
        first = True
        while True:
            audio, durations = self._acoustic(n)
            nxt = None if first else next(it, None)
            if nxt is not None:
                self.side.wait_event(self.inputs_copied)  # not for the acoustic graph itself
                with torch.cuda.stream(self.side):
                    n_next = self._text(*nxt)
            runs = self.text_runs
            yield self._to_host(audio, durations)
            if first:
                first = False
                nxt = next(it, None)
                if nxt is None:
                    return
                n_next = self._text(*nxt)
            elif nxt is None:
                return
            elif self.text_runs != runs:  # another caller (an export's single chunk) ran a text graph
                main.wait_stream(self.side)
                n_next = self._text(*nxt)
            self.side.synchronize()
            main.synchronize()
            n = n_next
