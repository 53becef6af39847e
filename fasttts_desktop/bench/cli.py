"""`fasttts-desktop bench`: kokoro's eager float32 KModel (the reference) against the compiled GPU path.

One process, one GPU, the same weights and voice for both, phonemes precomputed by the app's own front end
(inputs.py). Prints one line per measurement and writes JSON (fields: docs/benchmarks/README.md).

Measured for each side: sentence latency over the Harvard sentences one at a time (p50/p95), batch-1
streaming over a long multi-paragraph text (x realtime), batched synthesis of many sentences (x realtime;
the reference has none), peak GPU memory. For the fast path also: cold start on an empty compile cache,
warm start in a fresh process on the warm caches (warm.py), and parity with the reference (parity.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from fasttts_desktop.bench import inputs, parity, warm
from fasttts_desktop.bench.timing import breakdown, measure, one_by_one, profile_batch, profile_stream, say

REFERENCE_SEEDS = (0, 5000, 9000, 13000)
DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}  # torch dtype names


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fasttts-desktop bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, help="JSON file to write (default: print only)")
    p.add_argument(
        "--voice", help="voice to speak in (default: the app's, af_heart where kokoro's voices are installed)"
    )
    p.add_argument("--speed", type=float, default=1.0)
    p.add_argument(
        "--voices", help="voice file(s) as the app's --voices takes them (the device lacks kokoro's set)"
    )
    p.add_argument("--random-weights", action="store_true", help="shape/timing run without real weights")
    p.add_argument("--weights-file", help=argparse.SUPPRESS)
    p.add_argument("--commit", default=os.environ.get("FASTTTS_COMMIT", ""))
    p.add_argument("--compile", default="inductor", choices=["inductor", "none"])
    p.add_argument("--dtype", default="fp16", choices=sorted(DTYPES), help="decoder dtype")
    p.add_argument("--fp32-parts", default="source,post", help="decoder parts kept in float32 (comma list)")
    p.add_argument("--layout", default="nhwc", choices=["ncl", "nhwc"], help="decoder activation layout")
    p.add_argument(
        "--lstm", default="persistent", choices=["cudnn", "persistent"], help="LSTMs in the graphs"
    )
    p.add_argument("--batch-repeat", type=int, default=8, help="Harvard x N + long chunks per batch run")
    p.add_argument("--skip-reference", action="store_true")
    p.add_argument("--no-warm", dest="warm", action="store_false", help="skip the warm-start child")
    p.add_argument(
        "--cache-dir", type=Path, help="compile cache to use (default: a new empty one: cold start)"
    )
    p.add_argument(
        "--warm-imports",
        action="store_true",
        help="also profile the warm start's imports up to its first audio (a second child, -X importtime)",
    )
    p.add_argument("--warm-child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--first-audio-only", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--t0", type=float, default=None, help=argparse.SUPPRESS)
    return p


def options_from(args):
    import torch

    from fasttts_desktop.engine.synthesis.cuda import Options

    return Options(
        dtype=getattr(torch, DTYPES[args.dtype]),
        fp32_parts=tuple(filter(None, args.fp32_parts.split(","))),
        channels_last=args.layout == "nhwc",
        lstm=args.lstm,
        compile=args.compile,
    )


def _option_args(args) -> list[str]:
    """The same build for the warm-start child."""
    out = ["--compile", args.compile, "--dtype", args.dtype, "--fp32-parts", args.fp32_parts]
    return [*out, "--layout", args.layout, "--lstm", args.lstm]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import logging

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.warm_child:
        return warm.child(args, options_from(args))
    inputs.kokoro_without_g2p()
    import torch

    if not torch.cuda.is_available():
        say("bench: no CUDA GPU visible; the benchmark compares GPU paths")
        return 2
    dev = torch.device("cuda")
    gpu = torch.cuda.get_device_name(dev)
    say(f"bench: {gpu} · torch {torch.__version__} · CUDA {torch.version.cuda} · commit {args.commit or '?'}")
    t0 = time.perf_counter()
    weights = inputs.load(args.weights_file, args.random_weights, args.voices)
    args.voice = inputs.voice_or_default(weights, args.voice)
    say(f"weights: {weights.fingerprint[:16]} loaded in {time.perf_counter() - t0:.1f} s; voice {args.voice}")
    work = inputs.workload(weights, args.voice, args.speed, args.batch_repeat)
    out = {
        "gpu": gpu,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "commit": args.commit,
        "python": platform.python_version(),
        "weights": weights.fingerprint,
        "voice": args.voice,
        "speed": args.speed,
        "random_weights": bool(args.random_weights),
        "options": {k: str(v) for k, v in dataclasses.asdict(options_from(args)).items()},
        "results": {},
    }

    def save() -> None:
        if args.out:  # after every section: a run cut short still leaves what it measured
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(out, indent=1))

    ref_out = None if args.skip_reference else reference(weights, dev, work, out)
    save()
    fast, res, ours = _fast(args, weights, dev, work, out)
    save()
    if ref_out is not None:
        res["parity"] = _parity(ours, ref_out, work)
        save()
    res["batched_profile"] = profile_batch(fast, work.harvard * 2)
    if fast.runner is not None:
        res["stream_profile"] = profile_stream(fast, work.long)
    save()
    if args.warm:
        weights_args = ["--random-weights"] if args.random_weights else []
        if args.weights_file:
            weights_args = ["--weights-file", args.weights_file]
        if args.voices:
            weights_args += ["--voices", args.voices]
        res["warm_start"] = warm.run(
            _option_args(args), weights_args, args.voice, args.speed, importtime=args.warm_imports
        )
        save()
    del fast
    torch.cuda.empty_cache()
    _summary(out)
    save()
    if args.out:
        say(f"wrote {args.out}")
    return 0


def reference(weights, dev, work, out) -> dict:
    """kokoro's own model, eager fp32: its numbers, and its outputs at several seeds for the parity floor."""
    import torch

    from fasttts_desktop.engine.synthesis.eager import EagerBackend

    torch.cuda.reset_peak_memory_stats()
    ref = EagerBackend(weights.state_dict, dev)
    res, ref_out = measure("reference", ref, work, batched=False)
    for k, seed in enumerate(REFERENCE_SEEDS[1:], 1):
        _, ref_out[f"harvard_seed{k}"] = one_by_one(ref, work.harvard, seed=seed)
    # The same reference with cuDNN's TF32 convolutions off (PyTorch's float32 default has them on): also an
    # fp32 reference run. Its distance to the default run at the same seed is how far kokoro itself moves
    # under float32-level rounding changes (the decoder amplifies them: NOTES.md).
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        for k in range(2):
            _, ref_out[f"harvard_strict{k}"] = one_by_one(ref, work.harvard, seed=REFERENCE_SEEDS[k])
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
    out["results"]["reference"] = res
    del ref
    torch.cuda.empty_cache()
    return ref_out


def _fast(args, weights, dev, work, out):
    """The compiled backend from an empty compile cache (cold start), then its measurements."""
    from fasttts_desktop.engine.synthesis.cuda import CompiledBackend

    cache_dir = args.cache_dir or Path(tempfile.mkdtemp(prefix="fasttts-compile-"))
    cache_dir.mkdir(parents=True, exist_ok=True)
    os.environ["FASTTTS_COMPILE_CACHE"] = str(cache_dir)
    if args.cache_dir is None:  # a cold start: no stored GPU model either (this run stores it anew)
        from fasttts_desktop.engine.synthesis.cuda.build import stored_form

        stored = weights.derived_path(stored_form(options_from(args)).name)
        if stored is not None:
            stored.unlink(missing_ok=True)
    steps = []
    t0 = time.perf_counter()
    fast = CompiledBackend(weights, dev, options=options_from(args))
    fast.prepare(lambda msg, frac: steps.append((round(time.perf_counter() - t0, 1), msg, round(frac, 2))))
    ready = time.perf_counter() - t0
    first_kind = fast.compiled
    fast.wait_compiled()
    cold = time.perf_counter() - t0
    detail = fast.compiler.detail if fast.compiler is not None else ""
    say(
        f"fasttts   cold start (empty cache): ready to speak after {ready:.1f} s ({first_kind} decoder in "
        f"graphs), {fast.compiled} decoder after {cold:.1f} s  [{fast.description}]; {detail}"
    )
    res, ours = measure("fasttts", fast, work)
    res.update(
        compile_cold_s=round(cold, 1),
        ready_cold_s=round(ready, 1),
        compiled=fast.compiled,
        compile_detail=detail,
        stored_form=fast.stored.status,
        stored_write_s=fast.stored.write_s,
        description=fast.description,
        progress=steps[:: max(1, len(steps) // 12)],
    )
    misses = getattr(fast.decoder, "misses", None)
    if misses is not None:
        res["decoder_eager_fallbacks"] = misses
    if fast.runner is not None:
        res["breakdown_ms"] = breakdown(fast, work.harvard)
        res["graphs"] = {
            "text": sorted(fast.runner.text_graphs),
            "acoustic": sorted(fast.runner.acoustic_graphs),
        }
        say(f"fasttts   one Harvard sentence, GPU time per graph replay: {res['breakdown_ms']}")
    out["results"]["fasttts"] = res
    return fast, res, ours


def _parity(ours, ref_out, work) -> dict:
    from fasttts_desktop.engine.stream_helpers import fade_edges as _fade_edges

    match, worst = parity.duration_match(ours["harvard"] + ours["long"], ref_out["harvard"] + ref_out["long"])
    d_ours = parity.mean_distance(ours["harvard"], ref_out["harvard"])
    runs = ["harvard"] + [f"harvard_seed{k}" for k in range(1, len(REFERENCE_SEEDS))]
    seed_pairs = [
        parity.mean_distance(ref_out[x], ref_out[y]) for i, x in enumerate(runs) for y in runs[i + 1 :]
    ]
    # strict-fp32 run k against default runs of other seeds: seed and rounding both differ
    strict = [
        parity.mean_distance(ref_out[f"harvard_strict{k}"], ref_out[runs[j]])
        for k in range(2)
        for j in range(len(runs))
        if j != k
    ]
    rounding = [parity.mean_distance(ref_out[f"harvard_strict{k}"], ref_out[runs[k]]) for k in range(2)]
    b_h = ours["batch"][: len(work.harvard)]
    b_match, _ = parity.duration_match(b_h, ref_out["harvard"])
    d_batch = parity.mean_distance(b_h, ours["harvard"])
    joins = parity.join_clicks([_fade_edges(c.audio.copy()) for c in ours["long"]])
    # the overlapped stream against the same chunks made one at a time (other noise, same durations)
    s_match, _ = parity.duration_match(ours["long"], ours["long_sequential"])
    d_stream = parity.mean_distance(ours["long"], ours["long_sequential"])
    verdict = parity.spectral_verdict(d_ours, seed_pairs, strict)
    result = {
        "duration_match": round(match, 4),
        "duration_max_diff": worst,
        "logmel_l1_to_reference": round(d_ours, 4),
        "logmel_l1_reference_seed_to_seed": round(sum(seed_pairs) / len(seed_pairs), 4),
        "logmel_l1_reference_seed_pairs": [round(x, 4) for x in seed_pairs],
        "logmel_l1_reference_strict_vs_default_other_seed": [round(x, 4) for x in strict],
        "logmel_l1_reference_strict_vs_default_same_seed": [round(x, 4) for x in rounding],
        **verdict,
        "batched_duration_match": round(b_match, 4),
        "batched_logmel_l1_to_single": round(d_batch, 4),
        "joins": joins,
        "stream_duration_match_to_sequential": round(s_match, 4),
        "stream_logmel_l1_to_sequential": round(d_stream, 4),
    }
    pairs = seed_pairs + strict
    say(
        f"parity    durations identical on {match * 100:.2f}% of tokens (max diff {worst}); log-mel L1 to "
        f"reference {d_ours:.4f}, fp32 reference pairs {min(pairs):.4f}-{max(pairs):.4f}"
        f" -> spectral_ok={verdict['spectral_ok']}; batched durations {b_match * 100:.2f}%, batched vs single"
        f" {d_batch:.4f}; stream vs one at a time {d_stream:.4f} (durations {s_match * 100:.2f}%)"
        f"; joins max step {joins['join_max_step']} vs p99.9 {joins['signal_p999_step']}"
    )
    return result


def _summary(out) -> None:
    f = out["results"]["fasttts"]
    r = out["results"].get("reference", {})
    say("")
    say(f"{'':16s}{'p50 ms':>9s}{'p95 ms':>9s}{'stream x':>10s}{'batch x':>10s}{'peak MB':>9s}")
    for name, x in [("reference", r), ("fasttts", f)]:
        if x and "error" not in x:
            say(
                f"{name:16s}{x['sentence_latency_p50_ms']:9.2f}{x['sentence_latency_p95_ms']:9.2f}"
                f"{x['stream_xrt']:10.1f}{(x['batched_xrt'] or 0):10.1f}{x['peak_mem_mb']:9.0f}"
            )
    w = f.get("warm_start", {})
    p = f.get("parity", {})
    say(
        f"cold: ready {f.get('ready_cold_s')} s, compiled {f.get('compile_cold_s')} s; warm: first audio "
        f"{w.get('first_audio_s')} s, compiled {w.get('compiled_ready_s')} s ({w.get('compiled')}); "
        f"durations {p.get('duration_match')} spectral_ok {p.get('spectral_ok')}"
    )
