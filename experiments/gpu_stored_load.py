"""How to get the GPU model's stored form (engine/cuda/build.py) into device memory fastest (not shipped).

Times, in one process on the page-cached file, best of `--repeat`:
- safetensors: `load_file(path, device="cuda:0")` (what build.py uses);
- mmap + copies: `load_file(path)` (views of the mapping), then one `.to(device)` per tensor;
- one copy: the whole file as one uint8 tensor to the device, then each tensor a device-side copy of its
  slice (one host-to-device transfer instead of ~500 small synchronous ones);
- frame: the model's modules made on the device over uninitialised memory (build.frame);
- whole: `stored.load_model` as a start runs it (metadata, tensors, frame, assignment).
A stored form is made first from random weights where `--path` names none.

Run from the repository root on a GPU machine (scripts/device/setup.sh for the lent one):
    python3 -m experiments.gpu_stored_load --out stored_load.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from fasttts_desktop.bench.timing import say


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        del out
        torch.cuda.empty_cache()
    return round(min(times), 4)


def _one_copy(path: Path, device: torch.device) -> dict[str, torch.Tensor]:
    blob = torch.from_file(str(path), shared=False, size=path.stat().st_size, dtype=torch.uint8).to(device)
    with path.open("rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
    dtypes = {"F16": torch.float16, "F32": torch.float32, "BF16": torch.bfloat16, "I64": torch.int64}
    out = {}
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        chunk = blob[8 + size + start : 8 + size + end]
        out[key] = chunk.view(dtypes[entry["dtype"]]).view(entry["shape"]).clone()
    return out


def main(argv: list[str] | None = None) -> int:
    import safetensors.torch

    from fasttts_desktop.bench import inputs
    from fasttts_desktop.engine.synthesis import stored
    from fasttts_desktop.engine.synthesis.cuda import build
    from fasttts_desktop.engine.synthesis.cuda.backend import Options

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--path", type=Path, help="a stored GPU model (default: one made from random weights)")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    inputs.kokoro_without_g2p()
    device = torch.device("cuda:0")
    options = Options()
    form = build.stored_form(options)
    torch.zeros(1, device=device)  # the context, outside every timing
    path = args.path
    if path is None:
        weights = inputs.load(random_weights=True)
        model = build.build_fast_model(weights.state_dict, device, options)
        path = Path(tempfile.mkdtemp()) / f"random-{form.name}.safetensors"
        stored.save_model(path, stored.model_tensors(model), form, "random")
        del model
    path.read_bytes()  # into the page cache: a warm start's case
    res = {
        "gpu": torch.cuda.get_device_name(device),
        "torch": torch.__version__,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "safetensors_s": _best(lambda: safetensors.torch.load_file(path, device="cuda:0"), args.repeat),
        "mmap_then_copies_s": _best(
            lambda: {k: v.to(device) for k, v in safetensors.torch.load_file(path).items()}, args.repeat
        ),
        "one_copy_s": _best(lambda: _one_copy(path, device), args.repeat),
        "frame_s": _best(lambda: build.frame(device, options), args.repeat),
        "whole_s": _best(
            lambda: stored.load_model(path, form, lambda: build.frame(device, options), device), args.repeat
        ),
    }
    say(f"stored GPU model load: {res}")
    if args.out:
        args.out.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
