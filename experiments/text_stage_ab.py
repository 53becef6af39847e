"""The GPU text stage alone, for an A/B of two trees in alternating processes (issue 18's one text side).

Builds the shipped GPU model (no decoder compile: the text stage does not use it) on the real weights and
times what the app runs of the text side: the batch-1 CUDA graph replays at two token buckets (playback)
and the batched eager pass with host lengths (export), and records every Harvard sentence's durations, so
two trees can be checked for identical output as well as speed. Run from a tree's root on the lent GPU:

    python -m experiments.text_stage_ab --voices voices/af_heart.bin --label new --out new.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from fasttts_desktop.bench import inputs


def _graph(model, ids, lengths, style, speed):
    def run():
        return model.text_stage(ids, lengths, style, speed)

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        run()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = run()
    return graph, out


def _replay_ms(graph, repeats: int = 200) -> float:
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(repeats):
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--voices", required=True)
    p.add_argument("--label", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--device", default="cuda", help="cpu: check the script without a GPU (no graphs)")
    args = p.parse_args()
    inputs.kokoro_without_g2p()
    from fasttts_desktop.engine.synthesis.cuda.backend import Options
    from fasttts_desktop.engine.synthesis.cuda.build import build_fast_model

    dev = torch.device(args.device)
    weights = inputs.load(voices_path=args.voices)
    work = inputs.workload(weights, "af_heart", 1.0, 2)
    model = build_fast_model(weights.state_dict, dev, Options(compile="none"))
    gpu = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "none"
    out: dict = {"label": args.label, "gpu": gpu, "torch": torch.__version__}
    with torch.inference_mode():
        durations = []
        for r in work.harvard:
            ids = torch.tensor([r.input_ids], device=dev)
            n = torch.tensor([len(r.input_ids)], device=dev)
            dur, _, _ = model.text_stage(
                ids, n, r.ref_s.to(dev).reshape(1, -1), torch.tensor([r.speed], device=dev)
            )
            durations.append(dur[0].tolist())
        out["harvard_durations"] = durations
        for bucket in (64, 512) if dev.type == "cuda" else ():
            r = max(work.harvard if bucket == 48 else work.long, key=lambda q: len(q.input_ids))
            ids = torch.zeros(1, bucket, dtype=torch.long, device=dev)
            ids[0, : len(r.input_ids)] = torch.tensor(r.input_ids)
            n = torch.tensor([len(r.input_ids)], device=dev)
            graph, _ = _graph(model, ids, n, r.ref_s.to(dev).reshape(1, -1), torch.ones(1, device=dev))
            out[f"graph_{bucket}_ms"] = _replay_ms(graph)
        batch = work.batch[:64]
        rows = [len(r.input_ids) for r in batch]
        ids = torch.zeros(len(batch), max(rows), dtype=torch.long)
        for row, r in enumerate(batch):
            ids[row, : rows[row]] = torch.tensor(r.input_ids)
        host = torch.tensor(rows)
        style = torch.cat([r.ref_s.reshape(1, -1) for r in batch]).to(dev)
        speed = torch.ones(len(batch), device=dev)
        times = []
        for _ in range(30 if dev.type == "cuda" else 2):
            t0 = time.perf_counter()
            model.text_stage(ids.to(dev), host.to(dev), style, speed, host_lengths=host)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            times.append((time.perf_counter() - t0) * 1e3)
        out["batched_64_ms"] = statistics.median(times[len(times) // 6 :])
    print(args.label, {k: v for k, v in out.items() if k.endswith("_ms")})
    Path(args.out).write_text(json.dumps(out))


if __name__ == "__main__":
    main()
