"""Issue 19: how much the compile child (cpu_compile_child.py) slows the app's speech, apart from whatever
else the machine runs: the same sentences synthesized again and again while the child compiles from an
empty cache, the child's process group stopped (SIGSTOP) for every other sentence. The paired ratio
(sentence with the child running / the one before or after with it stopped) is the child's cost; the
machine's other load hits both halves alike.

    python3 -m experiments.cpu_compile_interference OUT.json [--sentences 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path

from fasttts_desktop.engine.synthesis.cpu.threads import configure_process


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--sentences", type=int, default=3)
    args = p.parse_args()
    folder = tempfile.mkdtemp(prefix="fasttts-interference-")
    os.environ["FASTTTS_COMPILE_CACHE"] = folder
    configure_process()
    from fasttts_desktop.bench import inputs as bench_inputs
    from fasttts_desktop.engine.synthesis.cpu.backend import CpuBackend
    from fasttts_desktop.engine.weights.store import load_weights

    weights = load_weights(use_hub=False, defer=True)
    backend = CpuBackend(weights=weights, compile_blocks=True)
    requests = bench_inputs.requests(
        bench_inputs.phonemes()["harvard"][: args.sentences], weights.voices["jm_kumo"], 1.0
    )
    for req in requests:  # oneDNN's kernels for these lengths; the compile starts after the first
        backend.infer(req)
    compiler = backend.compiler
    if compiler is None:
        raise RuntimeError("no block compiler (a float32 vocoder?)")
    while compiler.child is None and compiler.running:
        time.sleep(0.1)
    child = compiler.child
    if child is None:
        raise RuntimeError(f"no compile child: {compiler.failure}")
    pairs: list[dict] = []
    running = True
    k = 0
    while child.poll() is None:
        req = requests[k % len(requests)]
        # each sentence twice in a row: child running / stopped, the order alternating pair by pair
        times = {}
        for state in ("run", "stop") if k % 2 == 0 else ("stop", "run"):
            want = state == "run"
            if want != running:
                with contextlib.suppress(ProcessLookupError):  # it may have finished just now
                    os.killpg(child.pid, signal.SIGCONT if want else signal.SIGSTOP)
                running = want
            t = time.perf_counter()
            out = backend.infer(req)
            times[state] = time.perf_counter() - t
        if child.poll() is not None:
            break
        audio_s = len(out.audio) / 24_000
        pairs.append(
            {
                "run_s": round(times["run"], 3),
                "stop_s": round(times["stop"], 3),
                "audio_s": round(audio_s, 2),
                "ratio": round(times["run"] / times["stop"], 3),
            }
        )
        k += 1
    if not running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGCONT)
    ratios = [x["ratio"] for x in pairs]
    res = {
        "loadavg_end": Path("/proc/loadavg").read_text().split()[:3],
        "pairs": len(pairs),
        "running_over_stopped_median": statistics.median(ratios) if ratios else None,
        "running_over_stopped_mean": round(statistics.mean(ratios), 3) if ratios else None,
        "rtf_worst_child_running": max((x["run_s"] / x["audio_s"] for x in pairs), default=None),
        "rtf_worst_child_stopped": max((x["stop_s"] / x["audio_s"] for x in pairs), default=None),
        "child_exit": child.returncode,
        "per_pair": pairs,
    }
    Path(args.out).write_text(json.dumps(res, indent=1))
    print(json.dumps({k: v for k, v in res.items() if k != "per_pair"}, indent=1))


if __name__ == "__main__":
    main()
