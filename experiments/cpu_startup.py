"""CPU start-up of one or more checkouts, alternating run by run (not shipped): process start to ready
(`Engine.load` on CPU returned: weights read, model built and warmed, English front end built), RSS when
ready, the whole `say "Hello."` process, and its import time (`python -X importtime`, all modules summed).

Each checkout is a folder holding `fasttts_desktop` (a git worktree, or `git archive | tar -x`); each
measurement is a fresh process with that folder first on the path and the offline weights already
converted in FASTTTS_CACHE_DIR. Medians over the rounds go to --out (JSON), for docs/benchmarks/.

    python3 -m experiments.cpu_startup /tmp/base . --rounds 5 --out startup.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_SELF = Path(__file__).resolve()
_CPU = ("--device", "cpu")


def _child() -> None:
    """Load the engine as `say` does, then print ready time (epoch seconds) and memory (JSON)."""
    from fasttts_desktop.engine.synthesis.cpu.threads import configure_process

    configure_process()
    from fasttts_desktop.engine import Engine

    Engine.load(device="cpu", use_hub=False)
    ready = time.time()
    status = Path("/proc/self/status").read_text()
    kb = {k: int(v) for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.MULTILINE)}
    print(json.dumps({"ready": ready, "rss_mb": kb["VmRSS"] / 1024, "peak_rss_mb": kb["VmHWM"] / 1024}))


def _env(checkout: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(checkout), FASTTTS_OFFLINE="1")


def _ready(checkout: Path) -> dict[str, float]:
    start = time.time()
    r = subprocess.run(
        [sys.executable, str(_SELF), "--child"],
        cwd=checkout,
        env=_env(checkout),
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(r.stdout.strip().splitlines()[-1])
    return {
        "start_to_ready_s": got["ready"] - start,
        "rss_ready_mb": got["rss_mb"],
        "peak_rss_mb": got["peak_rss_mb"],
    }


def _say(checkout: Path, out: Path) -> dict[str, float]:
    start = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "fasttts_desktop", "say", "Hello.", "-o", str(out), *_CPU],
        cwd=checkout,
        env=_env(checkout),
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - start
    selfs = [int(m) for m in re.findall(r"^import time:\s+(\d+) \|", r.stderr, re.MULTILINE)]
    return {"say_process_s": wall, "import_time_s": sum(selfs) / 1e6, "modules_imported": len(selfs)}


def _commit(checkout: Path) -> str:
    r = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], check=False, cwd=checkout, capture_output=True, text=True
    )
    return r.stdout.strip() or checkout.name  # an archive: its folder is named for its commit


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("torch", "spacy", "misaki", "kokoro", "pyopenjtalk-plus", "onnxruntime"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


def _cpu() -> str:
    names = re.findall(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    return f"{names[0] if names else platform.processor()} ({os.cpu_count()} logical)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkouts", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {str(c): [] for c in args.checkouts}
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.rounds):
            for checkout in args.checkouts:  # alternating: a busy spell of the machine hits all alike
                row = _ready(checkout.resolve()) | _say(checkout.resolve(), Path(tmp) / "x.wav")
                runs[str(checkout)].append(row)
                print(n, checkout, {k: round(v, 3) for k, v in row.items()}, flush=True)
            load.append(os.getloadavg()[0])
    result = {
        "cpu": _cpu(),
        "versions": _versions(),
        "rounds": args.rounds,
        "loadavg_1min": load,
        "checkouts": {
            c: {
                "commit": _commit(Path(c)),
                "median": {k: round(statistics.median(r[k] for r in rows), 3) for k in rows[0]},
                "runs": rows,
            }
            for c, rows in runs.items()
        },
    }
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        _child()
    else:
        main()
