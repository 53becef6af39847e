"""How the CPU path uses the machine's cores and memory: set before torch starts its thread pool.

- OpenMP threads wait passively (sleep) instead of spinning between parallel regions. Spinning wins a few
  percent on an idle machine, but beside a browser, a build or another model (the normal desktop case) the
  spinning threads steal the very cores the busy thread needs: measured 11x slower than quiet beside
  another PyTorch process, against ~2x with a fair share. Must be in the environment before libgomp loads,
  i.e. before `import torch`; a value the user set wins.
- One intra-op thread per core (the GUI thread is idle while speech is made), one inter-op thread.
- oneDNN keeps up to 1,024 compiled convolution primitives, one set per input length, each with its own
  buffers: RSS grew ~5-10 MB with every new chunk length (measured). 64 keeps the recent ones.
- glibc's malloc keeps freed large blocks in its heaps once its dynamic mmap threshold has grown, so after a
  long text the process holds gigabytes it no longer uses. A fixed threshold sends every large buffer
  (activations of a chunk) back to the system when it is freed: memory stays flat with the length read.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3  # glibc mallopt parameter numbers
_MMAP_THRESHOLD = 1 << 20


def configure_process() -> None:
    """Call before torch is imported (the app's entry points do); harmless, and partly too late, after."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64")
    if "torch" in sys.modules:
        log.debug("torch already imported: its OpenMP pool may already spin")
    _fix_malloc_threshold()


def _fix_malloc_threshold() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    except (OSError, AttributeError):  # not glibc (musl has no mallopt): nothing to tune
        pass


def release_free_memory() -> None:
    """Hand the heap's free pages back to the system (glibc): start-up leaves ~20 MB of temporaries there."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def physical_cores() -> int:
    """Cores, not hardware threads: two threads of one core share its vector units."""
    try:
        siblings = set()
        for cpu in Path("/sys/devices/system/cpu").iterdir():
            name = cpu.name
            path = cpu / "topology" / "thread_siblings_list"
            if name.startswith("cpu") and name[3:].isdigit() and path.exists():
                if os.sched_getaffinity(0) and int(name[3:]) not in os.sched_getaffinity(0):
                    continue
                siblings.add(path.read_text().strip())
        if siblings:
            return len(siblings)
    except (OSError, ValueError, AttributeError):
        pass
    return max(1, (os.cpu_count() or 2) // 2)


def configure_torch_threads(threads: int | None = None) -> int:
    """Size torch's pools (once per process, before the first model call); returns the intra-op count."""
    import torch

    n = threads or physical_cores()
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or inter-op work already ran: keep what is there
        pass
    return n
