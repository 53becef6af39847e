"""CPU start-up of one or more checkouts, alternating run by run (not shipped): process start to ready
(`Engine.load` on CPU returned: weights read, model built and warmed, English front end built), RSS when
ready, the CPU seconds the process spent until then (all its threads: steadier than the wall clock on a
shared machine), the whole `say "Hello."` process, and its import time (`python -X importtime`, all
modules summed).

Each checkout is a folder holding `fasttts_desktop` (a git worktree, or `git archive | tar -x`); each
measurement is a fresh process with that folder first on the path and the offline weights already
converted in FASTTTS_CACHE_DIR. Medians over the rounds go to --out (JSON), for docs/benchmarks/.

With `--peer-python` (an interpreter with kokoro-onnx installed, e.g. /work/cache/onnxvenv/bin/python),
kokoro-onnx takes its turn in every round on the same int8 graph: process start to `Kokoro(model, voices)`
returned, and RSS then. With `--long`, every side also reads the bench's long text (phonemes.json, ~2.5 min
of audio) twice after it is ready, and RSS / peak RSS are read after each pass: ours through
`Engine.stream`, kokoro-onnx through `create()` on the same phonemes. Each run records the 1-minute load
average and the other processes' CPU use beside it (a quiet run: others well under one core).

    python3 -m experiments.cpu_startup /tmp/base . --rounds 5 --out startup.json \
        --peer-python /work/cache/onnxvenv/bin/python --long
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


def _memory() -> dict[str, float]:
    status = Path("/proc/self/status").read_text()
    kb = {
        k: int(v) for k, v in re.findall(r"^(VmRSS|VmHWM|RssAnon|RssFile):\s+(\d+) kB", status, re.MULTILINE)
    }
    return {
        "rss_mb": kb["VmRSS"] / 1024,
        "peak_rss_mb": kb["VmHWM"] / 1024,
        "rss_anon_mb": kb["RssAnon"] / 1024,
    }


def _child(long: bool) -> None:
    """Load the engine as `say` does, then print ready time (epoch seconds) and memory (JSON); with `long`,
    read the long text twice and add memory after each pass."""
    from fasttts_desktop.engine.synthesis.cpu.threads import configure_process

    configure_process()
    from fasttts_desktop.engine import Engine

    engine = Engine.load(device="cpu", use_hub=False)
    out: dict = {"ready": time.time(), "cpu": time.process_time(), **_memory()}
    if long:
        from fasttts_desktop import bench

        chunks = json.loads((Path(bench.__file__).parent / "phonemes.json").read_text(encoding="utf-8"))
        text = " ".join(c["text"] for c in chunks["long"])
        for n in (1, 2):
            for _ in engine.stream(text):
                pass
            mem = _memory()
            out[f"after_long_{n}_rss_mb"], out[f"after_long_{n}_peak_mb"] = mem["rss_mb"], mem["peak_rss_mb"]
    print(json.dumps(out))


def _window_child() -> None:
    """The app's window as `fasttts-desktop --device cpu --offline` makes it: times (epoch seconds) when
    `show()` and a pass of events returned, when the display exposed it, and when the engine was ready."""
    from fasttts_desktop.engine.synthesis.cpu.threads import configure_process

    configure_process()
    from PySide6.QtCore import QEventLoop, QSettings
    from PySide6.QtWidgets import QApplication

    from fasttts_desktop.ui.app import create_window, engine_loader, parse_args

    app = QApplication([sys.argv[0]])
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "bench.ini"), QSettings.Format.IniFormat)
    window = create_window(engine_loader(parse_args(["--device", "cpu", "--offline"])), settings)
    window.show()
    app.processEvents()
    out: dict = {"shown": time.time()}
    deadline = time.time() + 30
    while not (window.windowHandle() and window.windowHandle().isExposed()) and time.time() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
    out["exposed"], out["torch_before_exposed"] = time.time(), "torch" in sys.modules
    out["cpu_exposed"] = time.process_time()
    window.service.ready.connect(lambda _info: app.quit())
    window.service.load_failed.connect(lambda _message: app.quit())
    app.exec()
    out["ready"] = time.time()
    print(json.dumps(out), flush=True)
    os._exit(0)  # the engine and audio threads need not wind down for a measurement


def _peer_child(model: str, voices: str, long: str) -> None:
    """kokoro-onnx's start: `Kokoro(model, voices)` (its own session options), as the ready mark; with a
    phoneme string file, `create()` on it twice. Imports nothing of this project (its own interpreter)."""
    from kokoro_onnx import Kokoro

    k = Kokoro(model, voices)
    out: dict = {"ready": time.time(), **_memory()}
    if long:
        phonemes = Path(long).read_text(encoding="utf-8")
        voice = next(iter(k.get_voices()))
        for n in (1, 2):
            k.create(phonemes, voice, 1.0, is_phonemes=True)
            mem = _memory()
            out[f"after_long_{n}_rss_mb"], out[f"after_long_{n}_peak_mb"] = mem["rss_mb"], mem["peak_rss_mb"]
    print(json.dumps(out))


def _env(checkout: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(checkout), FASTTTS_OFFLINE="1")


def _stat_busy() -> float:
    """Busy CPU seconds of the whole machine so far (all cores: user, nice, system, irq, softirq)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6]) / os.sysconf("SC_CLK_TCK")


def _timed_child(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[dict, float, dict[str, float]]:
    """Run a child that prints one JSON line: (its line, when it started, how busy the machine was)."""
    load, busy0, kids0 = os.getloadavg()[0], _stat_busy(), os.times()
    start = time.time()
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed: {r.stderr[-2000:]}")
    wall, kids = time.time() - start, os.times()
    ours = kids.children_user + kids.children_system - kids0.children_user - kids0.children_system
    machine = {"loadavg_1min": load, "others_cores": max(0.0, (_stat_busy() - busy0 - ours) / wall)}
    return json.loads(r.stdout.strip().splitlines()[-1]), start, machine


def _row(got: dict, start: float, machine: dict[str, float]) -> dict[str, float]:
    row = {
        "start_to_ready_s": got["ready"] - start,
        "cpu_to_ready_s": got.get("cpu", float("nan")),
        "rss_ready_mb": got["rss_mb"],
        "rss_anon_ready_mb": got["rss_anon_mb"],
        "peak_rss_mb": got["peak_rss_mb"],
    }
    row.update({k: v for k, v in got.items() if k.startswith("after_long")})
    return row | machine


def _window(checkout: Path) -> dict[str, float]:
    cmd = [sys.executable, str(_SELF), "--window-child"]
    got, start, machine = _timed_child(cmd, checkout, _env(checkout))
    return {
        "window_shown_s": got["shown"] - start,
        "window_exposed_s": got["exposed"] - start,
        "window_cpu_exposed_s": got["cpu_exposed"],
        "window_ready_s": got["ready"] - start,
        "torch_before_exposed": float(got["torch_before_exposed"]),
    } | {f"window_{k}": v for k, v in machine.items()}


def _ready(checkout: Path, long: bool) -> dict[str, float]:
    cmd = [sys.executable, str(_SELF), "--child", *(["--long"] if long else [])]
    return _row(*_timed_child(cmd, checkout, _env(checkout)))


def _peer(python: str, files: tuple[Path, Path, Path], long: bool) -> dict[str, float]:
    model, voices, phonemes = files
    cmd = [python, str(_SELF), "--peer-child", str(model), str(voices), str(phonemes) if long else ""]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OMP_WAIT_POLICY")}
    return _row(*_timed_child(cmd, Path(tempfile.gettempdir()), env))


def _peer_files(folder: Path) -> tuple[Path, Path, Path]:
    """The int8 graph, the jm_kumo voice and the long text's phonemes, for kokoro-onnx."""
    import numpy as np

    from fasttts_desktop import bench
    from fasttts_desktop.engine.weights.store import read_offline_onnx
    from fasttts_desktop.engine.weights.voices import offline_voices

    model, voices, phonemes = folder / "kokoro-int8.onnx", folder / "voices.npz", folder / "long.txt"
    model.write_bytes(read_offline_onnx())
    np.savez(voices, jm_kumo=offline_voices()["jm_kumo"].numpy())
    chunks = json.loads((Path(bench.__file__).parent / "phonemes.json").read_text(encoding="utf-8"))
    phonemes.write_text(" ".join(c["phonemes"] for c in chunks["long"]), encoding="utf-8")
    return model, voices, phonemes


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
    parser.add_argument("--peer-python", help="an interpreter with kokoro-onnx: its start-up beside ours")
    parser.add_argument("--long", action="store_true", help="also read the long text twice (memory)")
    parser.add_argument("--no-say", action="store_true", help="skip the `say` process and its import times")
    parser.add_argument(
        "--window", action="store_true", help="also the window (on $DISPLAY with QT_QPA_PLATFORM=xcb: Xvfb)"
    )
    parser.add_argument("--no-ready", action="store_true", help="skip the engine-only start-up child")
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {str(c): [] for c in args.checkouts}
    if args.peer_python:
        runs["kokoro-onnx"] = []
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        files = _peer_files(Path(tmp)) if args.peer_python else None
        for n in range(args.rounds):
            for checkout in args.checkouts:  # alternating: a busy spell of the machine hits all alike
                row = {} if args.no_ready else _ready(checkout.resolve(), args.long)
                if args.window:
                    row |= _window(checkout.resolve())
                if not args.no_say:
                    row |= _say(checkout.resolve(), Path(tmp) / "x.wav")
                runs[str(checkout)].append(row)
                print(n, checkout, {k: round(v, 3) for k, v in row.items()}, flush=True)
            if args.peer_python and files is not None:
                row = _peer(args.peer_python, files, args.long)
                runs["kokoro-onnx"].append(row)
                print(n, "kokoro-onnx", {k: round(v, 3) for k, v in row.items()}, flush=True)
            load.append(os.getloadavg()[0])
    result = {
        "cpu": _cpu(),
        "versions": _versions(),
        "rounds": args.rounds,
        "loadavg_1min": load,
        "checkouts": {
            c: {
                "commit": "kokoro-onnx" if c == "kokoro-onnx" else _commit(Path(c)),
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
    if sys.argv[1:2] == ["--child"]:
        _child(long="--long" in sys.argv)
    elif sys.argv[1:2] == ["--window-child"]:
        _window_child()
    elif sys.argv[1:2] == ["--peer-child"]:
        _peer_child(*sys.argv[2:5])
    else:
        main()
