"""Issue 19: the vocoder's residual blocks through AOTInductor (.pt2 packages), not Dynamo's aot_compile.

`save DIR`: torch.export each SnakeResBlock (frame axis dynamic), AOTInductor-compile it into DIR/blockN.pt2
without its weights (`package_constants_in_so=False`: the weights are the model's own, handed over at load).
`load DIR` (a fresh process): load the packages through torch's C++ loader only (no torch._dynamo /
torch._inductor import), hand each its weights (user-managed: no copy), and time whole sentences eager vs
AOTI alternating (same noise seed), with the log-mel L1 between the two:

    FASTTTS_CACHE_DIR=/work/cache/cpuaoti python3 -m experiments.cpu_aoti save /tmp/aoti
    FASTTTS_CACHE_DIR=/work/cache/cpuaoti python3 -m experiments.cpu_aoti load /tmp/aoti

`--dynamo CACHE`: a third arm, the same blocks through aot_compile as cpu/compiled.py made them up to b17ff98
(its compile cache folder, with TORCHINDUCTOR_CACHE_DIR at its inductor-cpu).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from experiments.cpu_compiled_warm import rss_mb
from fasttts_desktop.engine.synthesis.cpu.threads import configure_process


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("save", "load"))
    p.add_argument("folder")
    p.add_argument("--sentences", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--blocks", type=int, default=8)
    p.add_argument("--dynamo", metavar="CACHE", help="a third arm: aot_compile's blocks saved in CACHE")
    args = p.parse_args()
    configure_process()
    import torch

    from fasttts_desktop.bench import inputs as bench_inputs
    from fasttts_desktop.bench.parity import mel_distance
    from fasttts_desktop.engine.synthesis.blocks import SnakeResBlock
    from fasttts_desktop.engine.synthesis.cpu.backend import CpuBackend
    from fasttts_desktop.engine.weights.store import load_weights

    weights = load_weights(use_hub=False, defer=True)
    backend = CpuBackend(weights=weights, compile_blocks=False)
    model = backend.model
    gen = model.decoder.generator
    blocks = [*gen.resblocks, *gen.noise_res][: args.blocks]
    if model.decoder.styles is None:
        raise RuntimeError("the model's styles are not folded")
    width = int(model.decoder.styles.weight.shape[0])
    folder = Path(args.folder)
    res: dict = {"mode": args.mode}

    class Run(torch.nn.Module):
        def __init__(self, block):
            super().__init__()
            self.block = block

        def forward(self, x, table):
            return SnakeResBlock.forward(self.block, x, table)

    if args.mode == "save":
        from torch._inductor import config as inductor_config

        inductor_config.compile_threads = 1
        folder.mkdir(parents=True, exist_ok=True)
        frames = torch.export.Dim("frames", min=64, max=1 << 20)
        for i, block in enumerate(blocks):
            block._forward_hooks.clear()  # noqa: SLF001 - the cancel hook is not traced
            ch = block.convs1[0].in_channels
            x, table = torch.randn(1, ch, 300), torch.randn(1, width) * 0.1
            t0 = time.perf_counter()
            with torch.no_grad():
                ep = torch.export.export(Run(block), (x, table), dynamic_shapes=({2: frames}, None))
                t1 = time.perf_counter()
                torch._inductor.aoti_compile_and_package(  # noqa: SLF001
                    ep,
                    package_path=str(folder / f"block{i}.pt2"),
                    inductor_configs={"aot_inductor.package_constants_in_so": False},
                )
            res[f"block{i}"] = {
                "export_s": round(t1 - t0, 1),
                "compile_s": round(time.perf_counter() - t1, 1),
            }
            print(i, res[f"block{i}"], flush=True)
        print(json.dumps(res))
        return

    harvard = bench_inputs.phonemes()["harvard"][: args.sentences]
    requests = bench_inputs.requests(harvard, weights.voices["jm_kumo"], 1.0)
    torch.manual_seed(0)
    backend.infer(requests[0])  # oneDNN's first kernels, the pages of the weights
    mods0 = {m for m in ("torch._dynamo", "torch._inductor", "sympy", "torch.fx") if m in sys.modules}
    rss0 = rss_mb()
    t0 = time.perf_counter()
    runners = []
    for i, block in enumerate(blocks):
        loader = torch._C._aoti.AOTIModelPackageLoader(str(folder / f"block{i}.pt2"), "model", False, 1, -1)  # noqa: SLF001
        params = dict(Run(block).named_parameters()) | dict(Run(block).named_buffers())
        fqns = loader.get_constant_fqns()
        loader.load_constants({k: params[k] for k in fqns}, False, True, True)
        runners.append(loader)
    res["load_s"] = round(time.perf_counter() - t0, 3)
    res["rss_before_load_mb"] = round(rss0)
    res["rss_added_by_load_mb"] = round(rss_mb() - rss0, 1)
    res["modules_before"] = sorted(mods0)
    res["modules_after"] = sorted(
        m for m in ("torch._dynamo", "torch._inductor", "sympy", "torch.fx") if m in sys.modules
    )
    res["constants"] = fqns

    eager_forward = SnakeResBlock.forward
    arms = ["eager", "aoti"]
    dynamo_fns: list = []
    if args.dynamo:  # loads through torch._dynamo (imports it and Inductor): after the AOTI figures above
        import io

        torch._dynamo.config.enable_aot_compile = True  # noqa: SLF001
        rss1, t1 = rss_mb(), time.perf_counter()
        for i, block in enumerate(blocks):
            # the artifacts the aot_compile route (cpu/compiled.py up to b17ff98) saved in its cache
            (path,) = Path(args.dynamo).glob(f"cpu-block{i}-*/block.bin")
            fn = torch.compiler.load_compiled_function(io.BytesIO(path.read_bytes()))
            dynamo_fns.append(lambda x, table, _level=None, _f=fn, _b=block: _f(_b, x, table))
        res["dynamo_load_s"] = round(time.perf_counter() - t1, 2)
        res["dynamo_rss_added_mb"] = round(rss_mb() - rss1, 1)
        arms.append("dynamo")

    def use(arm: str) -> None:
        for i, (block, loader) in enumerate(zip(blocks, runners, strict=True)):
            if arm == "aoti":
                block.forward = lambda x, table, _level=None, _l=loader: _l.boxed_run([x, table])[0]
            elif arm == "dynamo":
                block.forward = dynamo_fns[i]
            else:
                block.forward = eager_forward.__get__(block)

    ratios: dict[str, list[float]] = {a: [] for a in arms[1:]}
    dist: dict[str, list[float]] = {a: [] for a in arms[1:]}
    times: dict[str, list[float]] = {a: [] for a in arms}
    for r in range(args.rounds):
        for k, req in enumerate(requests):
            out = {}
            shift = (r * len(requests) + k) % len(arms)
            for name in arms[shift:] + arms[:shift]:  # each arm first as often as the others
                use(name)
                torch.manual_seed(0)
                t = time.perf_counter()
                out[name] = backend.infer(req)
                times[name].append(time.perf_counter() - t)
            for a in arms[1:]:
                ratios[a].append(times[a][-1] / times["eager"][-1])
                if r == 0:
                    dist[a].append(round(mel_distance(out["eager"].audio, out[a].audio), 4))
                    if not (out["eager"].durations == out[a].durations).all():
                        raise RuntimeError(f"{a} changed the durations")
    res["rss_after_runs_mb"] = round(rss_mb())
    for a in arms[1:]:
        res[f"{a}_over_eager_median"] = round(statistics.median(ratios[a]), 3)
        res[f"{a}_ratios"] = [round(x, 3) for x in ratios[a]]
        res[f"{a}_log_mel_l1_vs_eager"] = dist[a]
    for a in arms:
        res[f"{a}_s_median"] = round(statistics.median(times[a]), 3)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
