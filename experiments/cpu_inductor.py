"""Issue 19 item 3: does fusing the acoustic side's elementwise work pay on the CPU path?

Runs the CPU backend's model (bf16 convolutions where the CPU has avx512_bf16) on the Harvard sentences'
text-side outputs, eager against one variant, alternating run by run (the order flips each round), the
same noise seed for both, and prints per-sentence medians, the compile time and the log-mel distance:

    python3 -m experiments.cpu_inductor VARIANT [--rounds 3] [--sentences 10] [--freezing] [--out x.json]

Variants (each compiled with Inductor, C++ codegen, dynamic frame length unless said):
  pieces     the acoustic side's three frame-rate functions: the F0/N blocks (`predictor.curves`), the
             decoder blocks (`decoder.features`) and the vocoder's conv stack (`generator.body`); the
             LSTM, the harmonic source (random noise) and the iSTFT stay eager
  body       only `generator.body` (the vocoder, ~2/3 of the work)
  resblocks  each vocoder residual block's forward (Snake + AdaIN + its six convolutions)
  adain_snake  only the norm-then-Snake chain inside the residual blocks (instance norm + Snake fused)
  snake      only the Snake function
  hand       no compiler: Snake written as in-place ops with one temporary (sin computed in place)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
import types
from pathlib import Path

from fasttts_desktop.engine.synthesis.cpu.threads import configure_process

VARIANTS = ("pieces", "body", "resblocks", "adain_snake", "snake", "hand")


def _patch(model, variant: str, dynamic: bool) -> None:
    import torch

    from fasttts_desktop.engine.synthesis import blocks

    def comp(fn):
        return torch.compile(fn, dynamic=dynamic)

    if variant == "pieces":
        model.predictor.curves = comp(model.predictor.curves)
        model.decoder.features = comp(model.decoder.features)
        model.decoder.generator.body = comp(model.decoder.generator.body)
    elif variant == "body":
        model.decoder.generator.body = comp(model.decoder.generator.body)
    elif variant == "resblocks":
        gen = model.decoder.generator
        for blk in [*gen.resblocks, *gen.noise_res]:
            blk.forward = comp(blk.forward)
    elif variant in ("adain_snake", "hand", "snake"):
        norm_snake = {"snake": _norm_then_snake, "adain_snake": comp(_norm_snake), "hand": _norm_snake_hand}[
            variant
        ]
        if variant == "snake":
            _SNAKE["fn"] = comp(blocks.snake)

        def forward(self, x, table, _level=None):
            steps = zip(
                self.convs1, self.convs2, self.adain1, self.adain2, self.alpha1, self.alpha2, strict=True
            )
            for k, (c1, c2, n1, n2, a1, a2) in enumerate(steps):
                xt = x.to(c1.weight.dtype)
                for conv, norm, alpha in ((c1, n1, a1), (c2, n2, a2)):
                    w, b = norm.folded(table)
                    dt = xt.dtype
                    a = alpha if variant == "snake" else alpha.to(dt)
                    inv = alpha.float().reciprocal().to(dt)
                    xt = conv(norm_snake(xt, w.to(dt), b.to(dt), norm.norm.eps, a, inv))
                x = x + xt if k == 0 else x.add_(xt)
            return x

        gen = model.decoder.generator
        for blk in [*gen.resblocks, *gen.noise_res]:
            blk.forward = types.MethodType(forward, blk)
    else:
        raise ValueError(variant)


_SNAKE: dict = {}


def _norm_then_snake(x, w, b, eps: float, a, inv):
    """Instance norm eager, then Snake compiled (it takes alpha; `inv` unused)."""
    import torch.nn.functional as F

    del inv
    return _SNAKE["fn"](F.instance_norm(x, weight=w, bias=b, eps=eps), a)


def _norm_snake(x, w, b, eps: float, a, inv):
    """Instance norm and Snake in one function, for the compiler to fuse."""
    import torch
    import torch.nn.functional as F

    y = F.instance_norm(x, weight=w, bias=b, eps=eps)
    s = torch.sin(y * a)
    return y + s * s * inv


def _norm_snake_hand(x, w, b, eps: float, a, inv):
    """The same without a compiler: in-place ops, one temporary besides the norm's output."""
    import torch
    import torch.nn.functional as F

    y = F.instance_norm(x, weight=w, bias=b, eps=eps)
    s = torch.mul(y, a).sin_()
    return s.mul_(s).mul_(inv).add_(y)


def _loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("variant", choices=VARIANTS)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--sentences", type=int, default=10)
    p.add_argument("--freezing", action="store_true", help="Inductor freezing (weights as constants)")
    p.add_argument("--static", action="store_true", help="no dynamic shapes (recompiles per length)")
    p.add_argument("--fp32-scale", action="store_true", help="also: eager bf16 vs eager float32")
    p.add_argument("--out")
    args = p.parse_args()
    configure_process()
    import torch
    from torch._inductor import config as inductor_config

    from fasttts_desktop.bench import inputs as bench_inputs
    from fasttts_desktop.bench.parity import mel_distance
    from fasttts_desktop.engine.synthesis.cpu.backend import CpuBackend
    from fasttts_desktop.engine.weights.store import load_weights

    inductor_config.freezing = args.freezing
    weights = load_weights(use_hub=False, defer=True)
    eager = CpuBackend(weights=weights)
    other = CpuBackend(weights=weights)
    for m in (eager.model, other.model):  # the cancel hooks: nothing to poll here
        for mod in m.modules():
            mod._forward_hooks.clear()  # noqa: SLF001
    _patch(other.model, args.variant, dynamic=not args.static)
    fp32 = CpuBackend(weights.state_dict, dtype=torch.float32) if args.fp32_scale else None

    harvard = bench_inputs.phonemes()["harvard"][: args.sentences]
    inputs = []
    with torch.inference_mode():
        for req in bench_inputs.requests(harvard, weights.voices["jm_kumo"], 1.0):
            ids = torch.tensor([req.input_ids], dtype=torch.long)
            ref_s = req.ref_s.to(torch.float32).reshape(1, -1)
            durations, d, t_en = eager.model.text_side(ids, ref_s, 1.0)
            inputs.append((durations, d, t_en, ref_s))

    def run(model, k):
        torch.manual_seed(0)
        t0 = time.perf_counter()
        with torch.inference_mode():
            audio = model.acoustic_side(*inputs[k])
        return time.perf_counter() - t0, audio.float().numpy().copy()

    # compile: the first call, then a second length (a recompile if dynamic shapes did not hold)
    load0 = _loadavg()
    first_s, _ = run(other.model, 0)
    second_s, _ = run(other.model, 1)
    print(f"{args.variant}: first call {first_s:.1f} s, second length {second_s:.1f} s", flush=True)
    for k in range(len(inputs)):  # every length once, so no compile lands in the timed rounds
        run(other.model, k)
        run(eager.model, k)
    times: dict[str, list[list[float]]] = {"eager": [[] for _ in inputs], args.variant: [[] for _ in inputs]}
    dist, frames, seed_dist, fp32_dist = [], [], [], []
    for r in range(args.rounds):
        for k in range(len(inputs)):
            order = [("eager", eager.model), (args.variant, other.model)]
            if (r + k) % 2:
                order.reverse()
            audio = {}
            for name, model in order:
                t, audio[name] = run(model, k)
                times[name][k].append(t)
            if r == 0:
                dist.append(mel_distance(audio["eager"], audio[args.variant]))
                frames.append(int(inputs[k][0].sum()))
                # the scale: the same eager path with another noise seed, and in float32
                torch.manual_seed(1)
                with torch.inference_mode():
                    seed1 = eager.model.acoustic_side(*inputs[k]).float().numpy()
                seed_dist.append(mel_distance(audio["eager"], seed1))
                if fp32 is not None:
                    fp32_dist.append(mel_distance(audio["eager"], run(fp32.model, k)[1]))
    load1 = _loadavg()
    med = {name: [statistics.median(ts) for ts in per] for name, per in times.items()}
    ratio = [c / e for c, e in zip(med[args.variant], med["eager"], strict=True)]
    res = {
        "variant": args.variant,
        "freezing": args.freezing,
        "dynamic": not args.static,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "dtype": str(eager.dtype),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip(),
        "cpu": next(
            (
                ln.split(":", 1)[1].strip()
                for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")
            ),
            "",
        ),
        "compile_first_s": round(first_s, 2),
        "compile_second_length_s": round(second_s, 2),
        "rounds": args.rounds,
        "frames": frames,
        "eager_s": [round(x, 4) for x in med["eager"]],
        "variant_s": [round(x, 4) for x in med[args.variant]],
        "eager_total_s": round(sum(med["eager"]), 3),
        "variant_total_s": round(sum(med[args.variant]), 3),
        "ratio_median": round(statistics.median(ratio), 4),
        "ratio_of_totals": round(sum(med[args.variant]) / sum(med["eager"]), 4),
        "log_mel_l1": [round(x, 5) for x in dist],
        "log_mel_l1_eager_seed0_vs_seed1": [round(x, 5) for x in seed_dist],
        "log_mel_l1_eager_bf16_vs_fp32": [round(x, 5) for x in fp32_dist],
        "loadavg_before_after": [load0, load1],
    }
    print(json.dumps(res, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("FASTTTS_OFFLINE", "1")
    main()
