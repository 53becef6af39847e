"""Device probe for GPU round 2 (issue 12), random weights: which routes win before the full bench.

    python3 scripts/device/probe_round2.py OUT_DIR        (after `source scripts/device/setup.sh`)

1. imports: torch alone, and our backend + model build (kokoro.model, transformers) in fresh processes;
2. G2P on the device (misaki + spaCy carried as packages): one sentence, and `say` of a short text;
3. the persistent Triton LSTM against cuDNN's, in CUDA graphs, at sentence and chunk lengths;
4. the decoder's layouts eager (1-D vs channels-last): one graph at batch 1, a batched pass and its kernels;
5. whole backends: channels-last and 1-D decoders compiled from an empty cache (two worker processes compile
   at once, then measure one after the other), eager kernels with both LSTMs; warm start of the first.
Random weights at a speed that gives real frame counts per token, so timings are comparable; parity is the
full bench's job. Prints a table last and writes probe.json.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

OUT = Path(sys.argv[2] if sys.argv[1] == "--worker" else sys.argv[1])
WORK = Path("/tmp/probe-round2")  # compile caches and hand-over flags: not sent back
RESULTS: dict = {}
CONFIGS = {
    "nhwc+persistent": {"channels_last": True, "lstm": "persistent"},
    "ncl+persistent": {"channels_last": False, "lstm": "persistent"},
}


def save() -> None:
    (OUT / "probe.json").write_text(json.dumps(RESULTS, indent=1, default=str))


def say(*a) -> None:
    print(*a, flush=True)


def fresh(code: str, timeout: float = 240) -> tuple[float, str]:
    t0 = time.time()
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, check=False
    )
    return round(time.time() - t0, 2), (p.stdout + p.stderr)[-600:]


def imports() -> None:
    t_torch, _ = fresh("import torch; torch.cuda.init()")
    code = (
        "import time; t=time.time()\n"
        "from fasttts_desktop.bench import inputs; inputs.kokoro_without_g2p()\n"
        "import torch; torch.cuda.init(); a=time.time()-t\n"
        "from fasttts_desktop.engine.synthesis.cuda.backend import build_fast_model, Options\n"
        "from fasttts_desktop.engine.weights.model_build import build_kmodel; b=time.time()-t\n"
        "import sys; print('IMPORTS', round(a,2), round(b,2), 'transformers' in sys.modules)\n"
        "m = build_kmodel(); print('BUILD', round(time.time()-t,2), 'transformers' in sys.modules)\n"
    )
    wall, out = fresh(code)
    RESULTS["imports"] = {"torch_cuda_init_s": t_torch, "backend_and_model_build_s": wall, "out": out}
    say("imports:", RESULTS["imports"])


def g2p() -> None:
    code = (
        "import time; t=time.time()\n"
        "from fasttts_desktop.engine.text.frontend import FrontEnd\n"
        "f = FrontEnd('a'); a=time.time()-t\n"
        "cs = list(f.chunks('The birch canoe slid on the smooth planks. "
        "Glue the sheet to the dark blue background.', pack=True, max_phonemes=510))\n"
        "print('G2P', round(a,2), round(time.time()-t,2), [c.chunk.phonemes for c in cs])\n"
    )
    wall, out = fresh(code)
    RESULTS["g2p"] = {"wall_s": wall, "out": out}
    say("g2p:", RESULTS["g2p"])


def lstm_bench() -> None:
    from fasttts_desktop.bench.timing import gpu_ms
    from fasttts_desktop.engine.synthesis.cuda.lstm import bilstm
    from fasttts_desktop.engine.synthesis.cuda.lstm_kernel import PersistentBiLSTM

    dev = torch.device("cuda")
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(640, 256, batch_first=True, bidirectional=True).to(dev).eval()
    lstm.flatten_parameters()
    kernel = PersistentBiLSTM(lstm).to(dev)
    rows = {}
    for steps in (48, 128, 448, 1152):
        x = torch.randn(1, steps, 640, device=dev)
        n = steps - steps // 8
        lengths = torch.tensor([n], device=dev)
        mask = torch.arange(steps, device=dev)[None] < lengths[:, None]
        x = x * mask[..., None]
        row = {}
        with torch.inference_mode():
            ref = bilstm(lstm, x, lengths, mask, host_lengths=torch.tensor([n]))
            for name, fn in (
                ("cudnn", lambda x=x, lengths=lengths, mask=mask: bilstm(lstm, x, lengths, mask)),
                ("persistent", lambda x=x, lengths=lengths: kernel(x, lengths)),
            ):
                fn()
                torch.cuda.synchronize()
                g = torch.cuda.CUDAGraph()
                s = torch.cuda.Stream()
                s.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(s):
                    fn()
                torch.cuda.current_stream().wait_stream(s)
                with torch.cuda.graph(g):
                    y = fn()
                row[name] = round(gpu_ms(g.replay), 3)
                row[name + "_maxdiff"] = float((y - ref).abs().max())
            row["error_flag"] = int(kernel.last_error)
        rows[steps] = row
        say(f"lstm T={steps}: {row}")
    RESULTS["lstm_ms"] = rows
    save()


def layout_bench() -> None:
    from fasttts_desktop.bench.timing import gpu_ms, kernel_group
    from fasttts_desktop.engine.synthesis.cuda.decoder import DecoderCore, example_inputs
    from fasttts_desktop.engine.weights.model_build import build_kmodel, remove_weight_norm

    dev = torch.device("cuda")
    torch.manual_seed(0)
    km = remove_weight_norm(build_kmodel())
    out = {}
    ref = None
    for name, cl in (("ncl", False), ("nhwc", True)):
        core = DecoderCore(km.decoder, torch.float16, ("source", "post"), channels_last=cl).to(dev).eval()
        row = {}
        with torch.inference_mode():
            args = example_inputs(dev, 1, 128)
            y = core(*args)
            ref = y if ref is None else ref
            row["rel_diff_vs_ncl"] = float((y - ref).norm() / ref.norm())
            g = torch.cuda.CUDAGraph()
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                core(*args)
            torch.cuda.current_stream().wait_stream(s)
            with torch.cuda.graph(g):
                core(*args)
            row["b1_graph_ms"] = round(gpu_ms(g.replay), 3)
            del g
            big = example_inputs(dev, 64, 128)
            core(*big)
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(3):
                core(*big)
            torch.cuda.synchronize()
            row["b64x128_eager_ms"] = round((time.perf_counter() - t0) / 3 * 1000, 2)
            from torch.profiler import ProfilerActivity, profile

            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                core(*big)
                torch.cuda.synchronize()
            groups: dict = {}
            for e in prof.key_averages():
                if e.device_type == torch.autograd.DeviceType.CUDA:
                    k = kernel_group(e.key)
                    groups[k] = round(groups.get(k, 0) + e.self_device_time_total / 1000, 2)
            row["b64x128_kernels_ms"] = groups
        out[name] = row
        say(f"decoder {name}: {row}")
        del core
        torch.cuda.empty_cache()
    RESULTS["decoder_layouts"] = out
    save()


def speed_for_random_weights(weights, work_speed_probe) -> float:
    """A speed at which the random model predicts ~2.8 frames per token, as the real one does."""
    from fasttts_desktop.engine.synthesis.eager import EagerBackend

    ref = EagerBackend(weights.state_dict, torch.device("cuda"))
    res = ref.infer(work_speed_probe)
    per_token = float(res.durations.sum()) / len(res.durations)
    del ref
    torch.cuda.empty_cache()
    return max(1.0, per_token / 2.8)


def backend_config(name: str, over: dict, speed: float, compile_mode: str, turn: Path | None) -> dict:
    """Build from an empty compile cache (cold), wait for the compiled decoder, measure."""
    from fasttts_desktop.bench import inputs
    from fasttts_desktop.bench.timing import breakdown, measure
    from fasttts_desktop.engine.synthesis.cuda import CompiledBackend, Options

    weights = inputs.load(random_weights=True)
    work = inputs.workload(weights, "jm_kumo", speed, 8)
    opts = dataclasses.replace(Options(), compile=compile_mode, **over)
    t0 = time.perf_counter()
    fast = CompiledBackend(weights, torch.device("cuda"), options=opts)
    fast.prepare()
    ready = time.perf_counter() - t0
    fast.wait_compiled()
    row = {
        "ready_s": round(ready, 1),
        "compiled_s": round(time.perf_counter() - t0, 1),
        "compiled": fast.compiled,
    }
    row["detail"] = fast.compiler.detail
    say(f"{name}: {row}")
    if turn is not None:  # measure only when it is this worker's turn (the other may still compile)
        while not turn.exists():
            time.sleep(0.5)
    res, _ = measure(name, fast, work)
    for k in (
        "sentence_latency_p50_ms",
        "sentence_latency_p95_ms",
        "stream_xrt",
        "batched_xrt",
        "peak_mem_mb",
    ):
        row[k] = res[k]
    row["after_export_mb"] = res.get("after_export_mb")
    row["misses"] = getattr(fast.decoder, "misses", None)
    if fast.runner is not None:
        row["breakdown_ms"] = breakdown(fast, work.harvard)
    return row


def worker(name: str, speed: float) -> None:
    os.environ["FASTTTS_COMPILE_CACHE"] = str(WORK / f"cache-{name}")
    try:
        row = backend_config(name, CONFIGS[name], speed, "inductor", WORK / f"turn-{name}")
    except Exception as exc:  # noqa: BLE001 - reported by the main process
        row = {"error": repr(exc)[:800]}
    (WORK / f"worker-{name}.json").write_text(json.dumps(row, default=str))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    from fasttts_desktop.bench import inputs

    inputs.kokoro_without_g2p()
    weights = inputs.load(random_weights=True)
    speed = speed_for_random_weights(weights, inputs.workload(weights, "jm_kumo", 1.0, 1).harvard[0])
    RESULTS["speed_for_random_weights"] = speed
    say(f"random weights at speed {speed:.2f}")
    env = dict(os.environ)
    workers = {
        n: subprocess.Popen([sys.executable, __file__, "--worker", str(OUT), n, str(speed)], env=env)
        for n in CONFIGS
    }
    for step in (imports, g2p, lstm_bench, layout_bench):
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - one broken probe must not lose the others
            RESULTS[step.__name__ + "_error"] = repr(exc)[:800]
            say(step.__name__, "FAILED", repr(exc)[:800])
        save()
    for n in CONFIGS:  # one measures at a time
        (WORK / f"turn-{n}").touch()
        try:
            workers[n].wait(timeout=max(30, 470 - (time.time() - t_start)))
            RESULTS[n] = json.loads((WORK / f"worker-{n}.json").read_text())
        except Exception as exc:  # noqa: BLE001
            RESULTS[n] = {"error": repr(exc)[:400]}
            workers[n].kill()
        save()
    for name, over in (
        ("ncl+cudnn eager", {"lstm": "cudnn"}),
        ("ncl+persistent eager", {"lstm": "persistent"}),
    ):
        try:
            RESULTS[name] = backend_config(name, over, speed, "none", None)
        except Exception as exc:  # noqa: BLE001
            RESULTS[name] = {"error": repr(exc)[:400]}
        save()
    # warm start of the first compiled config: a fresh process on the cache its worker left
    from fasttts_desktop.bench import warm

    first = next(iter(CONFIGS))
    os.environ["FASTTTS_COMPILE_CACHE"] = str(WORK / f"cache-{first}")
    layout = "nhwc" if CONFIGS[first]["channels_last"] else "ncl"
    opt = ["--layout", layout, "--lstm", CONFIGS[first]["lstm"], "--compile", "inductor"]
    RESULTS["warm_" + first] = warm.run(opt, ["--random-weights"], "jm_kumo", speed)
    save()
    say("")
    say(
        f"{'config':24s}{'p50':>8s}{'p95':>8s}{'stream':>9s}{'batch':>9s}{'peakMB':>8s}"
        f"{'compile s':>10s}  kind"
    )
    for name in [*CONFIGS, "ncl+cudnn eager", "ncl+persistent eager"]:
        r = RESULTS.get(name, {})
        if "error" in r or not r:
            say(f"{name:24s} {r.get('error', 'missing')[:90]}")
            continue
        say(
            f"{name:24s}{r['sentence_latency_p50_ms']:8.2f}{r['sentence_latency_p95_ms']:8.2f}"
            f"{r['stream_xrt']:9.1f}{r['batched_xrt']:9.1f}{r['peak_mem_mb']:8.0f}{r['compiled_s']:10.1f}  "
            f"{r['compiled']} {r.get('breakdown_ms')}"
        )
    w = RESULTS.get("warm_" + first, {})
    say(
        f"warm {first}: first audio {w.get('first_audio_s')} s, "
        f"compiled {w.get('compiled_ready_s')} s {w.get('compiled')}"
    )
    say(f"probe wall {time.time() - t_start:.0f} s")


if __name__ == "__main__":
    if sys.argv[1] == "--worker":
        worker(sys.argv[3], float(sys.argv[4]))
    else:
        main()
