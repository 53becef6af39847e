"""The child process that AOTInductor-compiles the CPU vocoder's residual blocks (synthesis/cpu/compiled.py
starts it). It lives here, beside engine.py and not in engine/synthesis/, because it loads the app's
weights as the engine does (engine/weights imports engine/synthesis).

    python -m fasttts_desktop.engine.cpu_compile_child FOLDER DIGEST DTYPE PARENT_PID

Out of the app's way: the lowest CPU priority (nice 19 and SCHED_IDLE, which its compiler processes
inherit), one compile thread, one torch thread; it dies with the app (Linux: the kernel signals it when the
app goes; elsewhere a watchdog sees the app gone within a second), and a lock file in the cache keeps a
second one from starting while it runs. Each block is torch.export'ed with its frame axis dynamic and
compiled into its own .pt2 package without its weights (the app hands it the model's own at load: nothing
copied). Finished packages go into FOLDER.partial one by one (each written whole), so a launch that ends
early (a short `say`) leaves its finished blocks to the next one; the last renames the folder to FOLDER,
whose existence means every block is there and checked.

Exit codes: 0 done, compiled.BUSY another child holds the lock, anything else a failure (its reason on
stderr).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path


def lowest_priority() -> None:
    """nice 19 and, on Linux, SCHED_IDLE: this process and the compilers it starts get a core only when
    nothing else wants it."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(19)
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def die_with(parent_pid: int) -> None:
    """End this process and its compilers when the app ends, however it ends."""

    def end_group(*_args: object) -> None:
        # the compilers are in this process's group (the app starts it in a process group of its own)
        with contextlib.suppress(OSError):
            os.killpg(os.getpgid(0), signal.SIGKILL)
        os._exit(1)

    signal.signal(signal.SIGTERM, end_group)
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM))

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        end_group()

    if os.getppid() != parent_pid:  # the app went before the line above
        end_group()
    threading.Thread(target=watch, name="watch-app", daemon=True).start()


def hold_lock(path: Path):
    """The open lock file, locked (released when this process ends, however it ends); None: taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def main(argv: list[str]) -> int:
    folder, digest, dtype_name, parent_pid = Path(argv[0]), argv[1], argv[2], int(argv[3])
    die_with(parent_pid)
    lowest_priority()
    from fasttts_desktop.engine.synthesis.cpu import compiled

    lock = hold_lock(compiled.lock_path(folder.parent))
    if lock is None:
        _tell("another launch is compiling the blocks")
        return compiled.BUSY
    if folder.is_dir():
        return 0
    import torch

    torch.set_num_threads(1)
    from torch._inductor import config as inductor_config

    inductor_config.compile_threads = 1  # no worker pool beside this process

    from fasttts_desktop.engine.synthesis.cpu.backend import CpuBackend
    from fasttts_desktop.engine.weights.store import load_weights

    dtype = getattr(torch, dtype_name)
    # the app's own model (its stored CPU form is memory-mapped: only the blocks' weights are read)
    backend = CpuBackend(weights=load_weights(use_hub=False, defer=True), dtype=dtype, compile_blocks=False)
    blocks = compiled.vocoder_blocks(backend.model)
    width = compiled.table_width(backend.model)
    if compiled.digest(blocks, dtype, width) != digest:
        _tell("the model's blocks are not the app's")
        return 2
    partial = folder.with_name(folder.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    for index, block in enumerate(blocks):
        target = partial / compiled.package_name(index)
        if target.is_file():
            continue
        t0 = time.perf_counter()
        part = partial / f".{os.getpid()}.{target.name}"  # AOTInductor wants a .pt2 name
        compile_block(block, width, part)
        runner = compiled.load_package(part, block)
        compiled.check(block, runner, width, compiled.CHILD_CHECK_FRAMES)
        part.replace(target)
        _tell(f"block {index} compiled in {time.perf_counter() - t0:.1f} s")
    try:
        partial.rename(folder)
    except OSError:
        if not folder.is_dir():
            raise
    return 0


def _tell(line: str) -> None:
    """A line for the log the app keeps of this process (its stderr); the app reads the last one."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def compile_block(block, width: int, path: Path) -> None:
    """torch.export the block (batch 1, the frame axis dynamic) and AOTInductor-compile it to `path`."""
    import torch

    from fasttts_desktop.engine.synthesis.cpu import compiled

    for module in block.modules():  # the app's Stop hooks run around the compiled code, not in it
        module._forward_hooks.clear()  # noqa: SLF001
    x, table = compiled.example(block, compiled.CHILD_CHECK_FRAMES[0], width)
    frames = torch.export.Dim("frames", min=compiled.MIN_FRAMES, max=compiled.MAX_FRAMES)
    with torch.no_grad():
        program = torch.export.export(
            compiled.BlockRun(block), (x, table), dynamic_shapes=({2: frames}, None)
        )
        torch._inductor.aoti_compile_and_package(  # noqa: SLF001 - torch's documented AOTInductor entry
            program,
            package_path=str(path),
            # the weights stay the model's: handed over at load, never copied into the package
            inductor_configs={"aot_inductor.package_constants_in_so": False},
        )


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as exc:  # noqa: BLE001 - the app reads the last line of stderr as the reason
        _tell(f"{type(exc).__name__}: {exc}"[:300].replace("\n", " "))
        sys.exit(1)
