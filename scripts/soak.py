#!/usr/bin/env python3
"""Soak: many Speak/Pause/Skip/Stop cycles with the real engine; does memory stay flat?

Two modes:
- worker (default): the real SpeechService (engine thread, player) on a Qt event loop, driven the way the
  window drives it, with short texts. Pause/resume and skip (speak from a later sentence) are used when
  the service has them (`SpeechService.pause`/`resume`, `speak(..., start=)`); the report says which.
  Sound goes to whatever output PortAudio finds; `--null-sink` starts a PulseAudio null sink first (as the
  tests do), and with no device at all the player is silent and utterances end when synthesis does.
- `--engine-only`: no Qt at all, the engine alone (for the GPU: `--engine-only --device cuda`): each cycle
  reads the first chunk, then the first chunk from a later sentence ("skip"), and drops the rest ("stop").

RSS (and, on CUDA, allocated/reserved GPU memory) is sampled every `--sample-every` cycles after a warm-up
sample; growth over the last half of the run must stay under 2 %. One JSON report is written (`--out`).
Not a CI test: 1,000 cycles take tens of minutes on a CPU.
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TEXTS = [
    "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well. These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls. The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck. The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us. A large size in stockings is hard to sell.",
]
GROWTH_LIMIT = 0.02


def rss_mb() -> float:
    with Path("/proc/self/status").open(encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def gpu_mb() -> dict[str, float]:
    import torch

    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return {}
    return {
        "gpu_allocated_mb": torch.cuda.memory_allocated() / 2**20,
        "gpu_reserved_mb": torch.cuda.memory_reserved() / 2**20,
    }


def second_sentence(text: str) -> int:
    return text.index(". ") + 2


def sample(cycle: int, t0: float) -> dict:
    gc.collect()
    return {
        "cycle": cycle,
        "t_s": round(time.perf_counter() - t0, 1),
        "rss_mb": round(rss_mb(), 1),
        "threads": threading.active_count(),
        **{k: round(v, 1) for k, v in gpu_mb().items()},
    }


# --- the engine alone --------------------------------------------------------------------------------------


def soak_engine(engine, cycles: int, every: int, log) -> tuple[list[dict], dict]:
    t0 = time.perf_counter()
    samples = [sample(0, t0)]
    chunks = 0
    for cycle in range(1, cycles + 1):
        text = TEXTS[cycle % len(TEXTS)]
        for start in (0, second_sentence(text)):  # speak, then skip to the next sentence
            stream = engine.stream(text, start=start)
            chunks += len(next(stream).audio) > 0
            stream.close()  # stop: the rest is never made
        if cycle % every == 0:
            samples.append(sample(cycle, t0))
            log(samples[-1])
    return samples, {"pause": False, "skip": True, "mode": "engine-only", "done": {"first_chunks": chunks}}


# --- through the worker ------------------------------------------------------------------------------------


def soak_worker(load, cycles: int, every: int, log) -> tuple[list[dict], dict]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication

    from fasttts_desktop.worker.speech import SpeechService

    app = QCoreApplication.instance() or QCoreApplication([])
    service = SpeechService(lambda _progress: load())
    chunks: list[int] = []
    errors: list[str] = []
    service.chunk_played.connect(lambda request, _chunk: chunks.append(request))
    service.speech_error.connect(errors.append)
    service.crashed.connect(errors.append)
    can_pause = hasattr(service, "pause") and hasattr(service, "resume")
    can_skip = "start" in inspect.signature(service.speak).parameters

    def spin(until, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                return False
            app.processEvents()
            time.sleep(0.002)
        app.processEvents()
        return True

    service.start()
    if not spin(lambda: service.is_ready, 600):
        raise RuntimeError("the engine did not load")
    if hasattr(service.player, "probe"):
        service.player.probe()
    voice = service.engine_info.default_voice

    def speak(text: str, start: int = 0) -> int:
        if start and can_skip:
            return service.speak(text, voice, 1.0, start=start)
        return service.speak(text, voice, 1.0)

    def first_chunk(request: int) -> bool:
        return spin(lambda: request in chunks or not service.busy, 60)

    done = {"speaks": 0, "first_chunks": 0, "chunks": 0, "pauses": 0, "skips": 0, "stops": 0}
    t0 = time.perf_counter()
    samples = [sample(0, t0)]
    for cycle in range(1, cycles + 1):
        text = TEXTS[cycle % len(TEXTS)]
        kind = cycle % 4
        request = speak(text)
        done["speaks"] += 1
        if kind in (0, 2) and first_chunk(request) and request in chunks:
            done["first_chunks"] += 1
        if kind == 0 and can_pause:
            service.pause()
            spin(lambda: False, 0.02)
            service.resume()
            done["pauses"] += 1
        if kind in (0, 3):  # skip to the next sentence
            request = speak(text, second_sentence(text))
            done["skips"] += 1
            if kind == 0 and first_chunk(request) and request in chunks:
                done["first_chunks"] += 1
        service.stop()
        done["stops"] += 1
        spin(lambda: not service.busy, 10)
        done["chunks"] += len(chunks)
        chunks.clear()
        if cycle % every == 0:
            samples.append(sample(cycle, t0))
            log(samples[-1])
    service.shutdown()
    how = {"pause": can_pause, "skip": can_skip, "mode": "worker", "done": done, "errors": errors[:20]}
    return samples, how


# --- report ------------------------------------------------------------------------------------------------


def growth(samples: list[dict], key: str, cycles: int) -> dict[str, float] | None:
    """Growth of `key` over the last half of the run, three ways (RSS saw-tooths by a chunk's buffers, so
    two single samples can differ by a few percent either way): end against start, the least-squares trend
    over the half, and the peak of the half against the peak of the first half."""
    first = [s[key] for s in samples if 0 < s["cycle"] < cycles // 2 and key in s]
    half = [(s["cycle"], s[key]) for s in samples if s["cycle"] >= cycles // 2 and key in s]
    if len(half) < 2 or not half[0][1] or not first:
        return None
    n = len(half)
    mx = sum(c for c, _ in half) / n
    my = sum(v for _, v in half) / n
    slope = sum((c - mx) * (v - my) for c, v in half) / sum((c - mx) ** 2 for c, _ in half)
    span = half[-1][0] - half[0][0]
    start = my - slope * (mx - half[0][0])
    return {
        "endpoints": round((half[-1][1] - half[0][1]) / half[0][1], 4),
        "trend": round(slope * span / start, 4) if start else 0.0,
        "peak": round(max(v for _, v in half) / max(first) - 1, 4),
    }


def commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cycles", type=int, default=1000)
    p.add_argument("--sample-every", type=int, default=50)
    p.add_argument("--device", default="cpu")
    p.add_argument("--engine-only", action="store_true", help="no Qt: the engine alone (GPU soak)")
    p.add_argument("--null-sink", action="store_true", help="start a PulseAudio null sink to play into")
    p.add_argument("--out", type=Path, help="where to write the JSON report (default: docs/soak/...)")
    p.add_argument("--commit", default=None, help="what code this is, when the tree is not a git checkout")
    args = p.parse_args(argv)

    def log(s: dict) -> None:
        print(json.dumps(s), flush=True)

    sink = None
    if args.null_sink:
        sys.path.insert(0, str(REPO / "tests"))
        import tempfile

        from sound_sink import SoundSink, pulse_env

        sink = SoundSink(Path(tempfile.mkdtemp(prefix="soak-pulse-"))).start()
        os.environ.update(pulse_env(sink.root))

    from fasttts_desktop.engine import Engine

    t_load = time.perf_counter()
    engine = Engine.load(args.device, use_hub=False)
    load_s = time.perf_counter() - t_load
    try:
        if args.engine_only:
            samples, how = soak_engine(engine, args.cycles, args.sample_every, log)
        else:
            samples, how = soak_worker(lambda: engine, args.cycles, args.sample_every, log)
    finally:
        if sink is not None:
            sink.stop()
    import torch

    keys = ["rss_mb"] + [k for k in ("gpu_allocated_mb", "gpu_reserved_mb") if k in samples[-1]]
    growths = {k: growth(samples, k, args.cycles) for k in keys}
    # the trend and the peak decide; the endpoints are shown, being what "growth" says most plainly
    ok = all(
        g is not None and g["trend"] < GROWTH_LIMIT and g["peak"] < GROWTH_LIMIT for g in growths.values()
    )
    report = {
        "what": f"{args.cycles} Speak/Pause/Skip/Stop cycles, {how['mode']}",
        "ok": ok,
        "growth_last_half": growths,
        "limit": GROWTH_LIMIT,
        "uses": how,
        "engine": engine.description,
        "engine_load_s": round(load_s, 1),
        "device": args.device,
        "sound": "PulseAudio null sink" if sink else "default output (silent if none)",
        "machine": f"{platform.node()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "commit": args.commit or commit(),
        "date": time.strftime("%Y-%m-%d"),
        "samples": samples,
    }
    label = (args.commit or commit()).split()[0]
    out = (
        args.out
        or REPO / "docs" / "soak" / f"{time.strftime('%Y-%m-%d')}-{label}-{how['mode']}-{args.device}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"{'ok' if ok else 'FAILED'}: growth over the last half {report['growth_last_half']} -> {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
