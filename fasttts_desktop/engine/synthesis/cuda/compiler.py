"""Getting a compiled decoder into the backend: one place, one hand-over (`set_decoder(decoder, kind)`).

Modes (Options.compile):
  "inductor" (default)  torch.compile in this process. Where this torch can save compiled functions
                        (precompiled.py), the result goes into the compile cache and a later launch loads it
                        in seconds; otherwise torch.compile runs again on each launch, its own caches under
                        ours (~30-45 s warm on the lent GPUs).
  "none"                eager kernels (still inside the CUDA graphs).
All of it runs on one background thread: speech starts on eager kernels in CUDA graphs, and the compiled
decoder replaces them when it is ready.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import torch

from fasttts_desktop.engine.synthesis.cuda import precompiled
from fasttts_desktop.engine.synthesis.cuda.cache import CacheKey, CompileCache
from fasttts_desktop.engine.types import Progress

log = logging.getLogger(__name__)

MODES = ("inductor", "none")
COMPILE_EXPECTED_S = 55.0  # one compiled function, cold, on the H200 (probe of issue 12): progress pacing
CHECK_FRAMES = 40  # a freshly loaded or compiled decoder is compared with the eager one on this input
# compiled functions per batch kind (each covers the shapes its guards accept)
MAX_ARTIFACTS = int(os.environ.get("FASTTTS_MAX_ARTIFACTS", "3"))
# (batch, frames) the app calls the decoder with: every graph bucket at batch 1 (graphs.FRAME_BUCKETS, from
# 32 to 8192 frames), and batched passes from a few long rows to many short ones (batch_frames = 8192)
SHAPES = {
    1: ((1, 128), (1, 32), (1, 512), (1, 1024), (1, 2048), (1, 4096), (1, 8192)),
    2: ((64, 128), (2, 48), (8, 1024), (32, 256), (4, 2048), (2, 4096)),
}


class DecoderCompiler:
    def __init__(
        self,
        core: torch.nn.Module,
        device: torch.device,
        mode: str,
        key: Callable[[str], CacheKey],
        set_decoder: Callable[[Callable, str], None],
        progress: Progress | None = None,
    ):
        if mode not in MODES:
            raise ValueError(f"compile mode {mode!r}; known: {MODES}")
        self.core, self.device, self.mode = core, device, mode
        self._key, self._set_decoder, self._progress = key, set_decoder, progress
        self.kind = "eager"  # what the backend runs now: eager, precompiled (from disk), inductor
        self.seconds = 0.0  # from start() to the last hand-over
        self.detail = ""  # what was tried, for the bench and the log
        self.progress: tuple[str, float] = ("", 0.0)  # the last (message, fraction) reported
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.mode == "none":
            return
        self._thread = threading.Thread(target=self._run, name="fasttts-compile", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.kind != "eager"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the background thread

    def _run(self) -> None:
        t0 = time.perf_counter()
        try:
            if precompiled.supported() and self._precompiled(t0):
                return
            self._jit()
        except Exception as exc:  # noqa: BLE001 - any failure here: speech goes on with eager kernels
            log.warning("compiled decoder unavailable (%s); staying on eager kernels in CUDA graphs", exc)
            self.detail += f" failed: {exc!r}"[:300]
        finally:
            self.seconds = time.perf_counter() - t0
            if self.kind != "eager":
                log.info("compiled decoder (%s) ready after %.1f s", self.kind, self.seconds)

    def _hand_over(self, decoder: Callable, kind: str) -> None:
        self._set_decoder(decoder, kind)
        self.kind = kind

    def _report(self, message: str, fraction: float) -> None:
        self.progress = (message, fraction)
        if self._progress:
            self._progress(message, fraction)

    def _ticking(self, message: str, start: float, end: float, expected_s: float) -> threading.Event:
        """Report a slowly rising fraction while a step with no progress of its own runs; set() stops it."""
        stop = threading.Event()

        def tick():
            t0 = time.perf_counter()
            while not stop.wait(1.0):
                done = min(1.0, (time.perf_counter() - t0) / expected_s)
                self._report(message, start + (end - start) * 0.95 * done)

        threading.Thread(target=tick, name="fasttts-compile-progress", daemon=True).start()
        return stop

    def _check(self, fn, batch: int) -> None:
        """A compiled function against the eager decoder on one input it accepts: a stale or broken
        artifact fails here."""
        from fasttts_desktop.engine.synthesis.cuda.decoder import example_inputs

        with torch.inference_mode():
            for shape in ((batch, CHECK_FRAMES), *SHAPES[batch]):
                if fn.guard_check(self.core, *example_inputs(self.device, *shape, random=False)):
                    break
            else:
                raise RuntimeError("the compiled decoder accepts none of the shapes the app uses")
            args = example_inputs(self.device, *shape)
            ref, out = self.core(*args), fn(self.core, *args)
            err = float((out - ref).norm() / ref.norm())
        if not err < 1e-2:  # fp16 kernels fused differently: ~1e-3
            raise RuntimeError(f"compiled decoder differs from the eager one (relative error {err:.3g})")

    def _precompiled(self, t0: float) -> bool:
        """Load the saved compiled functions (batch 1 first: the graphs), or compile and save them.

        A compiled function serves the shapes its guards accept; where a shape the app uses falls outside
        (the compiler specialised on a size range), another is compiled for it, up to MAX_ARTIFACTS."""
        cache = CompileCache()
        by_batch: dict[int, list] = {1: [], 2: []}
        for batch in (1, 2):
            for index in range(MAX_ARTIFACTS):
                key = self._key(f"precompiled-b{batch}-{index}")
                fn = self._load_saved(cache, key, batch)
                if fn is None:
                    shape = self._uncovered(by_batch, batch)
                    if shape is None:
                        break
                    fn = self._compile_saved(cache, key, batch, shape)
                    if fn is None:
                        if batch == 1 and not by_batch[1]:
                            return False
                        break
                by_batch[batch].append(fn)
                self.detail += f" b{batch}#{index} at {time.perf_counter() - t0:.1f} s;"
                self._hand_over(precompiled.Dispatch(self.core, by_batch), "precompiled")
        self._report("Compiled GPU decoder ready", 1.0)
        return True

    def _load_saved(self, cache: CompileCache, key: CacheKey, batch: int):
        if cache.loads(key) is False:
            return None
        path = cache.lookup(key, "decoder.bin")
        if path is None:
            return None
        try:
            fn = precompiled.load(path)
            self._check(fn, batch)
            cache.mark(key, True)
        except Exception as exc:  # noqa: BLE001 - a bad artifact is rebuilt, never trusted
            log.warning("saved compiled decoder %s unusable: %s", key.name, exc)
            cache.mark(key, False)
            self.detail += f" {key.name}: load failed {exc!r}"[:200] + ";"
            return None
        else:
            return fn

    def _compile_saved(self, cache: CompileCache, key: CacheKey, batch: int, shape: tuple[int, int]):
        from fasttts_desktop.engine.synthesis.cuda.decoder import example_inputs

        first = batch == 1  # the decoder the graphs run (speech); then the batched one (export)
        message = (
            "Compiling the GPU decoder (once; about a minute)" if first else "Compiling the export decoder"
        )
        stop = self._ticking(message, 0.0 if first else 0.5, 0.5 if first else 1.0, COMPILE_EXPECTED_S)
        try:
            fn = precompiled.compile_one(self.core, example_inputs(self.device, *shape), batch)
            self._check(fn, batch)
        except Exception as exc:  # noqa: BLE001 - e.g. a guard that cannot be saved: plain jit instead
            self.detail += f" {key.name}: aot_compile failed {exc!r}"[:300] + ";"
            return None
        finally:
            stop.set()
        try:
            cache.remove(key)
            cache.store(key, "decoder.bin", lambda p: precompiled.save(fn, p))
        except Exception as exc:  # noqa: BLE001 - unsaved: this launch still uses it
            log.warning("could not save the compiled decoder: %s", exc)
            self.detail += f" {key.name}: not saved {exc!r}"[:200] + ";"
        return fn

    def _uncovered(self, by_batch: dict[int, list], batch: int) -> tuple[int, int] | None:
        """The first (batch, frames) the app will use that no compiled function of this kind accepts."""
        from fasttts_desktop.engine.synthesis.cuda.decoder import example_inputs

        dispatch = precompiled.Dispatch(self.core, by_batch)
        with torch.inference_mode():  # the guards check the grad mode too
            for shape in SHAPES[batch]:
                if dispatch.find(*example_inputs(self.device, *shape, random=False)) is None:
                    return shape
        return None

    def _jit(self) -> None:
        """torch.compile the decoder for a dynamic batch and frame count (its caches under ours)."""
        from fasttts_desktop.engine.synthesis.cuda.decoder import example_inputs

        precompiled.configure_dynamo()
        compiled = torch.compile(self.core, fullgraph=True)
        self._report("Compiling the GPU decoder (about a minute)", 0.1)
        with torch.inference_mode():
            for batch in (1, 2):  # batch 1 is its own graph (size-1 specialisation)
                args = example_inputs(self.device, batch=batch, frames=CHECK_FRAMES)
                precompiled.mark_dynamic(args, batch)
                compiled(*args)
        torch.cuda.synchronize(self.device)
        self._hand_over(compiled, "inductor")
        self._report("Compiled GPU decoder ready", 1.0)
