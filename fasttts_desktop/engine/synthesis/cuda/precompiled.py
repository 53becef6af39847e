"""The decoder compiled once by torch.compile and loaded from disk by later launches (Dynamo precompile).

torch.compile's own caches (FX graphs, Triton kernels) still re-trace the model in a fresh process: 30-45 s
for kokoro's decoder on the lent GPUs. `aot_compile` (torch >= 2.11, experimental) keeps what tracing
produced too (the guards and the bytecode that calls the compiled graph), so a later launch only
unpickles it and loads the kernels. The weights are not in the artifact: the decoder module is an argument
of the compiled function and its parameters are inputs of the graph, so the artifact depends on the
module's structure and dtypes (the compile cache key) but not on the weight values.

Two artifacts: one for batch 1 (the interactive graphs) and one with a dynamic batch (export). Both have a
dynamic frame count. Each is a plain file written through the compile cache (checksummed, atomic).
"""

from __future__ import annotations

import importlib.util
import io
import logging
import sys
import types
from contextlib import contextmanager
from pathlib import Path

import torch

log = logging.getLogger(__name__)


def supported() -> bool:
    """Whether this torch can save and load compiled functions (torch._dynamo.aot_compile)."""
    try:
        import torch._dynamo.aot_compile
    except ImportError:
        return False
    return hasattr(torch.compiler, "load_compiled_function") and hasattr(
        torch._dynamo.config, "enable_aot_compile"
    )


def run_decoder(core, asr, f0_curve, n_curve, style, har, frames):
    """What gets compiled: the decoder module is an argument, so its weights are graph inputs."""
    return core(asr, f0_curve, n_curve, style, har, frames)


def mark_dynamic(args, batch: int) -> None:
    """Frames dynamic everywhere (har's length 120 F + 1 follows); the batch too unless it is 1."""
    for t, dims in zip(args, ((0, 2), (0, 1), (0, 1), (0,), (0, 2), (0,)), strict=True):
        for dim in dims:
            if not (dim == 0 and batch == 1):
                torch._dynamo.mark_dynamic(t, dim)


def configure_dynamo() -> None:
    import torch._dynamo
    import torch.fx.experimental._config as fx_config

    fx_config.use_duck_shape = False  # a frame count equal to a channel count must not specialise
    torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 32)


def compile_one(core, example_args, batch: int):
    """aot_compile `run_decoder` for inputs like `example_args`; returns the compiled function.

    Under inference mode with inference tensors, as the app calls it: the guards check both."""
    configure_dynamo()
    torch._dynamo.config.enable_aot_compile = True
    compiled = torch.compile(run_decoder, fullgraph=True)
    with torch.inference_mode():
        args = [t.clone() for t in example_args]
        mark_dynamic(args, batch)
        # torch.compile's stub returns the function's own type; its wrapper's aot_compile (experimental)
        # is not in it
        return compiled.aot_compile(((core, *args), {}))  # type: ignore[attr-defined]


def save(fn, path: Path) -> None:
    fn.save_compiled_function(str(path))


def load(path: Path | str):
    """The compiled function saved at `path`. Loaded under inference mode: the guards it rebuilds read the
    grad mode of the moment they are built, and the app calls the decoder under inference mode."""
    configure_dynamo()
    torch._dynamo.config.enable_aot_compile = True
    with torch.inference_mode(), _kokoro_package_stand_in():
        return torch.compiler.load_compiled_function(io.BytesIO(Path(path).read_bytes()))


@contextmanager
def _kokoro_package_stand_in():
    """The saved guards name kokoro's vocoder classes (kokoro.istftnet.*); unpickling one calls
    __import__("kokoro.istftnet"), which also imports the package `kokoro`, whose __init__ imports
    transformers (seconds: it delayed the compiled decoder of a warm start by ~4 s on the H200). The model
    build loaded kokoro.istftnet without its package (synthesis/kokoro_parts.py), so while the artifact loads
    a bare package object (the real folder as its path, no __init__ run) stands in for `kokoro`; it is
    removed afterwards, so a later `import kokoro` is the real one."""
    if "kokoro" in sys.modules or "kokoro.istftnet" not in sys.modules:
        yield
        return
    spec = importlib.util.find_spec("kokoro")
    stand_in = types.ModuleType("kokoro")
    stand_in.__path__ = list(spec.submodule_search_locations or []) if spec else []
    sys.modules["kokoro"] = stand_in
    try:
        yield
    finally:
        if sys.modules.get("kokoro") is stand_in:
            del sys.modules["kokoro"]


class Dispatch:
    """The decoder's call signature over the compiled functions: per batch kind (1, or any), the first
    whose guards accept the inputs runs; none does (a shape outside what was compiled): the eager core.

    The guards are checked here once per call (and not again inside the function)."""

    def __init__(self, core, by_batch: dict[int, list]):
        self.core = core
        self.by_batch = {k: list(v) for k, v in by_batch.items()}
        self.misses = 0  # calls that found no compiled function (the bench reports them)
        for fns in self.by_batch.values():
            for fn in fns:
                fn.disable_guard_check()

    def find(self, *args):
        for fn in self.by_batch.get(1 if args[0].shape[0] == 1 else 2, ()):
            if fn.guard_check(self.core, *args):
                return fn
        return None

    def __call__(self, asr, f0_curve, n_curve, style, har, frames):
        args = (asr, f0_curve, n_curve, style, har, frames)
        fn = self.find(*args)
        if fn is None:
            self.misses += 1
            if self.misses == 1:
                log.warning(
                    "no compiled decoder for batch %d x %d frames: eager", asr.shape[0], asr.shape[-1]
                )
            return self.core(*args)
        return fn(self.core, *args)
