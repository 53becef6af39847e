"""The decoder as an AOTInductor package: compiled once, loaded by later launches in about a second.

`torch.compile`'s own caches still re-trace in a fresh process (44 s measured for kokoro's decoder), so the
warm start loads a package instead: `torch.export` of `DecoderCore` with a dynamic batch and a dynamic
frame count (har's length is derived: 120 F + 1), compiled by AOTInductor.

An earlier package of kokoro's generator segfaulted when a fresh process loaded it. kokoro's modules put
CPU tensors into the graph (`torch.tensor(2)` in AdainResBlk1d, the STFT window kept as a plain attribute),
and AOTInductor packages that mix CPU constants into a CUDA model are a known crash (pytorch#190000).
`DecoderCore` keeps every constant on the model's device, `export_decoder` refuses a graph that does not,
and a new package is loaded and run once in a separate process before the app ever loads it itself.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.export import Dim

from fasttts_desktop.engine.synthesis.cuda.decoder import example_inputs

log = logging.getLogger(__name__)

INDUCTOR_CONFIGS = {
    # no autotuning: build time stays near a minute and the decoder is launch-bound at batch 1 anyway
    "max_autotune": False,
}
MAX_FRAMES = 16384


def export_decoder(core: torch.nn.Module, device: torch.device):
    b = Dim("batch", min=1, max=1024)
    f = Dim("frames", min=8, max=MAX_FRAMES)
    shapes = {
        "asr": {0: b, 2: f},
        "f0_curve": {0: b, 1: 2 * f},
        "n_curve": {0: b, 1: 2 * f},
        "style": {0: b},
        "har": {0: b, 2: 120 * f + 1},
        "frames": {0: b},
    }
    with torch.no_grad():
        ep = torch.export.export(core, example_inputs(device), dynamic_shapes=shapes, strict=False)
    foreign = [
        name
        for name, t in [*ep.state_dict.items(), *ep.constants.items()]
        if isinstance(t, torch.Tensor) and t.device.type != device.type
    ]
    if foreign:
        raise RuntimeError(f"exported decoder holds tensors on another device: {foreign[:5]}")
    return ep


def build_package(core: torch.nn.Module, device: torch.device, path: Path) -> None:
    t0 = time.perf_counter()
    ep = export_decoder(core, device)
    t1 = time.perf_counter()
    torch._inductor.aoti_compile_and_package(ep, package_path=str(path), inductor_configs=INDUCTOR_CONFIGS)
    log.info("decoder package: export %.1f s, AOTInductor %.1f s", t1 - t0, time.perf_counter() - t1)


LOAD_MODES = ("single-threaded", "threaded")


def load_package(path: Path, mode: str = "single-threaded"):
    # single-threaded: no locking inside the runner, which suits CUDA graph capture
    return torch._inductor.aoti_load_package(str(path), run_single_threaded=mode == "single-threaded")


def check_in_subprocess(path: Path, timeout_s: float = 300.0) -> tuple[str | None, str]:
    """Load and run the package in a fresh interpreter, as the app would (CUDA already initialised).

    Returns the first load mode that works (None if none does) and what was seen. A crash there
    costs nothing here; faulthandler names the Python line it happened under.
    """
    seen = []
    for mode in LOAD_MODES:
        cmd = [
            sys.executable,
            "-X",
            "faulthandler",
            "-m",
            "fasttts_desktop.engine.synthesis.cuda.aoti",
            "--check",
            str(path),
            "--mode",
            mode,
        ]
        try:
            # this interpreter running this module: nothing from outside goes into the command
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)  # noqa: S603
        except subprocess.TimeoutExpired:
            seen.append(f"{mode}: timed out")
            continue
        out = proc.stdout + proc.stderr
        if proc.returncode == 0 and "package ok" in proc.stdout:
            seen.append(f"{mode}: {proc.stdout.strip().splitlines()[-1]}")
            return mode, "; ".join(seen)
        where = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("File ")][-4:]
        seen.append(f"{mode}: exit {proc.returncode} at {' <- '.join(reversed(where)) or out.strip()[-300:]}")
        log.warning("compiled decoder check (%s) failed: %s", mode, seen[-1])
    return None, "; ".join(seen)


def _main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", type=Path, required=True)
    parser.add_argument("--mode", default=LOAD_MODES[0], choices=LOAD_MODES)
    args = parser.parse_args(argv)
    device = torch.device("cuda")
    torch.empty(1, device=device)  # the app has its model on the GPU before it loads the package
    t0 = time.perf_counter()
    model = load_package(args.check, args.mode)
    t1 = time.perf_counter()
    out = model(*example_inputs(device, batch=1, frames=40))
    torch.cuda.synchronize()
    if not torch.isfinite(out[..., : 120 * 40 + 1]).all():
        print("package gives non-finite output")  # noqa: T201 - the check's answer to its parent process
        return 1
    print(f"package ok: load {t1 - t0:.2f} s, first run {time.perf_counter() - t1:.2f} s")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
