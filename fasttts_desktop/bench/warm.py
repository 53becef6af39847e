"""Warm start: a fresh interpreter on the caches a first launch left, timed from its process start.

The parent writes nothing new: the child loads the weights the way the app does (the converted offline
weights in the user cache, or the same torch file the parent used), builds the backend, speaks one Harvard
sentence and waits for the compiled decoder. Every time is measured from the moment the parent started the
child process, so Python's and torch's imports count too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from fasttts_desktop.bench.timing import say

# Modules whose presence at the first audio says what the start paid for before it (or deferred past it)
WATCHED = (
    "triton",
    "torch._dynamo",
    "torch._inductor",
    "sympy",
    "transformers",
    "scipy",
    "kokoro.model",
    "spacy",
    "misaki",
)
FIRST_AUDIO_MARK = "FASTTTS-WARM-FIRST-AUDIO"  # on the child's stderr: imports after it came later


def run(
    options_args: list[str], weights_args: list[str], voice: str, speed: float, importtime: bool = False
) -> dict:
    """Start the child and return what it measured (or the error). `importtime`: run a second child
    under `python -X importtime` up to its first audio and add what it imported before it (the timed
    child stays unprofiled)."""
    warm = _child_run([], options_args, weights_args, voice, speed)
    if "error" in warm:
        return warm
    stored = f"stored GPU model {warm['stored_form']}"
    if warm.get("stored_load_s") is not None:
        stored += f" ({warm['stored_load_s']} s)"
    say(
        f"fasttts   warm start (fresh process, warm caches): first audio {warm['first_audio_s']:.2f} s after "
        f"process start [{warm['first_sentence_decoder']} decoder], compiled decoder ({warm['compiled']}) at "
        f"{warm['compiled_ready_s']} s; imports {warm['import_s']} s, weights {warm['weights_s']} s, "
        f"{stored}; loaded before the first audio: {', '.join(warm['modules_at_first_audio']) or 'none'}"
    )
    if importtime:
        args = [*options_args, "--first-audio-only"]
        profiled = _child_run(["-X", "importtime"], args, weights_args, voice, speed)
        imports = profiled.get("imports_before_first_audio", profiled.get("error"))
        warm["imports_before_first_audio"] = imports
        # this child exits right after its first audio, with the background work running
        warm["first_audio_only_exit_code"] = profiled.get("exit_code")
        if profiled.get("exit_stderr_tail"):
            warm["first_audio_only_exit_stderr_tail"] = profiled["exit_stderr_tail"]
        say(f"fasttts   imports before the first audio (ms, -X importtime): {imports}")
    return warm


def _child_run(
    python_args: list[str], options_args: list[str], weights_args: list[str], voice: str, speed: float
) -> dict:
    cmd = [
        sys.executable,
        *python_args,
        "-m",
        "fasttts_desktop.bench",
        "--warm-child",
        "--voice",
        voice,
        "--speed",
        str(speed),
    ]
    cmd += options_args + weights_args
    t0 = time.time()
    proc = subprocess.run(
        [*cmd, "--t0", repr(t0)], capture_output=True, text=True, env=dict(os.environ), check=False
    )
    wall = time.time() - t0
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WARM ")), None)
    if not line:
        return {
            "error": f"exit {proc.returncode}: {(proc.stdout + proc.stderr)[-1500:]}",
            "process_wall_s": wall,
        }
    warm = json.loads(line[5:])
    warm["process_wall_s"] = round(wall, 2)
    # the --first-audio-only child exits while the background captures and the compiler load run: a thread
    # left inside C++ at interpreter exit shows here as -6 (SIGABRT) and "terminate called" in stderr
    warm["exit_code"] = proc.returncode
    if proc.returncode:
        warm["exit_stderr_tail"] = proc.stderr[-600:]
    if "-X" in python_args:
        warm["imports_before_first_audio"] = imports_before_mark(proc.stderr)
    return warm


def imports_before_mark(stderr: str, top: int = 25) -> dict[str, float]:
    """`-X importtime` lines before FIRST_AUDIO_MARK: the top-level imports (ms, cumulative, largest
    first), then each WATCHED module wherever it was first imported from."""
    head = stderr.split(FIRST_AUDIO_MARK, 1)[0]
    top_level: dict[str, float] = {}
    watched: dict[str, float] = {}
    for line in head.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        indented = parts[2].rstrip()[1:]  # "| " then two spaces per level of nesting
        name, ms = indented.strip(), int(parts[1]) / 1000
        if not indented.startswith(" "):
            top_level[name] = ms
        if name in WATCHED and name not in watched:
            watched[name] = ms
    ranked = sorted(top_level.items(), key=lambda kv: -kv[1])[:top]
    return {k: round(v, 1) for k, v in ranked} | {f"[{k}]": round(v, 1) for k, v in watched.items()}


def child(args, options) -> int:
    """In the fresh interpreter (`--warm-child`): prints one 'WARM {json}' line."""
    t0 = args.t0 or time.time()

    def since() -> float:
        return round(time.time() - t0, 3)

    steps: list = [(since(), "child running", 0.0)]
    from fasttts_desktop.bench import inputs

    inputs.kokoro_without_g2p()
    import torch

    from fasttts_desktop.engine.synthesis.cuda import CompiledBackend

    torch.cuda.init()
    t_import = since()
    # as the app loads them: the float32 weights are read only where the GPU model has no stored form
    weights = inputs.load(args.weights_file, args.random_weights, args.voices, defer=True)
    t_weights = since()

    def note(msg, frac):
        steps.append((since(), msg, round(frac, 2)))

    backend = CompiledBackend(weights, torch.device("cuda"), progress=note, options=options)
    backend.prepare(note)
    t_ready = since()
    req = inputs.requests(inputs.phonemes()["harvard"][:1], weights.voices[args.voice], args.speed)[0]
    backend.infer(req)
    torch.cuda.synchronize()
    t_first = since()
    first_kind = backend.compiled
    loaded = [name for name in WATCHED if name in sys.modules]
    print(FIRST_AUDIO_MARK, file=sys.stderr, flush=True)
    if args.first_audio_only:
        print("WARM " + json.dumps({"first_audio_s": t_first}), flush=True)
        return 0
    backend.wait_compiled()
    t_compiled = since()
    backend.infer(req)  # and once more through the compiled decoder
    torch.cuda.synchronize()
    result = {
        "import_s": t_import,
        "weights_s": round(t_weights - t_import, 3),
        "backend_ready_s": t_ready,
        "first_audio_s": t_first,
        "first_sentence_decoder": first_kind,
        "compiled_ready_s": t_compiled,
        "compiled_after_first_audio_s": round(t_compiled - t_first, 3),
        "compiled": backend.compiled,
        "compile_detail": backend.compiler.detail if backend.compiler else "",
        "transformers_imported": "transformers" in sys.modules,
        "kokoro_model_imported": "kokoro.model" in sys.modules,
        "modules_at_first_audio": loaded,
        # the GPU model's stored form (cuda/build.py): "loaded" from it, "built" (none usable: written after
        # the first sentence, in write_s), "none" (weights with no stored form: random or a file's)
        "stored_form": backend.stored.status,
        "stored_load_s": backend.stored.load_s,
        "stored_frame_s": backend.stored.frame_s,
        "stored_write_s": backend.stored.write_s,
        "steps": steps,
    }
    print("WARM " + json.dumps(result), flush=True)
    return 0
