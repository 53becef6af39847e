"""GPU experiments beside the bench (not shipped): each builds its own backends from explicit options
(nothing shared is changed) and reports numbers for docs/benchmarks/NOTES.md.

- precision: our eager model per decoder precision, drawing the reference's own noise (same seeds, same
  draws in the same order): the implementation's error alone;
- noiseless: each production path against our own eager model with the source's noise off;
- batched A/B: batched throughput with one batching option changed at a time on one built backend;
- variants: whole other builds of the backend (layout, LSTM kernel, compile mode), same measurements.

Run from the repository root on a GPU machine (scripts/device/setup.sh for the lent one):
    python3 -m experiments.gpu_probes --precision --noiseless --variants ncl,cudnn-lstm --out probes.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch

from fasttts_desktop.bench import cli, inputs, parity
from fasttts_desktop.bench.timing import measure, one_by_one, say, seconds, time_batched

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}

# decoder precisions: (dtype, parts kept in float32)
PRECISIONS = {
    "fp16": ("fp16", ()),
    "fp16+post": ("fp16", ("post",)),
    "fp16+source+post": ("fp16", ("source", "post")),
    "bf16+source+post": ("bf16", ("source", "post")),
    "fp32": ("fp32", ()),
}

VARIANTS: dict[str, dict[str, object]] = {  # Options fields to replace
    "eager-graphs": {"compile": "none"},
    "no-graphs": {"graphs": False},
    "nhwc": {"channels_last": True},
    "ncl": {"channels_last": False},
    "persistent": {"lstm": "persistent"},
    "cudnn-lstm": {"lstm": "cudnn"},
    "nhwc+persistent": {"channels_last": True, "lstm": "persistent"},
}


def _build(weights, dev, options):
    from fasttts_desktop.engine.synthesis.cuda import CompiledBackend

    backend = CompiledBackend(weights, dev, options=options)
    backend.prepare()
    return backend


def precision(weights, dev, work, ref_out, base) -> dict:
    out = {}
    for name, (dtype, parts) in PRECISIONS.items():
        opts = dataclasses.replace(base, dtype=DTYPES[dtype], fp32_parts=parts, compile="none", graphs=False)
        v = _build(weights, dev, opts)
        _, v_out = one_by_one(v, work.harvard, seed=0)
        out[name] = round(parity.mean_distance(v_out, ref_out["harvard"]), 4)
        del v
        torch.cuda.empty_cache()
        say(f"precision {name:22s} log-mel L1 to reference, same noise: {out[name]}")
    return {"logmel_l1_same_noise": out}


def noiseless(weights, dev, fast, work, ref_out=None) -> dict:
    """Where the production paths depart from our own eager model with the noise off (so every
    difference is arithmetic): graphs over eager kernels (bucket padding), graphs over the compiled
    decoder (what the app plays), the compiled decoder batched and one at a time (export)."""
    from fasttts_desktop.engine.synthesis.cuda.graphs import GraphRunner

    def dist(outs, base_out):
        return round(parity.mean_distance(outs, base_out), 4)

    eager = _build(weights, dev, dataclasses.replace(fast.options, compile="none", graphs=False))
    eager.model.source.noise = 0.0
    _, base = one_by_one(eager, work.harvard, None)
    _, again = one_by_one(eager, work.harvard, None)
    out = {"eager_vs_itself": dist(again, base)}
    if ref_out is not None:  # our model, exact length, unbatched, its own noise: against the reference
        eager.model.source.noise = 1.0
        _, own = one_by_one(eager, work.harvard, 777)
        out["eager_own_noise_to_reference"] = dist(own, ref_out["harvard"])
        eager.model.source.noise = 0.0
    with torch.inference_mode():
        eager.runner = GraphRunner(eager.model, eager.decoder, dev)
    _, o = one_by_one(eager, work.harvard, None)
    out["graphs_eager_kernels"] = dist(o, base)
    del eager
    # the production backend, noise off: fresh graphs (captured with the noise off), then put back
    old_runner = fast.runner
    fast.model.source.noise = 0.0
    try:
        with torch.inference_mode():
            fast.runner = GraphRunner(fast.model, fast.decoder, dev)
        _, o = one_by_one(fast, work.harvard, None)
        out["graphs_compiled_decoder"] = dist(o, base)
        fast.runner = None
        out["batched_compiled"] = dist(fast.infer_batch(work.harvard), base)
        out["single_compiled_no_graphs"] = dist([fast.infer_batch([r])[0] for r in work.harvard], base)
    finally:
        fast.runner = old_runner
        fast.model.source.noise = 1.0
    say(f"noiseless log-mel L1 to our eager model: {out}")
    return out


def batched_ab(fast, work, spec: str, ref_out) -> dict:
    """`spec`: semicolon list of option=value sets, e.g. 'batch_frames=16384;batch_sentences=128'."""
    out = {}
    base = fast.options
    for item in filter(None, spec.split(";")):
        changes = {}
        for kv in item.split(","):
            k, v = kv.split("=")
            old = getattr(base, k)
            changes[k] = type(old)(int(v)) if isinstance(old, (bool, int)) else v
        fast.options = fast.batched.options = dataclasses.replace(base, **changes)
        try:
            times, b_out = time_batched(fast, work.batch)
            entry = {
                "batched_xrt": round(seconds(b_out) / min(times), 1),
                "wall_s": [round(t, 3) for t in times],
            }
            if ref_out is not None:
                n = len(work.harvard)
                entry["duration_match"] = round(parity.duration_match(b_out[:n], ref_out["harvard"])[0], 4)
        except Exception as exc:  # noqa: BLE001 - one broken option must not lose the run
            entry = {"error": repr(exc)[:400]}
        finally:
            fast.options = fast.batched.options = base
        out[item] = entry
        say(f"batched   A/B {item}: {entry}")
    return out


def variants(names: list[str], weights, dev, work, ref_out, base, out: dict, save) -> dict:
    """Other builds of the backend, each measured like the main one (no parity/warm start), into `out`."""
    for name in names:
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        try:
            v = _build(weights, dev, dataclasses.replace(base, **VARIANTS[name]))
            prep = time.perf_counter() - t0
            v.wait_compiled()  # measure what the variant is, not its eager stand-in
            res, v_out = measure(name, v, work)
            res.update(
                prepare_s=round(prep, 1), compile_s=round(time.perf_counter() - t0, 1), compiled=v.compiled
            )
            if ref_out is not None:
                ours, ref = v_out["harvard"] + v_out["long"], ref_out["harvard"] + ref_out["long"]
                res["duration_match"] = round(parity.duration_match(ours, ref)[0], 4)
                res["logmel_l1_to_reference"] = round(
                    parity.mean_distance(v_out["harvard"], ref_out["harvard"]), 4
                )
                res["batched_duration_match"] = round(
                    parity.duration_match(v_out["batch"][: len(work.harvard)], ref_out["harvard"])[0], 4
                )
            if v.runner is not None:
                from fasttts_desktop.bench.timing import breakdown

                res["breakdown_ms"] = breakdown(v, work.harvard)
                say(f"{name:9s} one Harvard sentence, GPU time per graph replay: {res['breakdown_ms']}")
            out[name] = res
            del v
        except Exception as exc:  # noqa: BLE001 - report and go on: one broken variant must not lose the run
            out[name] = {"error": repr(exc)[:500]}
            say(f"{name:9s} FAILED: {exc!r}"[:300])
        torch.cuda.empty_cache()
        save()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m experiments.gpu_probes", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path)
    p.add_argument("--voice", default="jm_kumo")
    p.add_argument("--precision", action="store_true", help="decoder precisions against the reference")
    p.add_argument("--noiseless", action="store_true", help="production paths with the noise off")
    p.add_argument("--ab", default="", help="batched A/B: semicolon list of option=value sets")
    p.add_argument("--variants", default="", help=f"comma list of builds: {', '.join(VARIANTS)}")
    p.add_argument("--random-weights", action="store_true")
    args = p.parse_args(argv)
    inputs.kokoro_without_g2p()
    dev = torch.device("cuda")
    weights = inputs.load(None, args.random_weights)
    work = inputs.workload(weights, args.voice, 1.0, 8)
    out: dict = {"gpu": torch.cuda.get_device_name(dev), "torch": torch.__version__, "results": {}}

    def save() -> None:
        if args.out:
            args.out.write_text(json.dumps(out, indent=1))

    ref_out = cli.reference(weights, dev, work, out)
    from fasttts_desktop.engine.synthesis.cuda import Options

    base = Options()  # the shipped build, as the bench runs it
    if args.precision:
        out["precision"] = precision(weights, dev, work, ref_out, base)
        save()
    if args.noiseless or args.ab:
        fast = _build(weights, dev, base)
        fast.wait_compiled()
        if args.noiseless:
            out["noiseless"] = noiseless(weights, dev, fast, work, ref_out)
        if args.ab:
            out["batched_ab"] = batched_ab(fast, work, args.ab, ref_out)
        save()
        del fast
        torch.cuda.empty_cache()
    names = [n for n in args.variants.split(",") if n]
    variants(names, weights, dev, work, ref_out, base, out.setdefault("variants", {}), save)
    save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
