"""CUDA graphs of whole batched passes (export): a text pass per token bucket, an acoustic pass per
(frame bucket, token bucket).

Eager batched passes leave the GPU idle ~30% of the time while the host launches a few thousand small
kernels per pass (measured on the H100: 0.60 s of wall for 0.43 s of kernels). A replayed graph launches
them all at once. A pass has a fixed shape: `rows` sentences (64 for text; `frame_budget // frames` for
acoustic), padded with copies of its first row, whose outputs are dropped.

A shape is captured the second time it is asked for (the first runs eagerly), so a one-off export of
shapes that never repeat pays no capture; a long export, or the next one, replays. All graphs share one
memory pool: each graph's outputs are copied out (stream-ordered) before the next graph replays.
"""

from __future__ import annotations

import logging

import torch

from fasttts_desktop.engine.cuda.graphs import FRAME_BUCKETS, TOKEN_BUCKETS, bucket

log = logging.getLogger(__name__)


class BatchGraphs:
    def __init__(self, model, decoder, device: torch.device, text_rows: int, frame_budget: int):
        self.model, self.decoder, self.device = model, decoder, device
        self.text_rows, self.frame_budget = text_rows, frame_budget
        self.pool = torch.cuda.graph_pool_handle()
        self.stream = torch.cuda.Stream(device)
        self.text: dict[int, tuple] = {}
        self.acoustic: dict[tuple[int, int], tuple] = {}
        self.seen: set = set()
        self.failed: str | None = None  # a capture error: everything runs eagerly from then on

    def acoustic_rows(self, frames: int) -> int:
        return max(1, self.frame_budget // frames)

    def _capture(self, fn):
        self.stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(self.stream):
            fn()  # warm-up outside the capture: workspaces, first-use kernel loads, compiled guards
        torch.cuda.current_stream(self.device).wait_stream(self.stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self.pool, stream=self.stream, capture_error_mode="thread_local"):
            out = fn()
        return graph, out

    def _want(self, key) -> bool:
        """Capture on the second request for a shape."""
        if self.failed is not None:
            return False
        if key in self.seen:
            return True
        self.seen.add(key)
        return False

    # -- text pass

    def text_pass(self, ids: torch.Tensor, lengths: list[int], style: torch.Tensor, speed: list[float]):
        """ids [n, t] (host), style [n, 256] (device) -> (dur, d, t_en) for the n rows, or None (not captured).

        The returned tensors live in the graph's pool: copy them out before the next pass."""
        n, t = ids.shape
        tokens = bucket(t, TOKEN_BUCKETS)
        if n > self.text_rows or tokens is None:
            return None
        entry = self.text.get(tokens)
        if entry is None:
            if not self._want(("text", tokens)):
                return None
            entry = self._new_text(tokens)
            if entry is None:
                return None
        graph, inputs, outputs = entry
        s_ids, s_len, s_style, s_speed = inputs
        rows = self.text_rows
        fill = [0] * (rows - n)  # pad rows: copies of row 0
        host_ids = torch.zeros(rows, tokens, dtype=torch.long)
        host_ids[:n, :t] = ids
        host_ids[n:, :t] = ids[0]
        s_ids.copy_(host_ids.pin_memory(), non_blocking=True)
        s_len.copy_(torch.tensor(lengths + [lengths[0]] * len(fill)).pin_memory(), non_blocking=True)
        s_speed.copy_(torch.tensor(speed + [speed[0]] * len(fill)).pin_memory(), non_blocking=True)
        s_style[:n].copy_(style)
        s_style[n:].copy_(style[:1].expand(rows - n, -1))
        graph.replay()
        dur, d, t_en = outputs
        return dur[:n], d[:n], t_en[:n]

    def _new_text(self, tokens: int):
        rows, dev = self.text_rows, self.device
        s_ids = torch.zeros(rows, tokens, dtype=torch.long, device=dev)
        s_len = torch.full((rows,), tokens, dtype=torch.long, device=dev)
        s_style = torch.zeros(rows, 256, device=dev)
        s_speed = torch.ones(rows, device=dev)
        try:
            graph, out = self._capture(lambda: self.model.text_stage(s_ids, s_len, s_style, s_speed))
        except RuntimeError as exc:
            self._fail(exc)
            return None
        self.text[tokens] = (graph, (s_ids, s_len, s_style, s_speed), out)
        return self.text[tokens]

    # -- acoustic pass

    def acoustic_pass(self, dur, d, t_en, style, longest: int):
        """Rows of one planned pass (device tensors, [r, T...]) -> audio [r, 600 * F] in the pool, or None."""
        r, t = dur.shape
        frames, tokens = bucket(longest, FRAME_BUCKETS), bucket(t, TOKEN_BUCKETS)
        if frames is None or tokens is None or r > self.acoustic_rows(frames):
            return None
        key = (frames, tokens)
        entry = self.acoustic.get(key)
        if entry is None:
            if not self._want(("acoustic", key)):
                return None
            entry = self._new_acoustic(frames, tokens)
            if entry is None:
                return None
        graph, (s_dur, s_d, s_t_en, s_style), audio = entry
        rows = s_dur.shape[0]
        pad = torch.zeros(rows, dtype=torch.long, device=dur.device)  # pad rows: copies of row 0
        pad[:r] = torch.arange(r, device=dur.device)
        s_dur.zero_()
        s_dur[:, :t].copy_(dur.index_select(0, pad))
        s_d.zero_()
        s_d[:, :t].copy_(d.index_select(0, pad))
        s_t_en.zero_()
        s_t_en[:, :, :t].copy_(t_en.index_select(0, pad))
        s_style.copy_(style.index_select(0, pad))
        graph.replay()
        return audio[:r]

    def _new_acoustic(self, frames: int, tokens: int):
        rows, dev = self.acoustic_rows(frames), self.device
        s_dur = torch.zeros(rows, tokens, dtype=torch.long, device=dev)
        s_dur[:, : max(1, min(tokens, frames // 4))] = 3  # placeholder durations for warm-up and capture
        s_d = torch.zeros(rows, tokens, 640, device=dev)
        s_t_en = torch.zeros(rows, 512, tokens, device=dev)
        s_style = torch.zeros(rows, 256, device=dev)

        def run():
            audio, _ = self.model.acoustic_stage(s_dur, s_d, s_t_en, s_style, frames, self.decoder)
            return audio

        try:
            graph, audio = self._capture(run)
        except RuntimeError as exc:
            self._fail(exc)
            return None
        self.acoustic[(frames, tokens)] = (graph, (s_dur, s_d, s_t_en, s_style), audio)
        return self.acoustic[(frames, tokens)]

    def _fail(self, exc: Exception) -> None:
        self.failed = repr(exc)
        log.warning("batched passes run without CUDA graphs: %s", exc)
        self.text.clear()
        self.acoustic.clear()
