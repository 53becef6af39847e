"""Issue 20 item 1 on a lent GPU: what moves the batched export, each variant against the shipped settings
in the same process, alternating.

The workload is the bench's batched run: the 30 Harvard sentences x 8 and the long text's 7 chunks (247
requests, ~800 s of audio) through BatchedPasses.run, what CompiledBackend.infer_batch runs. Variants:

  a  tf32-text        Options.text_tf32: the text passes' float32 GEMMs (ALBERT, LSTM input projections)
                      in TF32
     tf32-all         cuBLAS TF32 for the whole call (the acoustic side's float32 GEMMs too: shared LSTM's
                      projections, F0/N, harmonic source, style tables)
     text-cudnn-fp32  cuDNN's TF32 OFF in the text passes. The shipped build has it on (PyTorch's default, as
                      the reference has): what it is worth there, and whether durations depend on it
     text-bf16        the text passes under bf16 autocast: do durations survive?
  b  cudnn-bench      Options.cudnn_benchmark: cuDNN times its algorithms once per new convolution shape
     cudnn-bench-new  the same on shapes it has not seen (the batch at another speed: other frame counts),
                      paired with the shipped settings at that speed: what one export of a new text pays
  c  frames-4096 / frames-12288 / frames-16384   Options.batch_frames (shipped 8192)
  d  eager-decoder    the batched passes on the eager decoder (shipped: the compiled one once it is ready;
                      before that, and on a miss of its guards, the eager one)
     sentences-128 / sentences-256   Options.batch_sentences, sentences per text pass (shipped 64)
     tf32-text+bench  a and b together

cuDNN caches the plan it picks per convolution shape in a thread-local cache whose key does not include the
benchmark flag, and the heuristics' picks are cached too: in one thread, whichever mode meets a shape first
decides it for both. So the benchmark variants share one thread of their own, whose cache only they fill;
the rest run on the main thread.

Steps (each variant in its own try/except; the JSON is rewritten after every step):
 1. eager decoder, source noise off: the shipped settings twice (run-to-run floor) and every variant once:
    parity against the shipped settings (durations identical per token, log-mel L1 over the distinct
    requests) and each variant's first call (cuDNN's benchmark cost shows there); the text passes' GPU time
 2. the batched compiled decoder (precompiled batch-2 artifacts: loaded from the compile cache, else compiled,
    as the shipped compiler does; batch-1 ones are not made: a pass of one row runs eager, counted as a miss)
 3. compiled decoder, noise on: one warm-up call per variant (peak memory, decoder misses), round 0 of the
    round-robin (the shipped settings between every `--base-every` variants; each variant against the mean
    of its two nearest shipped calls), one profiled call per variant in `--profile` (GPU kernel time by
    kind), the later rounds, the new-shape pair(s); what `--deadline-s` does not leave time for is skipped
Without a compiled decoder by the deadline, step 3 runs on the eager decoder (the JSON says which).

Run from the tree's root on the lent GPU, after scripts/device/setup.sh (sourced):
    python3 -m experiments.gpu_item1 --voices voices/af_heart.bin --out item1.json
On a CPU, to check this script's logic (3 sentences, random weights at speed 20, no compile):
    python3 -m experiments.gpu_item1 --smoke --random-weights --out /tmp/item1-smoke.json
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import statistics
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fasttts_desktop.bench import inputs, parity
from fasttts_desktop.bench.timing import kernel_group, say, seconds

T0 = time.perf_counter()


@dataclass(frozen=True)
class Variant:
    name: str
    group: str
    options: dict[str, Any] = field(default_factory=dict)  # Options fields replaced for the call
    flags: tuple[tuple[str, str, Any], ...] = ()  # (owner, flag, value) for the whole call
    text_flags: tuple[tuple[str, str, Any], ...] = ()  # the same around each text pass only
    text_autocast: torch.dtype | None = None  # the text passes under autocast to this dtype
    eager_decoder: bool = False
    lane: str = ""  # a thread of that name, its own cuDNN plan cache (module docstring); "": the main thread


VARIANTS = [
    Variant("tf32-text", "a", options={"text_tf32": True}),
    Variant("tf32-all", "a", flags=(("matmul", "allow_tf32", True),)),
    Variant("text-cudnn-fp32", "a", text_flags=(("cudnn", "allow_tf32", False),)),
    Variant("text-bf16", "a", text_autocast=torch.bfloat16),
    Variant("cudnn-bench", "b", options={"cudnn_benchmark": True}, lane="bench"),
    Variant("frames-4096", "c", options={"batch_frames": 4096}),
    Variant("frames-12288", "c", options={"batch_frames": 12288}),
    Variant("frames-16384", "c", options={"batch_frames": 16384}),
    Variant("eager-decoder", "d", eager_decoder=True),
    Variant("sentences-128", "d", options={"batch_sentences": 128}),
    Variant("sentences-256", "d", options={"batch_sentences": 256}),
    Variant("tf32-text+bench", "d", options={"text_tf32": True, "cudnn_benchmark": True}, lane="bench"),
]
BASE = Variant("shipped", "-")
NEW_SHAPES = Variant("cudnn-bench-new", "b", options={"cudnn_benchmark": True}, lane="bench")
TEXT_TIMED = ("tf32-text", "text-cudnn-fp32", "text-bf16", "sentences-128", "sentences-256")
PROFILED = ("shipped", "tf32-text", "tf32-all", "cudnn-bench", "frames-4096", "frames-16384", "eager-decoder")


def sets_globals(v: Variant) -> bool:
    """Whether `v` changes one of torch's process-wide flags (or autocast) during its calls."""
    switched = v.options.get("text_tf32") or v.options.get("cudnn_benchmark")
    return bool(v.flags or v.text_flags or v.text_autocast or switched)


def owner(name: str):
    return {"cudnn": torch.backends.cudnn, "matmul": torch.backends.cuda.matmul}[name]


def torch_flags() -> dict:
    cudnn = torch.backends.cudnn
    return {
        "cudnn.allow_tf32": cudnn.allow_tf32,
        "cudnn.benchmark": cudnn.benchmark,
        "cudnn.benchmark_limit": cudnn.benchmark_limit,
        "cuda.matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "cudnn.version": cudnn.version() if cudnn.is_available() else None,
    }


class Lane:
    """Where a variant's calls run: the main thread, or one worker thread of its own for good."""

    def __init__(self, own: bool):
        self.pool = ThreadPoolExecutor(1) if own else None

    def call(self, fn: Callable[[], Any]) -> Any:
        return fn() if self.pool is None else self.pool.submit(fn).result()


class Rig:
    """The model, its batched passes and decoders on one device, and how a variant is applied to them."""

    def __init__(self, model, batched, dev: torch.device, fast=None):
        self.model, self.batched, self.dev, self.fast = model, batched, dev, fast
        self.core = model.decoder  # the eager decoder
        self.decoder: Callable = self.core  # what the shipped passes run now
        self.lanes: dict[str, Lane] = {}
        self.main = Lane(own=False)

    def lane(self, v: Variant) -> Lane:
        if not v.lane:
            return self.main
        if v.lane not in self.lanes:
            self.lanes[v.lane] = Lane(own=True)
        return self.lanes[v.lane]

    def misses(self) -> int:
        return int(getattr(self.decoder, "misses", 0))

    def sync(self) -> None:
        if self.dev.type == "cuda":
            torch.cuda.synchronize(self.dev)

    @contextlib.contextmanager
    def applied(self, v: Variant) -> Iterator[None]:
        from fasttts_desktop.engine.synthesis.cuda.batched import global_flag

        shipped = self.batched.options
        self.batched.options = dataclasses.replace(shipped, **v.options)
        try:
            with contextlib.ExitStack() as stack:
                for who, name, value in v.flags:
                    stack.enter_context(global_flag(owner(who), name, value))
                if v.text_flags or v.text_autocast is not None:
                    stack.enter_context(self._text_hook(v))
                stack.enter_context(torch.inference_mode())
                yield
        finally:
            self.batched.options = shipped

    @contextlib.contextmanager
    def _text_hook(self, v: Variant) -> Iterator[None]:
        from fasttts_desktop.engine.synthesis.cuda.batched import global_flag

        model, inner = self.model, self.model.text_stage

        def hooked(*args, **kwargs):
            with contextlib.ExitStack() as stack:
                for who, name, value in v.text_flags:
                    stack.enter_context(global_flag(owner(who), name, value))
                if v.text_autocast is not None:
                    stack.enter_context(torch.autocast(self.dev.type, dtype=v.text_autocast))
                return inner(*args, **kwargs)

        model.text_stage = hooked  # an instance attribute over the method, removed below
        try:
            yield
        finally:
            del model.text_stage

    def run(self, v: Variant, reqs) -> tuple[float, list, int]:
        """One batched call of `reqs` under `v` on its lane -> (wall s, results, decoder misses)."""

        def go():
            misses = self.misses()
            self.sync()
            t0 = time.perf_counter()
            with self.applied(v):
                out = self.batched.run(reqs, self.core if v.eager_decoder else self.decoder)
            self.sync()
            return time.perf_counter() - t0, out, self.misses() - misses

        return self.lane(v).call(go)

    def text_ms(self, v: Variant, reqs, reps: int) -> dict:
        """The call's text passes alone, queued as BatchedPasses._run_part queues them: GPU time between two
        events (host gaps included) and host wall, medians of `reps` after one warm-up."""
        from fasttts_desktop.engine.synthesis.cuda.batched import to_device, token_parts

        def passes():
            b = self.batched
            opts = b.options
            lengths = [len(r.input_ids) for r in reqs]
            order = sorted(range(len(reqs)), key=lambda i: lengths[i])
            for part in token_parts(order, lengths, opts.batch_tokens):
                rs = [reqs[i] for i in part]
                n = [lengths[i] for i in part]
                style = to_device(torch.cat([r.ref_s.reshape(1, 256) for r in rs]), self.dev)
                for lo in range(0, len(rs), opts.batch_sentences):
                    hi = min(len(rs), lo + opts.batch_sentences)
                    b._text_pass(rs[lo:hi], style[lo:hi], n[lo:hi])  # noqa: SLF001 - the export's own pass

        def go():
            gpu, wall = [], []
            with self.applied(v):
                for rep in range(reps + 1):
                    self.sync()
                    t0 = time.perf_counter()
                    if self.dev.type == "cuda":
                        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                        a.record()
                        passes()
                        b.record()
                        b.synchronize()
                        ms = a.elapsed_time(b)
                    else:
                        passes()
                        ms = float("nan")
                    if rep:
                        gpu.append(ms)
                        wall.append((time.perf_counter() - t0) * 1e3)
            return {"gpu_ms": round(statistics.median(gpu), 3), "wall_ms": round(statistics.median(wall), 3)}

        return self.lane(v).call(go)

    def profile(self, v: Variant, reqs) -> dict:
        """One call under torch.profiler: kernel time by kind (timing.kernel_group) and the top kernels."""
        from torch.profiler import ProfilerActivity, profile

        cuda = self.dev.type == "cuda"

        def go():
            self.sync()
            with profile(activities=[ProfilerActivity.CUDA if cuda else ProfilerActivity.CPU]) as prof:
                with self.applied(v):
                    out = self.batched.run(reqs, self.core if v.eager_decoder else self.decoder)
                self.sync()
            kind = torch.autograd.DeviceType.CUDA if cuda else torch.autograd.DeviceType.CPU
            events = [e for e in prof.key_averages() if e.device_type == kind]

            def ms(e):
                return (e.self_device_time_total if cuda else e.self_cpu_time_total) / 1000

            groups: dict[str, float] = {}
            for e in events:
                g = kernel_group(e.key)
                groups[g] = groups.get(g, 0.0) + ms(e)
            top = sorted(events, key=ms, reverse=True)[:8]
            audio = seconds(out)
            total = sum(groups.values())
            return {
                "audio_s": round(audio, 1),
                "kernel_ms": round(total, 1),
                # the issue's figures are per 162 s of audio (the bench's profile: Harvard x 2)
                "kernel_ms_per_162s_audio": round(162 * total / audio, 2) if audio else None,
                "gpu_bound_xrt": round(audio / (total / 1000), 1) if total else None,
                "by_kind_ms": {g: round(t, 2) for g, t in sorted(groups.items(), key=lambda kv: -kv[1])},
                "top": [[e.key[:100], round(ms(e), 2), e.count] for e in top],
            }

        return self.lane(v).call(go)


# -- parity


def distinct(reqs) -> list[int]:
    """The first index of each distinct request (the batch repeats the Harvard sentences)."""
    seen: dict[tuple, int] = {}
    for i, r in enumerate(reqs):
        seen.setdefault((tuple(r.input_ids), float(r.speed)), i)
    return sorted(seen.values())


class Parity:
    """Each variant's results against the shipped settings' (noise off), the shipped log-mels kept."""

    def __init__(self, base: list, keep: list[int]):
        self.base, self.keep = base, keep
        self.mels = {i: parity.log_mel(base[i].audio) for i in keep}

    def against(self, out: list) -> dict:
        share, worst = parity.duration_match(out, self.base)
        tokens = sum(len(r.durations) for r in self.base)
        dists = []
        for i in self.keep:
            m = parity.log_mel(out[i].audio)
            n = min(len(m), len(self.mels[i]))
            dists.append(float(np.mean(np.abs(m[:n] - self.mels[i][:n]))))
        return {
            "durations_identical": round(share, 6),
            "tokens_differing": round((1 - share) * tokens),
            "worst_frames": worst,
            "logmel_l1": round(float(np.mean(dists)), 4),
            "audio_s_difference": round(seconds(out) - seconds(self.base), 3),
        }


# -- the batched compiled decoder


def compile_batched(rig: Rig, max_new: int) -> tuple[Callable | None, dict]:
    """The shipped compiler's batch-2 artifacts: loaded from the compile cache where there, else compiled
    (at most `max_new`) and stored. Nothing is handed to the rig here (the caller does, when it is done)."""
    from fasttts_desktop.engine.synthesis.cuda import precompiled
    from fasttts_desktop.engine.synthesis.cuda.cache import CompileCache
    from fasttts_desktop.engine.synthesis.cuda.compiler import MAX_ARTIFACTS, DecoderCompiler

    fast = rig.fast
    got: dict[str, Callable] = {}
    comp = DecoderCompiler(rig.core, rig.dev, "inductor", fast._key, lambda d, _kind: got.update(d=d))  # noqa: SLF001
    info: dict[str, Any] = {"artifacts": []}
    if not precompiled.supported():  # the shipped fallback: torch.compile in-process, both batch kinds
        t0 = time.perf_counter()
        comp._jit()  # noqa: SLF001
        info["artifacts"].append({"how": "jit (both batch kinds)", "s": round(time.perf_counter() - t0, 1)})
        return got.get("d"), info
    cache = CompileCache()
    fns: list = []
    new = 0
    for index in range(MAX_ARTIFACTS):
        key = fast._key(f"precompiled-b2-{index}")  # noqa: SLF001
        t0 = time.perf_counter()
        fn = comp._load_saved(cache, key, 2)  # noqa: SLF001
        how = "loaded"
        if fn is None:
            shape = comp._uncovered({1: [], 2: fns}, 2)  # noqa: SLF001
            if shape is None or new >= max_new:
                info["uncovered_shape"] = shape
                break
            fn = comp._compile_saved(cache, key, 2, shape)  # noqa: SLF001
            how, new = f"compiled for batch x frames {shape}", new + 1
            if fn is None:
                info["error"] = comp.detail
                break
        fns.append(fn)
        info["artifacts"].append({"how": how, "s": round(time.perf_counter() - t0, 1)})
    if not fns:
        return None, info
    return precompiled.Dispatch(rig.core, {1: [], 2: fns}), info


# -- the run


def build(args) -> tuple[Rig, list, dict]:
    inputs.kokoro_without_g2p()
    from fasttts_desktop.engine.synthesis.cuda.backend import Options

    dev = torch.device("cpu" if args.smoke else "cuda")
    weights = inputs.load(None, args.random_weights, args.voices)
    voice = inputs.voice_or_default(weights, args.voice)
    work = inputs.workload(weights, voice, args.speed, args.repeat)
    reqs = work.harvard[:3] if args.smoke else work.batch
    env = {"voice": voice, "weights": weights.fingerprint, "requests": len(reqs)}
    if args.smoke:  # what runs on a CPU: float32 convolutions, cuDNN-free LSTMs, no compile
        from fasttts_desktop.engine.synthesis.cuda.backend import build_fast_model
        from fasttts_desktop.engine.synthesis.cuda.batched import BatchedPasses

        opts = Options(dtype=torch.float32, lstm="cudnn", compile="none")
        model = build_fast_model(weights.state_dict, dev, opts)
        rig = Rig(model, BatchedPasses(model, dev, opts), dev)
    else:
        from fasttts_desktop.engine.synthesis.cuda import CompiledBackend

        fast = CompiledBackend(weights, dev, options=Options())  # the shipped build; no graphs (not used)
        rig = Rig(fast.model, fast.batched, dev, fast)
        env["gpu"] = torch.cuda.get_device_name(dev)
    env["options"] = {k: str(v) for k, v in dataclasses.asdict(rig.batched.options).items()}
    return rig, reqs, env


class Run:
    def __init__(self, args):
        self.args = args
        self.out: dict[str, Any] = {
            "what": "issue 20 item 1: batched-export variants against the shipped settings, one process",
            "commit": os.environ.get("FASTTTS_COMMIT", ""),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "python": sys.version.split()[0],
            "argv": sys.argv[1:],
            "shipped_flags": torch_flags(),
            "shipped_batched_decoder": "compiled (precompiled.Dispatch over the batch-2 artifacts) once "
            "the background compiler has handed it over (CompiledBackend.set_decoder); eager before that "
            "and for a pass its guards refuse",
            "errors": {},
        }

    def left(self) -> float:
        return self.args.deadline_s - (time.perf_counter() - T0)

    def save(self) -> None:
        self.out["elapsed_s"] = round(time.perf_counter() - T0, 1)
        if self.args.out:
            self.args.out.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.args.out.with_suffix(".part")
            tmp.write_text(json.dumps(self.out, indent=1, default=str))
            tmp.replace(self.args.out)

    def guarded(self, label: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - one broken variant or step must not lose the run
            self.out["errors"][label] = repr(exc)[:600]
            say(f"{label}: FAILED {exc!r}"[:400])
            if self.args.smoke:
                traceback.print_exc()
            return None
        finally:
            self.save()

    def main(self) -> int:
        args = self.args
        rig, reqs, env = build(args)
        self.out.update(env)
        where = env.get("gpu", "cpu")
        say(f"gpu_item1: {where} · torch {torch.__version__} · {len(reqs)} requests · {env['voice']}")
        variants = [v for v in VARIANTS if not args.only or v.name in args.only]
        # 2. starts first: the compile runs beside the parity calls that change no global flag (a flag set
        # while Dynamo traces would end up in the compiled decoder's guards)
        compiling = self.start_compile(rig) if rig.fast is not None and not args.no_compile else None

        # 1. parity and first calls, eager decoder, noise off
        rig.model.source.noise = 0.0
        ref = self.parity_base(rig, reqs)
        if ref is None:
            say("gpu_item1: the shipped settings failed; nothing to compare against")
            return self.finish()
        flagless = [v for v in variants if not sets_globals(v)]
        self.parity(rig, reqs, ref, [v for v in flagless if not v.eager_decoder])
        phase = self.join_compile(rig, compiling) if compiling else "eager"
        self.out["timed_decoder"] = phase
        self.parity(rig, reqs, ref, [v for v in variants if v not in flagless])
        del ref
        rig.model.source.noise = 1.0
        text = self.out.setdefault("text_passes_ms", {})
        for v in [BASE, *(v for v in variants if v.name in TEXT_TIMED)]:
            got = self.guarded(f"text {v.name}", partial(rig.text_ms, v, reqs, args.text_reps))
            if got is not None:
                text[v.name] = got
                say(f"text      {v.name:16s} {got}")

        # 3. timing, profiles, on the compiled decoder where step 2 gave one
        timed = [BASE, *variants]
        warm = self.out.setdefault("first_call_timed_s", {})
        peak = self.out.setdefault("peak_allocated_mb", {})
        for v in timed:
            if self.left() < 10:
                self.out["errors"][f"warm {v.name}"] = "skipped: deadline"
                continue

            def w(v=v):
                if rig.dev.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(rig.dev)
                wall, _, misses = rig.run(v, reqs)
                warm[v.name] = {"s": round(wall, 3), "decoder_misses": misses}
                if rig.dev.type == "cuda":
                    peak[v.name] = round(torch.cuda.max_memory_allocated(rig.dev) / 2**20)

            self.guarded(f"warm {v.name}", w)
        # what the deadline may cut comes last: round 0, the profiles, the new shapes, the later rounds
        self.rounds(rig, reqs, variants, range(min(1, args.rounds)))
        prof = self.out.setdefault("profile", {})
        for v in timed:
            if v.name not in args.profile:
                continue
            if self.left() < 12:
                self.out["errors"][f"profile {v.name}"] = "skipped: deadline"
                continue
            got = self.guarded(f"profile {v.name}", partial(rig.profile, v, reqs))
            if got is not None:
                prof[v.name] = got
                say(f"profile   {v.name:16s} kernels {got['kernel_ms']} ms {got['by_kind_ms']}")
        if any(v.options.get("cudnn_benchmark") for v in variants):
            self.new_shapes(rig, reqs)
        self.rounds(rig, reqs, variants, range(1, args.rounds))
        return self.finish()

    def parity_base(self, rig: Rig, reqs) -> Parity | None:
        """The shipped settings twice: the reference of every parity figure, and its run-to-run floor."""
        first = self.out.setdefault("first_call_eager_s", {})
        ref = None
        for label in ("shipped", "shipped-again"):
            got = self.guarded(f"parity {label}", partial(rig.run, BASE, reqs))
            if got is None:
                continue
            first[label] = round(got[0], 3)
            if ref is None:
                ref = Parity(got[1], distinct(reqs))
                self.out["audio_s"] = round(seconds(got[1]), 1)
            else:
                self.out.setdefault("parity", {})[label] = ref.against(got[1])
        return ref

    def parity(self, rig: Rig, reqs, ref: Parity, variants: list[Variant]) -> None:
        first = self.out.setdefault("first_call_eager_s", {})
        par = self.out.setdefault("parity", {})
        for v in variants:
            if self.left() < 10:
                self.out["errors"][f"parity {v.name}"] = "skipped: deadline"
                continue

            def one(v=v):
                wall, out, _ = rig.run(v, reqs)
                first[v.name] = round(wall, 3)
                par[v.name] = ref.against(out)
                say(f"parity    {v.name:16s} first call {wall:7.3f} s  {par[v.name]}")

            self.guarded(f"parity {v.name}", one)

    def start_compile(self, rig: Rig) -> tuple[threading.Thread, dict, float]:
        """Step 2 on a thread of its own."""
        result: dict[str, Any] = {}

        def work():
            try:
                result["decoder"], result["info"] = compile_batched(rig, self.args.max_new_artifacts)
            except Exception as exc:  # noqa: BLE001 - reported; step 3 then runs eager
                result["error"] = repr(exc)[:600]

        thread = threading.Thread(target=work, name="gpu-item1-compile", daemon=True)
        thread.start()
        say("compile   the batched decoder, on a thread")
        return thread, result, time.perf_counter()

    def join_compile(self, rig: Rig, compiling: tuple[threading.Thread, dict, float]) -> str:
        """Wait for step 2 until the deadline leaves `--reserve-s` for the rest."""
        thread, result, t0 = compiling
        wait = max(0.0, self.left() - self.args.reserve_s)
        say(f"compile   waiting up to {wait:.0f} s")
        thread.join(wait)
        info = {"s": round(time.perf_counter() - t0, 1), **result.get("info", {})}
        if thread.is_alive():
            info["error"] = "not done by the deadline: timed on the eager decoder while the compile ran on"
        elif "error" in result:
            info["error"] = result["error"]
        self.out["compile"] = info
        self.save()
        say(f"compile   {info}")
        if result.get("decoder") is None or thread.is_alive():
            return "eager (no compiled decoder: see compile)"
        rig.decoder = result["decoder"]
        return "compiled (batch-2 artifacts; batch-1 passes eager)"

    def rounds(self, rig: Rig, reqs, variants: list[Variant], which: range) -> None:
        """Round-robin: the shipped settings, then `--base-every` variants, then the shipped settings...;
        the variants' order rotates each round."""
        calls: list[dict] = self.out.setdefault("calls", [])
        names = [v.name for v in variants]
        by_name = {v.name: v for v in [BASE, *variants]}
        for r in which:
            if self.left() < 25:
                self.out["errors"][f"round {r}"] = "skipped: deadline"
                break
            k = (r * 5) % max(1, len(names))
            order = names[k:] + names[:k]
            seq = []
            for i, name in enumerate(order):
                if i % self.args.base_every == 0:
                    seq.append("shipped")
                seq.append(name)
            seq.append("shipped")
            for name in seq:
                got = self.guarded(f"round {r} {name}", partial(rig.run, by_name[name], reqs))
                if got is not None:
                    calls.append({"round": r, "variant": name, "s": round(got[0], 4), "misses": got[2]})
            say(f"round     {r}: {len(seq)} calls; {self.left():.0f} s left")
        self.out["timing"] = summarise(calls, self.out.get("audio_s") or 0.0)

    def new_shapes(self, rig: Rig, reqs) -> None:
        """cudnn.benchmark on frame counts it has not seen (the token counts, so the text passes' shapes,
        stay): each pair the batch at another speed, shipped settings and benchmark in alternating order."""
        pairs = self.out.setdefault("cudnn_bench_new_shapes", [])
        for r in range(self.args.new_shape_pairs):
            if self.left() < 30:
                self.out["errors"][f"new shapes {r}"] = "skipped: deadline"
                break
            factor = round(1.0 + 0.035 * (r + 1) * (-1) ** r, 3)  # 1.035, 0.93, 1.105...
            at = [dataclasses.replace(q, speed=q.speed * factor) for q in reqs]
            order = [BASE, NEW_SHAPES] if r % 2 == 0 else [NEW_SHAPES, BASE]
            walls = {}
            for v in order:
                got = self.guarded(f"new shapes {r} {v.name}", partial(rig.run, v, at))
                if got is not None:
                    walls[v.name] = got[0]
                    audio = seconds(got[1])
            if len(walls) == 2:
                pair = {
                    "speed_factor": factor,
                    "audio_s": round(audio, 1),
                    "shipped_s": round(walls["shipped"], 4),
                    "bench_s": round(walls[NEW_SHAPES.name], 4),
                    "bench_over_shipped": round(walls[NEW_SHAPES.name] / walls["shipped"], 3),
                }
                pairs.append(pair)
                say(f"new shapes {pair}")

    def finish(self) -> int:
        self.save()
        table(self.out)
        if self.args.out:
            say(f"wrote {self.args.out}")
        return 0


def summarise(calls: list[dict], audio_s: float) -> dict:
    """Per variant: its walls, each against the mean of the nearest shipped calls before and after it."""
    out: dict[str, dict] = {}
    base_idx = [i for i, c in enumerate(calls) if c["variant"] == "shipped"]
    for i, c in enumerate(calls):
        entry = out.setdefault(c["variant"], {"s": [], "vs_shipped": [], "misses": 0})
        entry["s"].append(c["s"])
        entry["misses"] += c["misses"]
        if c["variant"] == "shipped":
            continue
        near = [calls[j]["s"] for j in base_idx if j < i and calls[j]["round"] == c["round"]][-1:]
        near += [calls[j]["s"] for j in base_idx if j > i and calls[j]["round"] == c["round"]][:1]
        if near:
            entry["vs_shipped"].append(round(statistics.mean(near) / c["s"], 4))
    for entry in out.values():
        best = statistics.median(entry["s"])
        entry["median_s"] = round(best, 4)
        entry["xrt"] = round(audio_s / best, 1) if best else None
        if entry["vs_shipped"]:
            entry["speedup_median"] = round(statistics.median(entry["vs_shipped"]), 4)
    return out


def table(out: dict) -> None:
    timing, par = out.get("timing", {}), out.get("parity", {})
    first, warm = out.get("first_call_eager_s", {}), out.get("first_call_timed_s", {})
    text, prof = out.get("text_passes_ms", {}), out.get("profile", {})
    say(
        f"\nbatched, {out.get('requests')} requests, {out.get('audio_s')} s of audio; timed on the "
        f"{out.get('timed_decoder')} decoder; {out.get('gpu', 'cpu')}"
    )
    head = (
        f"{'variant':16s} {'xRT':>7s} {'vs ship':>7s} {'1st(eager)':>10s} {'1st(timed)':>10s} "
        f"{'dur same':>8s} {'worst':>5s} {'logmel':>6s} {'text ms':>8s} {'kern ms':>7s} {'conv':>6s} "
        f"{'gemm':>6s} {'miss':>4s}"
    )
    say(head)
    for name in ["shipped", "shipped-again", *[v.name for v in VARIANTS], NEW_SHAPES.name]:
        t, p = timing.get(name, {}), par.get(name, {})
        k = prof.get(name, {})
        kinds = k.get("by_kind_ms", {})
        if name == NEW_SHAPES.name:
            pairs = out.get("cudnn_bench_new_shapes", [])
            if pairs:
                ratio = statistics.median(1 / q["bench_over_shipped"] for q in pairs)
                say(f"{name:16s} {'':>7s} {ratio:7.3f}  (paired on unseen shapes, {len(pairs)} speeds)")
            continue
        if not (t or p or k or name in first):
            continue

        def f(x, fmt):
            if isinstance(x, (int, float)):
                return format(x, fmt)
            return "-".rjust(int(fmt.split(".")[0].rstrip("df")))

        say(
            f"{name:16s} {f(t.get('xrt'), '7.1f')} {f(t.get('speedup_median'), '7.3f')} "
            f"{f(first.get(name), '10.3f')} {f(warm.get(name, {}).get('s'), '10.3f')} "
            f"{f(p.get('durations_identical'), '8.4f')} {f(p.get('worst_frames'), '5d')} "
            f"{f(p.get('logmel_l1'), '6.4f')} {f(text.get(name, {}).get('gpu_ms'), '8.2f')} "
            f"{f(k.get('kernel_ms'), '7.1f')} {f(kinds.get('conv'), '6.1f')} {f(kinds.get('gemm'), '6.1f')} "
            f"{f(t.get('misses'), '4d')}"
        )
    say(
        "xRT: audio / median wall of the timed rounds; vs ship: the nearest shipped calls' wall / the "
        "variant's (> 1 faster); 1st: a variant's first call; dur same / worst / logmel: against the shipped "
        "settings, source noise off, eager decoder; text ms: the text passes' GPU time; kern ms, conv, gemm: "
        "one profiled call; miss: calls of the compiled decoder its guards sent to eager"
    )
    if out.get("errors"):
        say(f"errors: {out['errors']}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m experiments.gpu_item1", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path)
    p.add_argument("--voices", help="voice file(s) as the app's --voices takes them (the device: af_heart)")
    p.add_argument("--voice", help="default: the app's (af_heart where present)")
    p.add_argument("--random-weights", action="store_true")
    p.add_argument("--speed", type=float, default=None, help="default 1 (20 with --smoke --random-weights)")
    p.add_argument("--repeat", type=int, default=8, help="Harvard x N + the long chunks (the bench's 247)")
    p.add_argument("--rounds", type=int, default=2, help="timed round-robin rounds")
    p.add_argument("--new-shape-pairs", type=int, default=1, help="cudnn-bench-new pairs (other speeds)")
    p.add_argument("--base-every", type=int, default=3, help="the shipped settings before every N variants")
    p.add_argument("--text-reps", type=int, default=5)
    p.add_argument("--only", type=lambda s: set(filter(None, s.split(","))), default=set(), help="variants")
    p.add_argument("--profile", type=lambda s: set(filter(None, s.split(","))), default=set(PROFILED))
    p.add_argument("--no-compile", action="store_true", help="time on the eager decoder")
    p.add_argument("--max-new-artifacts", type=int, default=1, help="batch-2 artifacts compiled if uncached")
    p.add_argument("--cache-dir", type=Path, help="compile cache (FASTTTS_COMPILE_CACHE); default the user's")
    p.add_argument("--deadline-s", type=float, default=170.0, help="from start; later steps are skipped")
    p.add_argument("--reserve-s", type=float, default=55.0, help="kept for the rest while the compile runs")
    p.add_argument("--smoke", action="store_true", help="CPU, 3 sentences: checks the script only")
    args = p.parse_args(argv)
    if args.speed is None:
        args.speed = 20.0 if args.smoke and args.random_weights else 1.0
    if args.smoke:  # every step once, however slow the CPU
        args.rounds = min(args.rounds, 1)
        args.text_reps = 1
        args.deadline_s = float("inf")
        args.profile = {"shipped"}  # the CPU profiler records every op: slow, and one shows the code works
    if args.cache_dir:
        os.environ["FASTTTS_COMPILE_CACHE"] = str(args.cache_dir)
    try:
        code = Run(args).main()
    except BaseException:  # noqa: BLE001 - outside the guarded steps (even ^C): say it, keep what was written
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    # leave now: a compile still running on its thread (and its workers) must not hold the call open
    os._exit(code)


if __name__ == "__main__":
    main()
