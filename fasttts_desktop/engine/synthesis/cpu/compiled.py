"""The vocoder's residual blocks compiled ahead of time by AOTInductor (C++), built once out of the app's
way, loaded in milliseconds.

Why these and only these: a SnakeResBlock is six convolutions with an instance norm, Snake and casts around
each; eager, every one of those is a pass over the whole activation (memory-bound), Inductor fuses them
into one loop per step. Compiling the blocks alone was the fastest of the routes measured (~0.8x the eager
time of a whole chunk; docs/benchmarks/NOTES.md, issue 19), and it keeps the backend's Stop points: a
block's forward is compiled, its `Module.__call__` (where the cancel hooks run) is not.

Built once per model structure, dtype, CPU instruction set and torch version (the `digest`), by a child
process at the lowest CPU priority (engine/cpu_compile_child.py), started after the first chunk; it writes one
.pt2 package per block into the user cache. The packages hold code only: the model's own weights are handed to
them at load (no copy). Loading goes through torch's C++ package loader alone: no torch._dynamo or Inductor
import, ~20 ms and a few MB for all eight. Blocks run eager until their packages are loaded and checked
against eager (the hand-over happens between chunks), for inputs the packages were not built for, and for good
where no C++ compiler exists, the child fails (one log line), or a load once took the process down.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from fasttts_desktop.engine.synthesis.blocks import SnakeResBlock
from fasttts_desktop.engine.synthesis.styles import StyledNorm

if TYPE_CHECKING:
    from fasttts_desktop.engine.synthesis.model import KokoroModel

log = logging.getLogger(__name__)

BUSY = 75  # the compile child's exit code when another launch's child holds the lock (EX_TEMPFAIL)
FORMAT = 1  # bump when what the child builds changes: older packages are then not loaded
MIN_FRAMES, MAX_FRAMES = 64, 1 << 20  # the frame counts the packages take (the child exports this range)
LOAD_CHECK_FRAMES = (300,)  # the app's check of each loaded package with its real weights (milliseconds)
CHILD_CHECK_FRAMES = (300, 2_001, 12_001)  # short to long chunks at the blocks' rates (20 F and 120 F + 1)


def unavailable() -> str | None:
    """Why this process cannot have compiled blocks (None: it can): the torch build, or no C++ compiler."""
    aoti = getattr(torch._C, "_aoti", None)  # noqa: SLF001 - torch's C++ package loader
    if aoti is None or not hasattr(aoti, "AOTIModelPackageLoader"):
        return "this torch cannot load AOTInductor packages"
    cxx = os.environ.get("CXX") or "g++"
    if shutil.which(cxx) is None and shutil.which("c++") is None:
        return f"no C++ compiler ({cxx}) on the PATH"
    return None


def compile_root() -> Path:
    """<user cache>/compile, or FASTTTS_COMPILE_CACHE; under FASTTTS_CACHE_DIR where that is set."""
    override = os.environ.get("FASTTTS_COMPILE_CACHE")
    if override:
        return Path(override)
    from fasttts_desktop.engine.storage.paths import cache_dir_path

    return cache_dir_path() / "compile"


def lock_path(root: Path) -> Path:
    return root / "cpu-aoti.lock"


def package_name(index: int) -> str:
    return f"block{index}.pt2"


def vocoder_blocks(model: KokoroModel) -> list[SnakeResBlock]:
    gen = model.decoder.generator
    return [*gen.resblocks, *gen.noise_res]


def table_width(model: KokoroModel) -> int:
    """The width of the decoder's style table rows, which the blocks' norms read."""
    styles = model.decoder.styles
    if styles is None:
        raise RuntimeError("the model's styles are not folded")
    return int(styles.weight.shape[0])


def digest(blocks: list[SnakeResBlock], dtype: torch.dtype, width: int) -> str:
    """What the compiled code depends on: each block's shapes and dtypes and where its norms read the style
    table (the weights' values are not in it), the CPU's instruction set and the torch build."""
    parts = [f"format={FORMAT}", torch.__version__, torch.backends.cpu.get_cpu_capability(), str(dtype)]
    parts.append(f"table={width}")
    for block in blocks:
        for name, tensor in [*block.named_parameters(), *block.named_buffers()]:
            parts.append(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}")
        for name, module in block.named_modules():
            if isinstance(module, torch.nn.Conv1d):
                parts.append(f"{name}:{module.dilation}:{module.padding}")
            if isinstance(module, StyledNorm):
                parts.append(f"{name}:{module.offset}:{module.channels}:{module.norm.eps}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


class BlockRun(torch.nn.Module):
    """What gets exported: a block's batch-1 forward (the class's, not the instance's, which the hand-over
    replaces); its weights are found under `block.` in the package."""

    def __init__(self, block: SnakeResBlock):
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        return SnakeResBlock.forward(self.block, x, table)


def load_package(path: Path, block: SnakeResBlock):
    """The package's runner (torch's C++ loader: no Python compiler stack), given the block's own weights."""
    loader = torch._C._aoti.AOTIModelPackageLoader(str(path), "model", False, 1, -1)  # noqa: SLF001
    run = BlockRun(block)
    tensors = dict(run.named_parameters()) | dict(run.named_buffers())
    wanted = loader.get_constant_fqns()
    missing = [name for name in wanted if name not in tensors]
    if missing:
        raise RuntimeError(f"the package wants weights the block lacks: {missing[:3]}")
    # user-managed: the runner keeps pointers to the model's tensors (they live as long as the block)
    loader.load_constants({name: tensors[name] for name in wanted}, False, True, True)
    return loader


def example(block: SnakeResBlock, frames: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded input of `frames` frames, and a style table row of `width`."""
    g = torch.Generator().manual_seed(frames)
    x = torch.randn(1, _channels(block), frames, generator=g)
    table = torch.randn(1, width, generator=g) * 0.1
    return x, table


def check(block: SnakeResBlock, runner, width: int, frames: tuple[int, ...]) -> None:
    """The compiled block against the eager one: a stale or broken package fails here. bf16 blocks fused
    differently differ by their rounding (relative ~1e-2 at most)."""
    with torch.inference_mode():
        for n in frames:
            x, table = example(block, n, width)
            ref = SnakeResBlock.forward(block, x, table)
            out = runner.boxed_run([x, table])[0]
            err = float((out - ref).norm() / ref.norm())
            if not err < 2e-2:
                raise RuntimeError(f"the compiled block differs from eager (relative error {err:.3g})")


class CompiledBlock:
    """A block's forward over its package: the compiled code for the inputs it was built for (batch 1, no
    padding Level, float32, the frame range), the eager forward otherwise (and then not run: the AOTInductor
    runtime does not check shapes itself)."""

    def __init__(self, block: SnakeResBlock, runner, width: int):
        self.block, self.runner = block, runner
        self.channels, self.width = _channels(block), width
        self.misses = 0

    def __call__(self, x: torch.Tensor, table: torch.Tensor, level=None) -> torch.Tensor:
        if (
            level is None
            and x.dim() == 3
            and x.shape[0] == 1
            and x.shape[1] == self.channels
            and MIN_FRAMES <= x.shape[2] <= MAX_FRAMES
            and x.dtype == torch.float32
            and x.is_contiguous()
            and table.shape == (1, self.width)
            and table.dtype == torch.float32
            and table.is_contiguous()
            and x.device.type == "cpu"
        ):
            return self.runner.boxed_run([x, table])[0]
        self.misses += 1
        return SnakeResBlock.forward(self.block, x, table, level)


class BlockCompiler:
    """Loads the blocks' packages, or has a child process build them first, on a background thread; the
    hand-over is `apply()`, between chunks. `kind`: "eager" until handed over, then "loaded" (the packages
    were there) or "compiled" (the child built them in this launch); `failure` holds the one-line reason
    where it gave up."""

    def __init__(self, model: KokoroModel, dtype: torch.dtype):
        self.blocks = vocoder_blocks(model)
        self.width = table_width(model)
        self.dtype = dtype
        self.kind = "eager"
        self.failure = ""
        self.ready = 0  # blocks handed over
        self.child: subprocess.Popen | None = None
        self._pending: list | None = None
        self._pending_kind = ""
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._paused = False
        self._closing = False

    @property
    def folder(self) -> Path:
        return compile_root() / f"cpu-aoti-{digest(self.blocks, self.dtype, self.width)}"

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fasttts-cpu-compile", daemon=True)
                self._thread.start()
                atexit.register(self._close)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Start if not started, wait, hand over; True when every block runs compiled. Callers call it
        between chunks."""
        self.start()
        if self._thread is not None:
            self._thread.join(timeout)
        self.apply()
        return self.ready == len(self.blocks)

    def pause(self) -> None:
        """Freeze the compile child and its compilers while a chunk is made (SIGSTOP to its group): even at
        SCHED_IDLE it shares the caches and memory bandwidth, and slowed the app's chunks 1.37x (paired,
        docs/benchmarks/NOTES.md); frozen, it costs them nothing and compiles in the gaps between chunks
        (while audio plays) and when the app is idle. A frozen group never outlives the app: `_end` kills
        it at exit, and if the app dies the kernel wakes and hangs up an orphaned group with stopped
        members (SIGCONT, SIGHUP), which is why it is a process group in the app's session, not a
        session of its own."""
        with self._lock:
            self._paused = True
            self._signal_child(signal.SIGSTOP)

    def resume(self) -> None:
        """Let the frozen compile child run again (after a chunk)."""
        with self._lock:
            self._paused = False
            self._signal_child(signal.SIGCONT)

    def _signal_child(self, sig: int) -> None:
        """Under `_lock`: the child's whole group, where it runs."""
        child = self.child
        if child is not None and child.poll() is None:
            with contextlib.suppress(OSError, AttributeError):  # no process groups on Windows
                os.killpg(child.pid, sig)

    def apply(self) -> None:
        """Hand the loaded packages to the blocks (between chunks: a chunk runs one kind throughout)."""
        with self._lock:
            runners, self._pending = self._pending, None
        if not runners:
            return
        for block, runner in zip(self.blocks, runners, strict=True):
            block.forward = CompiledBlock(block, runner, self.width)  # type: ignore[method-assign] # the hand-over
        self.ready = len(runners)
        self.kind = self._pending_kind

    def _close(self) -> None:
        """At exit, before the interpreter finalizes: end the child and let the thread finish the block it
        is loading. A daemon thread still inside torch's C++ loader when Python shuts down is ended with
        pthread_exit as it takes the GIL back, and the forced unwind through the loader's C++ frames calls
        std::terminate: `say` exited with SIGABRT after writing its file whenever it ended before the
        packages had loaded."""
        self._closing = True
        with self._lock:
            child = self.child
        if child is not None:
            _end(child)
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            reason = unavailable()
            if reason:
                raise RuntimeError(reason)
            folder = self.folder
            kind = "loaded"
            if not folder.is_dir():
                self._build(folder)
                kind = "compiled"
            runners = self._load(folder)
            if not runners:  # the app is closing
                return
            with self._lock:
                self._pending, self._pending_kind = runners, kind
            log.info("CPU vocoder blocks %s from %s", kind, folder)
        except Exception as exc:  # noqa: BLE001 - any failure: speech goes on eager
            self.failure = f"{type(exc).__name__}: {exc}"[:300]
            log.info("CPU vocoder stays eager: %s", self.failure)

    def _build(self, folder: Path) -> None:
        """Run the child to completion (it dies with this process; see engine/cpu_compile_child.py)."""
        failed = folder.with_name(folder.name + ".failed")
        if failed.is_file():
            raise RuntimeError(f"an earlier compile failed ({failed.read_text().strip()}); remove {failed}")
        folder.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        # Inductor's own files beside the packages (torch's default is in /tmp), unless the user chose
        env.setdefault("TORCHINDUCTOR_CACHE_DIR", str(folder.parent / "inductor-cpu"))
        env["OMP_NUM_THREADS"] = "1"
        args = [folder.name.removeprefix("cpu-aoti-"), str(self.dtype).removeprefix("torch."), os.getpid()]
        args.insert(0, folder)
        log_path = folder.parent / "cpu-aoti.log"
        with log_path.open("w") as log_file, self._lock:  # a chunk that began meanwhile freezes it at once
            if self._closing:
                raise RuntimeError("the app closed before the compile began")
            self.child = subprocess.Popen(  # noqa: S603 - our own module, run by this interpreter
                [sys.executable, "-m", "fasttts_desktop.engine.cpu_compile_child", *map(str, args)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                env=env,
                # its own process group (the compilers it starts are in it: `pause` freezes them all,
                # `_end` ends them all), in the app's session (see `pause`)
                process_group=0,
            )
            if self._paused:
                self._signal_child(signal.SIGSTOP)
        atexit.register(_end, self.child)
        code = self.child.wait()
        if code == 0 and folder.is_dir():
            return
        if code == BUSY:
            raise RuntimeError("another launch is compiling the blocks; a later launch loads them")
        lines = log_path.read_text(errors="replace").strip().splitlines()
        reason = lines[-1] if lines else f"exit code {code}"
        if code > 0:  # killed by a signal (negative): not the compile's fault, tried again next launch
            with contextlib.suppress(OSError):
                failed.write_text(reason + "\n")
        raise RuntimeError(f"the compile process failed: {reason}")

    def _load(self, folder: Path) -> list:
        """Load and check every package; a load that took the process down is never tried again."""
        mark = folder.with_name(folder.name + ".loading")
        if mark.exists():
            raise RuntimeError(f"loading {folder.name} did not finish in an earlier run")
        mark.touch()
        # an ordinary exit during the load (the app closed) is no crash: the mark goes
        atexit.register(mark.unlink, missing_ok=True)
        runners = []
        try:
            for index, block in enumerate(self.blocks):
                if self._closing:  # the app is exiting: nothing to hand over, nothing wrong with the packages
                    mark.unlink(missing_ok=True)
                    return []
                runner = load_package(folder / package_name(index), block)
                check(block, runner, self.width, LOAD_CHECK_FRAMES)
                runners.append(runner)
        except Exception:
            shutil.rmtree(folder, ignore_errors=True)  # rebuilt by a later launch, never trusted
            mark.unlink(missing_ok=True)
            raise
        mark.unlink(missing_ok=True)
        return runners


def _channels(block: SnakeResBlock) -> int:
    conv = block.convs1[0]
    if not isinstance(conv, torch.nn.Conv1d):
        raise TypeError(f"{type(conv).__name__} is no Conv1d")
    return conv.in_channels


def _end(child: subprocess.Popen) -> None:
    """At a normal exit: the compile stops with the app (its finished blocks stay for the next launch)."""
    if child.poll() is None:
        with contextlib.suppress(OSError, AttributeError):  # no process groups on Windows
            os.killpg(child.pid, signal.SIGKILL)
