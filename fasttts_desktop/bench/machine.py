"""What decides CPU timings besides the code: the CPU and its flags, the threads each side runs, and how
busy the machine was while it was measured (load average, other processes' CPU, hypervisor steal).

The parsers take the text of /proc files so that they can be tested on any machine; the readers feed them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

# x86 flags that pick oneDNN's / MLAS's kernels: bf16 convolutions (ours), int8 GEMMs (onnxruntime)
KERNEL_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "avx_vnni",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
)
# settings that change how torch's OpenMP / oneDNN threads behave
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OMP_WAIT_POLICY",
    "GOMP_SPINCOUNT",
    "KMP_BLOCKTIME",
    "MKL_NUM_THREADS",
    "ONEDNN_PRIMITIVE_CACHE_CAPACITY",
)


def parse_cpuinfo(text: str) -> dict:
    """Model, family/model numbers, cores and hardware threads, and the kernel-selecting flags."""
    first: dict[str, str] = {}
    processors = 0
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip()
        if key == "processor":
            processors += 1
        first.setdefault(key, value.strip())
    flags = set(first.get("flags", "").split())
    siblings, cores = (
        int(first.get("siblings", processors or 1)),
        int(first.get("cpu cores", processors or 1)),
    )
    return {
        "model_name": first.get("model name", ""),
        "family_model": f"{first.get('cpu family', '?')}/{first.get('model', '?')}",
        "logical": processors,
        "threads_per_core": siblings // max(1, cores),
        "hypervisor": "hypervisor" in flags,
        "mhz": float(first["cpu MHz"]) if "cpu MHz" in first else None,
        "flags": [f for f in KERNEL_FLAGS if f in flags],
    }


def parse_stat_cpu(text: str) -> tuple[int, int, int]:
    """(busy, idle, steal) jiffies of all CPUs from /proc/stat's first line; steal is what the hypervisor
    gave to other guests while this one wanted to run."""
    fields = [int(v) for v in text.splitlines()[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq, idle + iowait, steal


def parse_pid_cpu(text: str) -> int:
    """utime + stime jiffies from /proc/PID/stat (the command name may hold spaces: split after it)."""
    after = text.rsplit(")", 1)[1].split()
    return int(after[11]) + int(after[12])


def _read(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def cpu() -> dict:
    try:
        return parse_cpuinfo(_read("/proc/cpuinfo"))
    except OSError:  # not Linux: only what os knows
        return {"logical": os.cpu_count(), "flags": []}


def ours_settings() -> dict:
    """torch's thread pools and CPU dispatch as this process runs them (call after the engine loaded)."""
    import torch

    return {
        "torch": torch.__version__,
        "intra_op_threads": torch.get_num_threads(),
        "inter_op_threads": torch.get_num_interop_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        # ATen's backend (OpenMP), its version, MKL's and oneDNN's builds, each pool's size
        "parallel_info": [
            line.strip() for line in torch.__config__.parallel_info().splitlines() if line.strip()
        ],
        "env": {k: os.environ.get(k) for k in THREAD_ENV},
    }


@dataclass
class Usage:
    """How busy the machine was over a stretch of measurement, and how much of it was not us."""

    wall_s: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    busy_cores: float  # all processes, averaged over the stretch
    ours_cores: float  # this process and the given children
    steal_cores: float

    @property
    def others_cores(self) -> float:
        return max(0.0, self.busy_cores - self.ours_cores)

    def as_dict(self) -> dict:
        return {
            "wall_s": round(self.wall_s, 2),
            "loadavg_before": [round(v, 2) for v in self.load_before],
            "loadavg_after": [round(v, 2) for v in self.load_after],
            "busy_cores": round(self.busy_cores, 2),
            "ours_cores": round(self.ours_cores, 2),
            "others_cores": round(self.others_cores, 2),
            "steal_cores": round(self.steal_cores, 3),
        }

    def line(self) -> str:
        return (
            f"load average {self.load_before[0]:.2f} -> {self.load_after[0]:.2f}; over {self.wall_s:.0f} s "
            f"the bench used {self.ours_cores:.2f} cores, other processes {self.others_cores:.2f}, "
            f"hypervisor steal {self.steal_cores:.3f}"
        )


class UsageMeter:
    """Samples /proc/stat and the bench's own processes at start and stop."""

    def __init__(self, child_pids: list[int]):
        self.child_pids = child_pids
        self.tick = os.sysconf("SC_CLK_TCK")

    def _ours(self) -> float:
        t = os.times()
        own = t.user + t.system
        for pid in self.child_pids:
            try:
                own += parse_pid_cpu(_read(f"/proc/{pid}/stat")) / self.tick
            except OSError:
                pass
        return own

    def __enter__(self) -> Self:
        self.load0 = os.getloadavg()
        self.stat0 = parse_stat_cpu(_read("/proc/stat"))
        self.ours0 = self._ours()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        wall = time.perf_counter() - self.t0
        busy, _, steal = parse_stat_cpu(_read("/proc/stat"))
        self.usage = Usage(
            wall_s=wall,
            load_before=self.load0,
            load_after=os.getloadavg(),
            busy_cores=(busy - self.stat0[0]) / self.tick / wall,
            ours_cores=(self._ours() - self.ours0) / wall,
            steal_cores=(steal - self.stat0[2]) / self.tick / wall,
        )
