"""Timing and profiling on the GPU: sentence latency, streaming and batched throughput, memory, kernels."""

from __future__ import annotations

import itertools
import time
from typing import Any

import numpy as np

SAMPLE_RATE = 24_000


def say(*parts) -> None:
    print(*parts, flush=True)


def sync() -> None:
    import torch

    torch.cuda.synchronize()


def gpu_ms(fn, reps: int = 15) -> float:
    """Median GPU time of `fn()` (a graph replay, a kernel) in ms, from CUDA events around each call."""
    import torch

    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return float(np.median(times))


def seconds(results) -> float:
    return sum(len(r.audio) for r in results) / SAMPLE_RATE


def pct(values, q) -> float:
    return round(float(np.percentile(np.asarray(values) * 1000, q)), 2)


def one_by_one(backend, requests, seed: int | None = 0):
    """Each request alone (host-timed around a sync): latencies in s and the results."""
    import torch

    lat, outs = [], []
    for i, r in enumerate(requests):
        if seed is not None:
            torch.manual_seed(seed + i)
        sync()
        t0 = time.perf_counter()
        res = backend.infer(r)
        sync()
        lat.append(time.perf_counter() - t0)
        outs.append(res)
    return lat, outs


def streamed(backend, requests, seed: int = 0, runs: int = 3):
    """The chunks through `infer_stream` (the engine's reading path), timed whole: the best of `runs` ->
    (seconds between consecutive results, the results)."""
    import torch

    best: list[float] | None = None
    outs: list = []
    for _ in range(runs):
        torch.manual_seed(seed)
        sync()
        marks, outs = [time.perf_counter()], []
        for res in backend.infer_stream(requests):
            outs.append(res)
            marks.append(time.perf_counter())
        lat = [b - a for a, b in itertools.pairwise(marks)]
        if best is None or sum(lat) < sum(best):
            best = lat
    return best or [], outs


def time_batched(backend, batch, runs: int = 3):
    """Wall times of `runs` infer_batch calls after a warm-up on a quarter of the batch, and the last
    output."""
    backend.infer_batch(batch[: len(batch) // 4])
    times = []
    for _ in range(runs):
        sync()
        t0 = time.perf_counter()
        out = backend.infer_batch(batch)
        sync()
        times.append(time.perf_counter() - t0)
    return times, out


def peak_mb() -> dict:
    import torch

    free, total = torch.cuda.mem_get_info()
    return {
        "allocated": round(torch.cuda.max_memory_allocated() / 2**20, 1),
        "reserved": round(torch.cuda.max_memory_reserved() / 2**20, 1),
        "device_used_now": round((total - free) / 2**20, 1),
    }


def now_mb() -> dict:
    import torch

    return {
        "allocated": round(torch.cuda.memory_allocated() / 2**20, 1),
        "reserved": round(torch.cuda.memory_reserved() / 2**20, 1),
    }


def measure(name, backend, work, batched: bool = True, seed: int = 0) -> tuple[dict, dict]:
    """Sentence latency, streaming, interactive peak memory and (if `batched`) batched throughput."""
    import torch

    for r in work.harvard[:3] + work.long:  # warm-up: cuDNN/cuBLAS handles, first use of each graph bucket
        backend.infer(r)
    torch.cuda.reset_peak_memory_stats()  # interactive peak: what stays resident plus the work itself
    lat, h_out = one_by_one(backend, work.harvard, seed)
    say(
        f"{name:9s} sentence latency p50 {pct(lat, 50):8.2f} ms  p95 {pct(lat, 95):8.2f} ms  "
        f"({len(lat)} Harvard sentences, {seconds(h_out):.1f} s of audio)"
    )
    s_lat, l_out = one_by_one(backend, work.long, seed + 1000)
    l_seq = l_out
    stream = sequential = seconds(l_out) / sum(s_lat)
    how = "one chunk at a time"
    stream_error = None
    if hasattr(backend, "infer_stream"):  # what the engine runs when it reads aloud
        try:
            s_lat, l_out = streamed(backend, work.long, seed + 1000)
            stream, how = seconds(l_out) / sum(s_lat), f"overlapped; one at a time {sequential:.1f}x"
        except Exception as exc:  # noqa: BLE001 - the rest of the bench still runs; the JSON says why
            stream_error = repr(exc)
            say(f"{name:9s} infer_stream failed: {stream_error}")
    say(
        f"{name:9s} stream (batch 1, long text) {stream:8.1f} x realtime  "
        f"({len(work.long)} chunks, {seconds(l_out):.1f} s of audio in {sum(s_lat):.3f} s; {how})"
    )
    peak = peak_mb()
    say(
        f"{name:9s} peak GPU memory (interactive) {peak['allocated']:.0f} MB allocated, "
        f"{peak['reserved']:.0f} MB reserved, device in use {peak['device_used_now']:.0f} MB"
    )
    res = {
        "sentence_latency_p50_ms": pct(lat, 50),
        "sentence_latency_p95_ms": pct(lat, 95),
        "stream_xrt": round(stream, 1),
        "stream_chunk_ms": [round(x * 1000, 2) for x in s_lat],
        "stream_sequential_xrt": round(sequential, 1),
        "stream_error": stream_error,
        "batched_xrt": None,
        "peak_mem_mb": peak["allocated"],
        "peak_mem_detail_mb": peak,
        "sentence_latency_ms": [round(x * 1000, 2) for x in lat],
        "audio_s": {"harvard": round(seconds(h_out), 2), "long": round(seconds(l_out), 2)},
    }
    outs = {"harvard": h_out, "long": l_out, "long_sequential": l_seq}
    if batched and hasattr(backend, "options"):
        times, b_out = time_batched(backend, work.batch)
        best = min(times)
        res["batched_xrt"] = round(seconds(b_out) / best, 1)
        res["batched"] = {
            "sentences": len(work.batch),
            "audio_s": round(seconds(b_out), 1),
            "wall_s": [round(t, 3) for t in times],
        }
        res["peak_mem_batched_mb"] = peak_mb()
        res["after_export_mb"] = released_after_export()
        say(
            f"{name:9s} batched {res['batched_xrt']:8.1f} x realtime  ({len(work.batch)} sentences, "
            f"{seconds(b_out):.0f} s of audio in {best:.3f} s); reserved after the export "
            f"{res['after_export_mb']['before']['reserved']:.0f} MB -> "
            f"{res['after_export_mb']['after']['reserved']:.0f} MB once idle"
        )
        outs["batch"] = b_out
    return res, outs


def released_after_export() -> dict:
    """The allocator's cache right after a batched call and once the backend has been idle a while."""
    from fasttts_desktop.engine.synthesis.cuda.backend import RELEASE_AFTER_S

    before = now_mb()
    time.sleep(RELEASE_AFTER_S + 1.0)
    return {"before": before, "after": now_mb()}


def breakdown(fast, harvard, req=None) -> dict:
    """Median GPU time of each stage's graph replay for one request (default: a mid-length Harvard one)."""
    from fasttts_desktop.engine.synthesis.cuda.graphs import FRAME_BUCKETS, TOKEN_BUCKETS, bucket

    runner = fast.runner
    req = req or sorted(harvard, key=lambda r: len(r.input_ids))[len(harvard) // 2]
    _audio, dur = runner.run(req.input_ids, req.ref_s, req.speed)
    tokens, frames = bucket(len(req.input_ids), TOKEN_BUCKETS), bucket(int(dur.sum()), FRAME_BUCKETS)
    out: dict[str, int | float | None] = {
        "tokens": len(req.input_ids),
        "frames": int(dur.sum()),
        "token_bucket": tokens,
        "frame_bucket": frames,
    }
    graphs = {"text": runner.text_graph(tokens)}
    if runner.acoustic_graph(frames) is not None:
        graphs["acoustic"] = runner.acoustic_graph(frames)[0]
    for name, g in graphs.items():
        out[name] = round(gpu_ms(g.replay, 20), 3)
    return out


def profile_stream(fast, long) -> dict:
    """The longest streaming chunk at batch 1: each graph's GPU time, and its kernels by kind (profiler)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    req = max(long, key=lambda r: len(r.input_ids))
    out: dict[str, Any] = {"graphs_ms": breakdown(fast, [], req)}
    fast.infer(req)
    sync()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        res = fast.infer(req)
        sync()
    groups: dict[str, float] = {}
    for e in prof.key_averages():
        if e.device_type == torch.autograd.DeviceType.CUDA:
            g = kernel_group(e.key)
            groups[g] = round(groups.get(g, 0.0) + e.self_device_time_total / 1000, 3)
    out["audio_s"] = round(len(res.audio) / SAMPLE_RATE, 2)
    out["kernels_ms"] = dict(sorted(groups.items(), key=lambda kv: -kv[1]))
    say(
        f"profile   longest stream chunk ({out['audio_s']} s of audio): graphs {out['graphs_ms']}; "
        f"kernels {out['kernels_ms']}"
    )
    return out


def profile_batch(fast, requests) -> dict:
    """Where a batched pass spends GPU time: the top kernels (torch.profiler), and GPU busy vs wall."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    fast.infer_batch(requests)
    sync()
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        results = fast.infer_batch(requests)
        sync()
    wall = time.perf_counter() - t0
    events = [e for e in prof.key_averages() if e.device_type == torch.autograd.DeviceType.CUDA]
    total = sum(e.self_device_time_total for e in events) / 1000
    top = sorted(events, key=lambda e: e.self_device_time_total, reverse=True)[:14]
    table = [[e.key[:90], round(e.self_device_time_total / 1000, 2), e.count] for e in top]
    groups: dict[str, list[float]] = {}
    for e in events:
        g = kernel_group(e.key)
        ms, n = groups.get(g, [0.0, 0])
        groups[g] = [ms + e.self_device_time_total / 1000, n + e.count]
    by_group = sorted(((g, round(ms, 2), int(n)) for g, (ms, n) in groups.items()), key=lambda x: -x[1])
    say(
        f"profile   batched pass: {seconds(results):.0f} s of audio, wall {wall * 1000:.0f} ms (profiled), "
        f"GPU kernel time {total:.0f} ms; top kernels (ms, calls):"
    )
    for name, ms, n in table:
        say(f"          {ms:8.2f} {n:6d}  {name}")
    say("          by kind: " + ", ".join(f"{g} {ms:.1f} ms/{n}" for g, ms, n in by_group))
    return {
        "wall_ms": round(wall * 1000, 1),
        "gpu_kernel_ms": round(total, 1),
        "top": table,
        "groups": by_group,
    }


KERNEL_GROUPS = [
    ("layout", ("nchwToNhwc", "nhwcToNchw")),
    ("rnn", ("RNN", "rnn", "LSTM", "bilstm")),  # cuDNN's LSTM and the persistent kernel (_bilstm_kernel)
    ("conv", ("fprop", "dgrad", "conv", "Conv")),
    ("triton", ("triton_",)),
    ("gemm", ("gemm", "Gemm", "cutlass", "xmma")),
    ("copy", ("Memcpy", "Memset", "copy")),
    ("elementwise", ("elementwise", "vectorized", "unrolled")),
    ("reduce", ("reduce", "Reduce")),
    ("index", ("index", "gather", "scatter", "Index")),
]


def kernel_group(name: str) -> str:
    """A coarse kind for a CUDA kernel name (profile summaries)."""
    for group, keys in KERNEL_GROUPS:
        if any(k in name for k in keys):
            return group
    return "other"
