"""Many sentences in few passes (export): the text stage in groups, the acoustic stage in frame budgets.

The host reads the GPU twice per call (the durations, then all audio at the end), so it queues the next
pass while the GPU runs the current one; a sync per pass left the GPU idle ~60% of the time
(docs/benchmarks/NOTES.md). Batch-1 sentences (playback) go through the CUDA graphs in graphs.py instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import cast

import numpy as np
import torch

from fasttts_desktop.engine.synthesis.protocol import Request, Result
from fasttts_desktop.engine.types import SAMPLES_PER_FRAME


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Host -> GPU without making the host wait for the GPU's queue (pageable copies may); a CPU device (the
    experiments' smoke runs) takes the tensor as it is."""
    if device.type != "cuda":
        return t.to(device)
    return t.pin_memory().to(device, non_blocking=True)


@contextmanager
def global_flag(owner: object, name: str, value: bool) -> Iterator[None]:
    """torch's process-wide backend flag `owner.name` set to `value` while kernels are queued, then put
    back (the flags are read when a kernel is launched, so the queued work keeps the setting)."""
    old = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, old)


def pack(order: list[int], sizes: list[int], budget: int) -> list[list[int]]:
    """Split `order` (ascending size) into consecutive groups that pad to at most `budget`: a group costs
    its count times its last (largest) size. An item larger than the budget gets a group of its own."""
    groups: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current and (len(current) + 1) * sizes[i] > budget:
            groups.append(current)
            current = []
        current.append(i)
    if current:
        groups.append(current)
    return groups


def token_parts(order: list[int], lengths: list[int], budget: int) -> list[list[int]]:
    """Parts of a call whose text-stage outputs wait on the GPU together (~4.6 kB per padded token)."""
    return pack(order, lengths, budget)


def frame_passes(frames: list[int], budget: int) -> list[list[int]]:
    """Rows by frame count, as many per acoustic pass as `budget` padded frames allow."""
    return pack(sorted(range(len(frames)), key=lambda i: frames[i]), frames, budget)


class BatchedPasses:
    """`run(requests, decoder)` -> results in request order. Options: see backend.Options."""

    def __init__(self, model, device: torch.device, options):
        self.model, self.device, self.options = model, device, options

    def run(self, requests: list[Request], decoder: Callable) -> list[Result]:
        results: list[Result | None] = [None] * len(requests)
        order = sorted(range(len(requests)), key=lambda i: len(requests[i].input_ids))
        lengths = [len(r.input_ids) for r in requests]
        with global_flag(torch.backends.cudnn, "benchmark", self.options.cudnn_benchmark):
            for part in token_parts(order, lengths, self.options.batch_tokens):
                self._run_part([requests[i] for i in part], part, results, decoder)
        return cast("list[Result]", results)  # every slot filled by _run_part

    def _text_pass(self, reqs: list[Request], style: torch.Tensor, rows: list[int]):
        dev = self.device
        t = max(rows)
        ids = torch.zeros(len(reqs), t, dtype=torch.long)
        for row, r in enumerate(reqs):
            ids[row, : rows[row]] = torch.as_tensor(r.input_ids)
        host_lengths = torch.tensor(rows)
        speed = torch.tensor([float(r.speed) for r in reqs])
        args = (to_device(ids, dev), to_device(host_lengths, dev), style, to_device(speed, dev))
        with global_flag(torch.backends.cuda.matmul, "allow_tf32", self.options.text_tf32):
            return self.model.text_stage(*args, host_lengths=host_lengths)

    def _run_part(self, reqs: list[Request], where: list[int], results: list, decoder: Callable) -> None:
        dev, opts = self.device, self.options
        n = [len(r.input_ids) for r in reqs]
        count, longest_text = len(reqs), max(n)
        dur = torch.zeros(count, longest_text, dtype=torch.long, device=dev)
        d = torch.zeros(count, longest_text, 640, device=dev)
        t_en = torch.zeros(count, 512, longest_text, device=dev)
        style = to_device(torch.cat([r.ref_s.reshape(1, 256) for r in reqs]), dev)
        for lo in range(0, count, opts.batch_sentences):
            hi = min(count, lo + opts.batch_sentences)
            t = max(n[lo:hi])
            g_dur, g_d, g_t_en = self._text_pass(reqs[lo:hi], style[lo:hi], n[lo:hi])
            dur[lo:hi, :t] = g_dur
            d[lo:hi, :t] = g_d
            t_en[lo:hi, :, :t] = g_t_en
        dur_host = dur.cpu()  # the one mid-call sync: the frame counts decide the acoustic passes
        frames = dur_host.sum(1).tolist()
        pending = []
        for batch in frame_passes(frames, opts.batch_frames):
            idx = to_device(torch.tensor(batch), dev)
            t = max(n[i] for i in batch)
            audio, _ = self.model.acoustic_stage(
                dur.index_select(0, idx)[:, :t],
                d.index_select(0, idx)[:, :t],
                t_en.index_select(0, idx)[:, :, :t],
                style.index_select(0, idx),
                max(frames[i] for i in batch),
                decoder,
                host_frames=torch.tensor([frames[i] for i in batch]),
            )
            pending.append((batch, audio.to("cpu", non_blocking=True)))  # pinned, asynchronous
        if dev.type == "cuda":
            torch.cuda.current_stream(dev).synchronize()
        for batch, audio in pending:
            for k, row in enumerate(batch):
                results[where[row]] = Result(
                    audio=audio[k, : SAMPLES_PER_FRAME * frames[row]].numpy().copy(),
                    durations=dur_host[row, : n[row]].numpy().astype(np.int64),
                )
