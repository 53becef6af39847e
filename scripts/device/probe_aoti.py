"""Device experiment: where a fresh process spends its warm start, and whether AOTInductor packages load.

    python scripts/device/probe_aoti.py        (on the GPU machine; see bench.sh for the setup)

1. A fresh process builds the backend (no compile) and reports a timestamp per step (kokoro import, model
   build, copy to the GPU, each graph capture).
2. AOTInductor load test on a tiny model (default config, and with embed_kernel_binary), each loaded in a
   fresh process under faulthandler: tells a setup-wide problem from one of our decoder.
3. If the tiny default crashes but embedding works (or the reverse), the decoder is built with the working
   config and loaded in a fresh process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

CHILD = """
import sys, time, torch
t0 = time.perf_counter()
torch.empty(1, device="cuda")
m = torch._inductor.aoti_load_package(sys.argv[1], run_single_threaded=True)
t1 = time.perf_counter()
x = torch.randn(3, 64, device="cuda") if sys.argv[2] == "tiny" else None
if x is not None:
    y = m(x)
else:
    from fasttts_desktop.engine.synthesis.cuda.decoder import example_inputs
    y = m(*example_inputs(torch.device("cuda"), batch=1, frames=40))
torch.cuda.synchronize()
print("LOADED", round(t1 - t0, 2), tuple(y.shape))
"""


def _load_in_child(path: Path, kind: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", CHILD, str(path), kind],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    out = proc.stdout + proc.stderr
    if "LOADED" in proc.stdout:
        return proc.stdout.strip().splitlines()[-1]
    where = [
        ln.strip() for ln in out.splitlines() if ln.strip().startswith(("File ", "Fatal", "Segmentation"))
    ]
    return f"exit {proc.returncode}: {' | '.join(where[-4:]) or out[-300:]}"


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(64, 256)
        self.b = torch.nn.Linear(256, 64)

    def forward(self, x):
        return self.b(torch.relu(self.a(x)))


def main() -> int:
    out: dict = {}
    tmp = Path(tempfile.mkdtemp())
    # 1. warm start steps (weights converted once, handed to the child as a torch file)
    from fasttts_desktop.bench.inputs import kokoro_without_g2p

    kokoro_without_g2p()
    from fasttts_desktop.engine.weights.store import load_weights

    w = load_weights(use_hub=False)
    torch.save({"state_dict": w.state_dict, "fingerprint": w.fingerprint}, tmp / "w.pt")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fasttts_desktop.bench",
            "--warm-child",
            "--weights-file",
            str(tmp / "w.pt"),
            "--compile",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=200,
        check=False,
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WARM ")), None)
    out["warm_steps"] = json.loads(line[5:]) if line else proc.stdout[-500:] + proc.stderr[-1500:]
    print("warm start:", json.dumps(out["warm_steps"])[:1500], flush=True)
    # 2. tiny packages
    dev = torch.device("cuda")
    b = torch.export.Dim("b", min=1, max=64)
    ep = torch.export.export(Tiny().to(dev), (torch.randn(4, 64, device=dev),), dynamic_shapes={"x": {0: b}})
    for name, cfg in [("default", {}), ("embed", {"aot_inductor.embed_kernel_binary": True})]:
        t0 = time.perf_counter()
        path = tmp / f"tiny-{name}.pt2"
        torch._inductor.aoti_compile_and_package(ep, package_path=str(path), inductor_configs=cfg)
        out[f"tiny_{name}"] = {
            "build_s": round(time.perf_counter() - t0, 1),
            "fresh_load": _load_in_child(path, "tiny"),
        }
        print(f"tiny {name}:", out[f"tiny_{name}"], flush=True)
    # 3. the decoder with the config that loads (random weights: only loading is tested)
    good = [n for n in ("embed", "default") if out[f"tiny_{n}"]["fresh_load"].startswith("LOADED")]
    if good and good != ["default"]:
        from fasttts_desktop.engine.synthesis.cuda import aoti
        from fasttts_desktop.engine.synthesis.cuda.decoder import DecoderCore
        from fasttts_desktop.engine.weights.model_build import build_kmodel, remove_weight_norm

        core = DecoderCore(remove_weight_norm(build_kmodel()).decoder, torch.float16).to(dev).eval()
        ep = aoti.export_decoder(core, dev)
        t0 = time.perf_counter()
        path = tmp / "decoder-embed.pt2"
        torch._inductor.aoti_compile_and_package(
            ep,
            package_path=str(path),
            inductor_configs={**aoti.INDUCTOR_CONFIGS, "aot_inductor.embed_kernel_binary": True},
        )
        out["decoder_embed"] = {
            "build_s": round(time.perf_counter() - t0, 1),
            "fresh_load": _load_in_child(path, "decoder"),
        }
        print("decoder embed:", out["decoder_embed"], flush=True)
    Path(os.environ.get("OUT", tmp), "probe_aoti.json").write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
