"""The vocoder's residual blocks compiled by Inductor (C++), built once in the background, loaded later.

Why these and only these: a SnakeResBlock is six convolutions with an instance norm, Snake and casts around
each; eager, every one of those is a pass over the whole activation (memory-bound), Inductor fuses them
into one loop per step. Compiling the blocks alone was the fastest of the routes measured (0.70-0.75x
the eager acoustic time per Harvard sentence; the whole acoustic side compiled, 0.75x; norm+Snake alone,
0.89x; a hand-fused Snake, no gain: docs/benchmarks/NOTES.md, issue 19 item 3), and it keeps the backend's
Stop points: a block's forward is compiled, its `Module.__call__` (where the cancel hooks run) is not.

Each block is compiled on its own (`torch._dynamo` aot_compile, experimental in torch 2.13) with the block as
an argument, so its weights are graph inputs, not constants: the artifact depends on the block's structure
and dtypes (the cache key), not on the weight values. The frame count is dynamic. Artifacts go through the
compile cache (checksummed, written whole), Inductor's own cache beside them, under the user cache
folder; a later launch loads them in seconds. A load is marked before it is tried and after it worked, so
a load that crashed the process is never tried again. Until a block is ready, and for any input its
guards do not accept, the block runs eager. Any failure (no C++ compiler, an unsupported torch, a compile
or check that fails) logs one line and leaves the backend eager.
"""

from __future__ import annotations

import atexit
import gc
import io
import logging
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from fasttts_desktop.engine.synthesis.blocks import SnakeResBlock
from fasttts_desktop.engine.synthesis.cpu.threads import release_free_memory

if TYPE_CHECKING:
    from fasttts_desktop.engine.synthesis.cuda.cache import CacheKey, CompileCache
    from fasttts_desktop.engine.synthesis.model import KokoroModel

log = logging.getLogger(__name__)

ARTIFACT = "block.bin"
CHECK_FRAMES = (300, 2_001, 12_001)  # short to long chunks at the blocks' rates (20 F and 120 F + 1)
MAX_UNFINISHED = 2  # compiles that may end the process unfinished before the blocks stay eager for good
NICE = 10  # the compile thread (and the compiler it runs) yields the cores to speech


def unavailable() -> str | None:
    """Why this process cannot compile (None: it can): the torch build, or no C++ compiler on the PATH."""
    try:
        import torch._dynamo.aot_compile
    except ImportError:
        return "this torch cannot save compiled functions"
    if not hasattr(torch.compiler, "load_compiled_function"):
        return "this torch cannot load compiled functions"
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


def run_block(block: SnakeResBlock, x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """What gets compiled: the class's forward (not the instance's, which the hand-over replaces)."""
    return SnakeResBlock.forward(block, x, table)


class CompiledBlock:
    """A block's forward over its compiled function: the compiled code where its guards accept the input
    (batch 1, no padding Level), the eager forward otherwise."""

    def __init__(self, block: SnakeResBlock, fn):
        self.block, self.fn = block, fn
        self.misses = 0
        fn.disable_guard_check()  # checked here once per call, not again inside

    def __call__(self, x: torch.Tensor, table: torch.Tensor, level=None) -> torch.Tensor:
        if level is None and self.fn.guard_check(self.block, x, table):
            return self.fn(self.block, x, table)
        self.misses += 1
        return SnakeResBlock.forward(self.block, x, table, level)


class BlockCompiler:
    """Compiles (or loads) every SnakeResBlock of `model` on a background thread and hands each over as it
    is ready. `kind`: "eager" until the first block is ready, then "compiled" (built in this process) or
    "loaded" (from the cache); `failure` holds the one-line reason where it gave up."""

    def __init__(self, model: KokoroModel, dtype: torch.dtype):
        gen = model.decoder.generator
        self.blocks: list[SnakeResBlock] = [*gen.resblocks, *gen.noise_res]
        self.table_width = int(model.decoder.styles.weight.shape[0]) if model.decoder.styles else 0
        self.dtype = dtype
        self.kind = "eager"
        self.failure = ""
        self.ready = 0  # blocks handed over
        self.seconds = 0.0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fasttts-cpu-compile", daemon=True)
                self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Start if not started, wait; True when every block runs compiled."""
        self.start()
        if self._thread is not None:
            self._thread.join(timeout)
        return self.ready == len(self.blocks)

    def _run(self) -> None:
        t0 = time.perf_counter()
        try:
            reason = unavailable()
            if reason:
                self.failure = reason
                log.info("CPU vocoder stays eager: %s", reason)
                return
            _lower_priority()
            self._prepare_inductor()
            from fasttts_desktop.engine.synthesis.cuda.cache import CompileCache

            cache = CompileCache(compile_root())
            for index, block in enumerate(self.blocks):
                self._one(cache, index, block)
            _attempts_file(compile_root()).unlink(missing_ok=True)
        except Exception as exc:  # noqa: BLE001 - any failure: speech goes on eager
            self.failure = f"{type(exc).__name__}: {exc}"[:300]
            log.warning(
                "CPU vocoder stays eager (%d of %d blocks compiled): %s",
                self.ready,
                len(self.blocks),
                self.failure,
            )
        finally:
            self.seconds = time.perf_counter() - t0
            # what compiling left on the heap (traced graphs, sympy): ~50 MB measured; the imports stay
            gc.collect()
            release_free_memory()
            if self.ready:
                log.info(
                    "CPU vocoder blocks %s (%d of %d) after %.1f s",
                    self.kind,
                    self.ready,
                    len(self.blocks),
                    self.seconds,
                )

    def _prepare_inductor(self) -> None:
        from torch._inductor.runtime.cache_dir_utils import default_cache_dir

        # Inductor's own caches (generated C++, built libraries) beside our artifacts, unless the user
        # chose a folder (importing torch._dynamo fills in torch's default /tmp one, which goes at reboot)
        current = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
        if current is None or current == default_cache_dir():
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(compile_root() / "inductor-cpu")
        import torch._dynamo
        import torch.fx.experimental._config as fx_config
        from torch._inductor import config as inductor_config

        inductor_config.compile_threads = 1  # in this (lowered-priority) thread: no worker pool
        fx_config.use_duck_shape = False  # a frame count equal to a channel count must not specialise
        torch._dynamo.config.enable_aot_compile = True  # noqa: SLF001 - torch's switch for aot_compile

    def _key(self, index: int, block: SnakeResBlock) -> CacheKey:
        from fasttts_desktop.engine.synthesis.cuda.cache import CacheKey

        convs = [_conv(c) for c in block.convs1]
        dilations = "-".join(str(c.dilation[0]) for c in convs)
        shape = f"c{convs[0].in_channels}k{convs[0].kernel_size[0]}d{dilations}"
        # the generated C++ is for this CPU's instruction set: a cache copied to another CPU must not load
        capability = torch.backends.cpu.get_cpu_capability()
        return CacheKey.for_device(
            f"cpu-block{index}", "any", torch.device("cpu"), self.dtype, f"{shape} isa={capability}"
        )

    def _one(self, cache: CompileCache, index: int, block: SnakeResBlock) -> None:
        key = self._key(index, block)
        if cache.loads(key) == "loading":  # a load that never finished: it took the process down
            raise RuntimeError(f"loading compiled block {index} did not finish in an earlier run")
        fn, kind = self._load(cache, key), "loaded"
        if fn is None:
            if not _claim_attempt(compile_root()):
                raise RuntimeError("earlier compiles ended the process before they finished")
            fn, kind = self._compile(block), "compiled"
            self._check(block, fn)
            try:
                cache.remove(key)
                cache.store(key, ARTIFACT, lambda path: fn.save_compiled_function(str(path)))
            except Exception as exc:  # noqa: BLE001 - unsaved: this launch still uses it
                log.info("could not save compiled CPU block %d: %s", index, exc)
        block.forward = CompiledBlock(block, fn)  # type: ignore[method-assign] # the hand-over
        self.ready += 1
        self.kind = kind if self.kind in ("eager", kind) else "compiled"

    def _load(self, cache: CompileCache, key: CacheKey):
        path = cache.lookup(key, ARTIFACT)
        if path is None:
            return None
        cache.mark(key, "loading")
        # A crash mid-load leaves the mark (never loaded again); an ordinary exit mid-load (the app closed in
        # the seconds a load takes) must not, or one early close would keep the blocks eager for good.
        atexit.register(_interrupted_load, cache, key)
        try:
            with torch.inference_mode():
                fn = torch.compiler.load_compiled_function(io.BytesIO(path.read_bytes()))
            block = self.blocks[int(key.name.removeprefix("cpu-block"))]
            self._check(block, fn)
        except Exception as exc:  # noqa: BLE001 - a bad artifact is rebuilt, never trusted
            log.info("saved compiled CPU block %s unusable (%s); compiling it again", key.name, exc)
            cache.remove(key)
            return None
        cache.mark(key, True)
        return fn

    def _example(self, block: SnakeResBlock, frames: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(frames)
        channels = _conv(block.convs1[0]).in_channels
        x = torch.randn(1, channels, frames, generator=g)
        table = torch.randn(1, self.table_width, generator=g) * 0.1
        return x, table

    def _compile(self, block: SnakeResBlock):
        with torch.inference_mode():  # as the app calls it: the guards check the grad mode
            x, table = self._example(block, CHECK_FRAMES[0])
            torch._dynamo.mark_dynamic(x, 2)  # noqa: SLF001 - the frame axis
            # torch.compile's stub types its result as the function; the wrapper has aot_compile
            return torch.compile(run_block, fullgraph=True).aot_compile(((block, x, table), {}))  # type: ignore[attr-defined]

    def _check(self, block: SnakeResBlock, fn) -> None:
        """The compiled block against the eager one at several lengths: a stale or broken artifact fails here.
        bf16 blocks fused differently differ by their rounding (relative ~1e-2 at most)."""
        with torch.inference_mode():
            for frames in CHECK_FRAMES:
                x, table = self._example(block, frames)
                if not fn.guard_check(block, x, table):
                    raise RuntimeError(f"the compiled block does not accept {frames} frames")
                ref = SnakeResBlock.forward(block, x, table)
                out = fn(block, x, table)
                err = float((out - ref).norm() / ref.norm())
                if not err < 2e-2:
                    raise RuntimeError(f"the compiled block differs from eager (relative error {err:.3g})")


def _interrupted_load(cache: CompileCache, key: CacheKey) -> None:
    """At a normal exit: a load still marked in progress was cut short by the exit, not a crash."""
    if cache.loads(key) == "loading":
        cache.mark(key, "interrupted")


def _attempts_file(root: Path) -> Path:
    return root / "cpu-compile-unfinished"


def _claim_attempt(root: Path) -> bool:
    """Count a compile that has not finished; False once MAX_UNFINISHED in a row ended without finishing
    (the compiler crashing the process: do not crash every launch). A normal exit mid-compile (the app
    closed during the minutes it takes) does not count: atexit takes the count back."""
    if str(root) in _claimed:  # counted once per process
        return True
    path = _attempts_file(root)
    try:
        tries = int(path.read_text() or "0")
    except (OSError, ValueError):
        tries = 0
    if tries >= MAX_UNFINISHED:
        return False
    try:
        root.mkdir(parents=True, exist_ok=True)
        path.write_text(str(tries + 1))
    except OSError:
        return True  # an unwritable cache: nothing to protect across launches
    _claimed.add(str(root))
    atexit.register(_give_back, path, tries)
    return True


def _give_back(path: Path, tries: int) -> None:
    """At a normal exit: the count as it was before this process (gone where it was 0 or all finished)."""
    try:
        if not path.exists():
            return
        if tries:
            path.write_text(str(tries))
        else:
            path.unlink()
    except OSError:
        pass


_claimed: set[str] = set()


def _conv(module: torch.nn.Module) -> torch.nn.Conv1d:
    if not isinstance(module, torch.nn.Conv1d):
        raise TypeError(f"{type(module).__name__} is no Conv1d")
    return module


def _lower_priority() -> None:
    """Put this thread (and the compiler processes it starts) below speech in priority (Linux: per
    thread)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
    except (OSError, AttributeError):
        pass
