"""GPU memory the stream buckets' acoustic graphs hold, captured smallest or largest first (not shipped).

The acoustic graphs share one memory pool. Captured smallest first, each larger graph needs blocks larger
than any the smaller ones freed, so the caching allocator reserves new segments for every size; largest
first, the smaller ones can be carved from what the largest freed. One fresh process per order (eager
decoder: no compile), alternating; each captures what `prepare` and the background capture (graphs.py), then
the stream buckets in its order, and reports reserved and allocated memory and the capture time.

Run from the repository root on a GPU machine (scripts/device/setup.sh for the lent one):
    python3 -m experiments.gpu_capture_order --voices voices/af_heart.bin --rounds 2 --out order.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

MB = 1 << 20


def child(order: str, voices: str | None) -> dict:
    import torch

    from fasttts_desktop.bench import inputs

    inputs.kokoro_without_g2p()
    from fasttts_desktop.engine.synthesis.cuda import CompiledBackend
    from fasttts_desktop.engine.synthesis.cuda.backend import Options
    from fasttts_desktop.engine.synthesis.cuda.graphs import LATER_FRAMES, STREAM_FRAMES

    weights = inputs.load(None, False, voices, defer=True)
    backend = CompiledBackend(weights, torch.device("cuda"), options=Options(compile="none"))
    backend.prepare()
    runner = backend.runner
    if runner is None:
        raise RuntimeError("no graph runner")
    with torch.inference_mode():
        for frames in LATER_FRAMES:
            runner.capture_acoustic(frames)
        torch.cuda.empty_cache()
        before = torch.cuda.memory_reserved() / MB
        t0 = time.perf_counter()
        for frames in sorted(STREAM_FRAMES, reverse=order == "down"):
            runner.capture_acoustic(frames)
        capture_s = time.perf_counter() - t0
    torch.cuda.empty_cache()
    return {
        "order": order,
        "reserved_before_mb": round(before),
        "reserved_after_mb": round(torch.cuda.memory_reserved() / MB),
        "allocated_after_mb": round(torch.cuda.memory_allocated() / MB),
        "capture_s": round(capture_s, 2),
        "gpu": torch.cuda.get_device_name(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--voices")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--out", type=Path)
    p.add_argument("--child", choices=("up", "down"))
    args = p.parse_args()
    if args.child:
        print("ORDER " + json.dumps(child(args.child, args.voices)), flush=True)
        return
    rows = []
    for n in range(args.rounds):
        for order in ("up", "down") if n % 2 == 0 else ("down", "up"):
            cmd = [sys.executable, "-m", "experiments.gpu_capture_order", "--child", order]
            cmd += ["--voices", args.voices] if args.voices else []
            out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300)
            line = next((ln for ln in out.stdout.splitlines() if ln.startswith("ORDER ")), None)
            rows.append(json.loads(line[6:]) if line else {"order": order, "error": out.stderr[-800:]})
            print(rows[-1], flush=True)
    if args.out:
        args.out.write_text(json.dumps({"runs": rows}, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
