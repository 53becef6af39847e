"""Issue 19 item 3: the shipped compiled vocoder blocks (cpu/compiled.py) in a fresh process whose caches
are filled: how long until they are loaded, what they add to memory, and a sentence eager vs compiled.

    python3 -m experiments.cpu_compiled_warm [--sentences 3] [--cold]

Uses the app's compile cache (FASTTTS_CACHE_DIR/compile or the user cache); run the app (or
tests/test_cpu_compiled.py with the same FASTTTS_CACHE_DIR) once before, or it compiles (minutes).
`--cold`: empty caches in a temporary folder instead, and the sentences synthesized again and again while
the blocks compile (what a first launch's speech gets while the compiler shares the two cores).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from fasttts_desktop.engine.synthesis.cpu.threads import configure_process


def _timed(backend, requests) -> list[float]:
    """Seconds of each request's synthesis, one after the other."""
    out = []
    for req in requests:
        t = time.perf_counter()
        backend.infer(req)
        out.append(round(time.perf_counter() - t, 3))
    return out


def rss_mb() -> float:
    """The resident memory of the running process, in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sentences", type=int, default=3)
    p.add_argument("--cold", action="store_true")
    p.add_argument("--rounds", type=int, default=4, help="paired eager/compiled passes after loading")
    args = p.parse_args()
    if args.cold:
        import os
        import tempfile

        folder = tempfile.mkdtemp(prefix="fasttts-cold-compile-")
        os.environ["FASTTTS_COMPILE_CACHE"] = folder
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = f"{folder}/inductor"
    t0 = time.perf_counter()
    configure_process()
    import torch

    from fasttts_desktop.bench import inputs as bench_inputs
    from fasttts_desktop.engine.synthesis.cpu.backend import CpuBackend
    from fasttts_desktop.engine.synthesis.cpu.compiled import BlockCompiler
    from fasttts_desktop.engine.weights.store import load_weights

    weights = load_weights(use_hub=False, defer=True)
    backend = CpuBackend(weights=weights, compile_blocks=False)  # attached below, after the eager passes
    harvard = bench_inputs.phonemes()["harvard"][: args.sentences]
    requests = bench_inputs.requests(harvard, weights.voices["jm_kumo"], 1.0)
    res: dict = {"built_s": round(time.perf_counter() - t0, 2)}
    torch.manual_seed(0)
    for _ in range(2):  # the second pass counts: the first makes oneDNN's kernels for these lengths
        eager = _timed(backend, requests)
    res["rss_eager_mb"] = round(rss_mb())
    backend.compiler = BlockCompiler(backend.model, backend.dtype)
    t = time.perf_counter()
    if args.cold:
        backend.compiler.start()
        during = []
        while backend.compiler.running:
            during += _timed(backend, requests)
        res["during_compile_s"] = during
    res["all_compiled"] = backend.wait_compiled()
    res["kind"] = backend.compiled
    res["load_s"] = round(time.perf_counter() - t, 2)
    res["rss_compiled_mb"] = round(rss_mb())
    compiled = _timed(backend, requests)
    res["rss_after_mb"] = round(rss_mb())
    # then the shipped blocks against eager, alternating pass by pass (the hand-over undone and redone)
    gen = backend.model.decoder.generator
    blocks = [*gen.resblocks, *gen.noise_res]
    swapped = {id(b): b.forward for b in blocks}
    paired: dict[str, list[list[float]]] = {
        "eager": [[] for _ in requests],
        "compiled": [[] for _ in requests],
    }
    for r in range(args.rounds):
        for name in ("eager", "compiled") if r % 2 == 0 else ("compiled", "eager"):
            for b in blocks:
                if name == "eager":
                    b.__dict__.pop("forward", None)  # the class's forward again
                else:
                    b.forward = swapped[id(b)]
            for k, req in enumerate(requests):
                t = time.perf_counter()
                backend.infer(req)
                paired[name][k].append(time.perf_counter() - t)
    med = {name: [statistics.median(ts) for ts in per] for name, per in paired.items()}
    res["paired_median_s"] = {name: [round(x, 3) for x in v] for name, v in med.items()}
    res["paired_ratio_of_totals"] = round(sum(med["compiled"]) / sum(med["eager"]), 3)
    res |= {
        "eager_s": eager,
        "compiled_s": compiled,
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
