"""Device probe: the decoder's convolutions at batch 1 on long chunks, per layout (random weights, eager).

    python3 scripts/device/probe_layouts.py OUT_DIR

The bench of 1567424 measured the channels-last decoder's acoustic graph at 99.8 ms for a 1,090-frame chunk
(conv kernels 93.5 ms), as slow as kokoro's eager fp32 reference, while batched passes and 128-frame
sentences got faster. This times the decoder alone (eager kernels, CUDA events) at 128 and 1152 frames, batch
1, and 64 x 128 frames: 1-D, channels-last, and channels-last with the few-channel convolutions kept 1-D
(`narrow_1d`), and lists the slowest kernels of the long case with their input shapes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from fasttts_desktop.bench.timing import gpu_ms
from fasttts_desktop.engine.synthesis.cuda.decoder import DecoderCore, example_inputs
from fasttts_desktop.engine.weights.model_build import build_model, remove_weight_norm


def timed(fn, reps: int = 5) -> float:
    fn()
    torch.cuda.synchronize()
    return round(gpu_ms(fn, reps), 2)


def main() -> None:
    out_dir = Path(sys.argv[1])
    dev = torch.device("cuda")
    torch.manual_seed(0)
    km = remove_weight_norm(build_model())
    results = {}
    with torch.inference_mode():
        for layout in ("ncl", "nhwc", "nhwc+narrow1d"):
            core = DecoderCore(
                km.decoder,
                torch.float16,
                ("source", "post"),
                channels_last=layout != "ncl",
                narrow_1d=layout == "nhwc+narrow1d",
            )
            core = core.to(dev).eval()
            for bench in (False,):
                torch.backends.cudnn.benchmark = bench
                row = {}
                for batch, frames in ((1, 128), (1, 1152), (64, 128)):
                    args = example_inputs(dev, batch, frames)
                    row[f"{batch}x{frames}"] = timed(lambda args=args, core=core: core(*args))
                results[f"{layout} benchmark={bench}"] = row
                print(layout, "cudnn.benchmark", bench, row, flush=True)
                args = example_inputs(dev, 1, 1152)
                core(*args)
                torch.cuda.synchronize()
                with profile(
                    activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA], record_shapes=True
                ) as prof:
                    core(*args)
                    torch.cuda.synchronize()
                ops = sorted(
                    (e for e in prof.key_averages(group_by_input_shape=True) if "cudnn_convolution" in e.key),
                    key=lambda e: -e.device_time_total,
                )[:6]
                kernels = [
                    [e.key, str(e.input_shapes)[:160], round(e.device_time_total / 1000, 2), e.count]
                    for e in ops
                ]
                results[f"{layout} benchmark={bench} top kernels 1x1152"] = kernels
                for k in kernels:
                    print("   ", k, flush=True)
            del core
            torch.cuda.empty_cache()
    (out_dir / "probe_layouts.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
