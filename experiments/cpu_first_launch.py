"""Issue 19: what a first launch's speech gets while the compile child (cpu_compile_child.py) builds the
vocoder blocks: `fasttts-desktop say` of a long text, each chunk's compute time over its audio seconds
(real-time factor; above 1 a reading would fall behind), the peak RSS of the app and of the child (and of
the largest compiler process it ran).

    python3 -m experiments.cpu_first_launch OUT.json [--compile-cache DIR] [--repeat 2] [--eager]

`--compile-cache`: the folder for the packages (default: a new empty one, i.e. a first launch).
`--eager`: FASTTTS_CPU_COMPILE=0, the same say without the blocks (the baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path


def _status(pid: int | str, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        pass
    return 0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--compile-cache")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--eager", action="store_true")
    p.add_argument("--voice", default="jm_kumo")
    args = p.parse_args()
    folder = args.compile_cache or tempfile.mkdtemp(prefix="fasttts-first-launch-")
    os.environ["FASTTTS_COMPILE_CACHE"] = folder
    os.environ["FASTTTS_CPU_COMPILE"] = "0" if args.eager else "1"
    work = Path(tempfile.mkdtemp(prefix="fasttts-say-"))
    text = work / "text.txt"
    from fasttts_desktop.bench.inputs import data_text

    text.write_text("\n\n".join([data_text("long_text.txt")] * args.repeat), encoding="utf-8")

    from fasttts_desktop.cli import main as cli_main
    from fasttts_desktop.engine.synthesis.cpu.backend import CpuBackend

    chunks: list[dict] = []
    backends: list[CpuBackend] = []
    real_infer = CpuBackend.infer
    t_start = time.perf_counter()

    def timed_infer(self, request, cancel=None):
        if not backends:
            backends.append(self)
        t = time.perf_counter()
        out = real_infer(self, request, cancel)
        seconds = time.perf_counter() - t
        audio_s = len(out.audio) / 24_000
        chunks.append(
            {
                "at_s": round(t - t_start, 1),
                "compute_s": round(seconds, 3),
                "audio_s": round(audio_s, 2),
                "rtf": round(seconds / audio_s, 3),
                "blocks": self.compiled,
                "child_running": bool(
                    self.compiler and self.compiler.child and self.compiler.child.poll() is None
                ),
            }
        )
        return out

    CpuBackend.infer = timed_infer  # type: ignore[method-assign]
    peaks = {"child_mb": 0, "compiler_mb": 0}
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.2):
            comp = backends[0].compiler if backends else None
            child = comp.child if comp else None
            if child is None:
                continue
            peaks["child_mb"] = max(peaks["child_mb"], _status(child.pid, "VmHWM"))
            for d in Path("/proc").iterdir():  # the compilers it runs share its process group
                if d.name.isdigit() and d.name != str(child.pid):
                    try:
                        if os.getpgid(int(d.name)) == child.pid:
                            peaks["compiler_mb"] = max(peaks["compiler_mb"], _status(d.name, "VmRSS"))
                    except OSError:
                        pass

    threading.Thread(target=watch, daemon=True).start()
    code = cli_main(["say", "-f", str(text), "-o", str(work / "out.wav"), "--voice", args.voice])
    done.set()
    comp = backends[0].compiler if backends else None
    rtfs = [c["rtf"] for c in chunks]
    later = [c["rtf"] for c in chunks[1:]]
    res = {
        "exit_code": code,
        "load_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "eager": args.eager,
        "chunks": len(chunks),
        "audio_s": round(sum(c["audio_s"] for c in chunks), 1),
        "compute_s": round(sum(c["compute_s"] for c in chunks), 1),
        "rtf_worst": max(rtfs),
        "rtf_worst_after_first": max(later) if later else None,
        "rtf_median": statistics.median(rtfs),
        "chunks_while_child_ran": sum(c["child_running"] for c in chunks),
        "rtf_worst_while_child_ran": max((c["rtf"] for c in chunks if c["child_running"]), default=None),
        "app_peak_rss_mb": _status("self", "VmHWM"),
        "child_peak_rss_mb": peaks["child_mb"],
        "compiler_peak_rss_mb": peaks["compiler_mb"],
        "blocks_at_end": backends[0].compiled if backends else None,
        "child_exit": comp.child.poll() if comp and comp.child else None,
        "failure": comp.failure if comp else "",
        "per_chunk": chunks,
    }
    Path(args.out).write_text(json.dumps(res, indent=1))
    print(json.dumps({k: v for k, v in res.items() if k != "per_chunk"}, indent=1))


if __name__ == "__main__":
    main()
