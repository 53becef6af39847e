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


def run(options_args: list[str], weights_args: list[str], voice: str, speed: float) -> dict:
    """Start the child and return what it measured (or the error)."""
    cmd = [
        sys.executable,
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
    say(
        f"fasttts   warm start (fresh process, warm caches): first audio {warm['first_audio_s']:.2f} s after "
        f"process start [{warm['first_sentence_decoder']} decoder], compiled decoder ({warm['compiled']}) at "
        f"{warm['compiled_ready_s']} s; imports {warm['import_s']} s, weights {warm['weights_s']} s, "
        f"transformers imported: {warm['transformers_imported']}"
    )
    return warm


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
    weights = inputs.load(args.weights_file, args.random_weights, args.voices)
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
        "steps": steps,
    }
    print("WARM " + json.dumps(result), flush=True)
    return 0
