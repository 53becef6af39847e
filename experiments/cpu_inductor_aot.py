"""Issue 19 item 3: can the CPU path's compiled pieces be saved once and loaded by a later launch?

`save DIR`: aot_compile (torch._dynamo, experimental) the acoustic side's three frame-rate functions
(`predictor.curves`, `decoder.features`, `generator.body`; each takes its module as an argument, so the
weights are graph inputs, not baked in), dynamic frame length, and save them. `load DIR` (a fresh process,
the same TORCHINDUCTOR_CACHE_DIR or an empty one): load them, time it, and compare the audio with eager on
the Harvard sentences (same noise seed):

    TORCHINDUCTOR_CACHE_DIR=/tmp/ind python3 -m experiments.cpu_inductor_aot save /tmp/aot
    TORCHINDUCTOR_CACHE_DIR=/tmp/ind python3 -m experiments.cpu_inductor_aot load /tmp/aot
"""

from __future__ import annotations

import argparse
import io
import json
import time
from collections.abc import Callable
from pathlib import Path

from fasttts_desktop.engine.synthesis.cpu.threads import configure_process

PIECES = ("curves", "features", "body")


def run_curves(predictor, x, table):
    return predictor.curves(x, table)


def run_features(decoder, asr, f0, n, table):
    return decoder.features(asr, f0, n, table)


def run_body(generator, x, table, har):
    return generator.body(x, table, har)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("save", "load"))
    p.add_argument("folder")
    p.add_argument("--sentences", type=int, default=10)
    args = p.parse_args()
    t_start = time.perf_counter()
    configure_process()
    import torch
    import torch.fx.experimental._config as fx_config

    from fasttts_desktop.bench import inputs as bench_inputs
    from fasttts_desktop.bench.parity import mel_distance
    from fasttts_desktop.engine.synthesis.cpu.backend import CpuBackend
    from fasttts_desktop.engine.weights.store import load_weights

    fx_config.use_duck_shape = False
    torch._dynamo.config.enable_aot_compile = True  # noqa: SLF001
    weights = load_weights(use_hub=False, defer=True)
    backend = CpuBackend(weights=weights)
    model = backend.model
    for mod in model.modules():  # the cancel hooks would be traced into the graphs
        mod._forward_hooks.clear()  # noqa: SLF001
    predictor, decoder = model.predictor, model.decoder
    gen = decoder.generator
    pstyles, dstyles = predictor.styles, decoder.styles
    if pstyles is None or dstyles is None:
        raise RuntimeError("the model's styles are not folded")
    harvard = bench_inputs.phonemes()["harvard"][: args.sentences]
    inputs = []
    with torch.inference_mode():
        for req in bench_inputs.requests(harvard, weights.voices["jm_kumo"], 1.0):
            ids = torch.tensor([req.input_ids], dtype=torch.long)
            ref_s = req.ref_s.to(torch.float32).reshape(1, -1)
            inputs.append((*model.text_side(ids, ref_s, 1.0), ref_s))
    ready_s = time.perf_counter() - t_start

    def pieces_args(durations, d, t_en, ref_s):
        """What the three pieces get for one sentence (as acoustic_side computes it)."""
        en = d.transpose(-1, -2).repeat_interleave(durations, dim=-1)
        x, _ = predictor.shared(en.transpose(-1, -2))
        ptable = pstyles.project(ref_s[:, 128:])
        f0, n = predictor.curves(x.transpose(-1, -2), ptable)
        asr = t_en.repeat_interleave(durations, dim=-1)
        dtable = dstyles.project(ref_s[:, :128])
        feats = decoder.features(asr, f0.unsqueeze(1), n.unsqueeze(1), dtable)
        har = gen.harmonics(f0)
        return {
            "curves": (predictor, x.transpose(-1, -2).contiguous(), ptable),
            "features": (decoder, asr, f0.unsqueeze(1), n.unsqueeze(1), dtable),
            "body": (gen, feats, dtable, har),
        }

    dyn = {"curves": ((1, 2),), "features": ((1, 2), (2, 2), (3, 2)), "body": ((1, 2), (3, 2))}
    fns: dict[str, Callable] = {"curves": run_curves, "features": run_features, "body": run_body}
    folder = Path(args.folder)
    compiled = {}
    timings: dict[str, float] = {"model_ready_s": round(ready_s, 2)}
    with torch.inference_mode():
        if args.mode == "save":
            folder.mkdir(parents=True, exist_ok=True)
            example = pieces_args(*inputs[0])
            for name in PIECES:
                a = [t.clone() if isinstance(t, torch.Tensor) else t for t in example[name]]
                for i, dim in dyn[name]:
                    torch._dynamo.mark_dynamic(a[i], dim)  # noqa: SLF001
                t0 = time.perf_counter()
                # the stub types torch.compile's result as the function; its wrapper has aot_compile
                fn = torch.compile(fns[name], fullgraph=True).aot_compile(((*a,), {}))  # type: ignore[attr-defined]
                timings[f"compile_{name}_s"] = round(time.perf_counter() - t0, 1)
                fn.save_compiled_function(str(folder / f"{name}.bin"))
                compiled[name] = fn
                print(name, timings[f"compile_{name}_s"], "s", flush=True)
        else:
            t0 = time.perf_counter()
            for name in PIECES:
                blob = io.BytesIO((folder / f"{name}.bin").read_bytes())
                compiled[name] = torch.compiler.load_compiled_function(blob)
            timings["load_s"] = round(time.perf_counter() - t0, 2)
        # compiled vs eager on every sentence, same seed for the harmonic source
        dist, first_call = [], None
        for k, inp in enumerate(inputs):
            torch.manual_seed(0)
            ref = model.acoustic_side(*inp).float().numpy()
            durations, d, t_en, ref_s = inp
            torch.manual_seed(0)
            t0 = time.perf_counter()
            en = d.transpose(-1, -2).repeat_interleave(durations, dim=-1)
            x, _ = predictor.shared(en.transpose(-1, -2))
            f0, n = compiled["curves"](
                predictor, x.transpose(-1, -2).contiguous(), pstyles.project(ref_s[:, 128:])
            )
            asr = t_en.repeat_interleave(durations, dim=-1)
            dtable = dstyles.project(ref_s[:, :128])
            feats = compiled["features"](decoder, asr, f0.unsqueeze(1), n.unsqueeze(1), dtable)
            har = gen.harmonics(f0)
            spec = compiled["body"](gen, feats, dtable, har)
            cut = gen.post_n_fft // 2 + 1
            audio = gen.stft.inverse(torch.exp(spec[:, :cut, :]), torch.sin(spec[:, cut:, :])).squeeze()
            if k == 0:
                first_call = time.perf_counter() - t0
                timings["process_to_first_compiled_audio_s"] = round(time.perf_counter() - t_start, 1)
            dist.append(round(mel_distance(ref, audio.float().numpy()), 5))
    timings["first_compiled_call_s"] = round(first_call or 0.0, 2)
    print(json.dumps({"mode": args.mode, **timings, "log_mel_l1_vs_eager": dist}, indent=1))


if __name__ == "__main__":
    main()
