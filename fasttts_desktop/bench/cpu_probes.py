"""Pieces of `bench --cpu` that need a fresh process or a loaded machine: start-up, window, memory,
contention hogs, and the speech-recognition check (PocketSphinx word error rate)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["FASTTTS_OFFLINE"] = "1"
    return env


def _run_child(what: str, *args: str, timeout: float = 600) -> tuple[dict, float]:
    """cpu_children.py's `what` in a fresh interpreter: (its marks, when it was launched)."""
    launched = time.time()
    done = subprocess.run(
        [sys.executable, "-m", "fasttts_desktop.bench.cpu_children", what, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_child_env(),
    )
    if done.returncode != 0:
        raise RuntimeError(f"child failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), launched


def startup() -> dict:
    """Fresh process (weights already converted and cached): start to engine ready and to first audio."""
    marks, launched = _run_child("startup")
    return {
        "ready_s": round(marks["ready"] - launched, 2),
        "first_audio_s": round(marks["first_audio"] - launched, 2),
        "interpreter_s": round(marks["python"] - launched, 2),
    }


def window() -> dict:
    """The app's own window (offscreen Qt, or a display's where QT_QPA_PLATFORM=xcb): start to window shown
    (`show()` and one pass of events), to the window exposed on the display, and to the engine ready."""
    marks, launched = _run_child("window")
    return {
        "shown_s": round(marks["shown"] - launched, 2),
        "exposed_s": round(marks["exposed"] - launched, 2),
        "ready_s": round(marks.get("ready", float("nan")) - launched, 2),
        "torch_before_shown": marks["torch_before_shown"],
        "status": marks.get("status") or marks.get("failed"),
    }


def memory(long_text: Path) -> dict:
    out, _ = _run_child("memory", str(long_text), timeout=1200)
    return {k: round(v, 1) for k, v in out.items()}


class Hogs:
    """Other work on the machine while we measure: busy loops, or a PyTorch process on every core."""

    def __init__(self, kind: str, count: int):
        env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}  # the other program's default
        env["PYTHONPATH"] = _child_env()["PYTHONPATH"]
        cmd = [sys.executable, "-m", "fasttts_desktop.bench.cpu_children", "hog", kind]
        self.procs = [subprocess.Popen(cmd, env=env) for _ in range(count)]

    def __enter__(self):
        time.sleep(3.0)  # let them start (torch import) and settle
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()


# -- speech recognition: does the audio still say the words?


def _resample_16k(audio, sr: int = 24_000):
    import numpy as np

    n = int(len(audio) * 16_000 / sr)
    # band-limit first (a 16 kHz recognizer reads up to 8 kHz): a short moving average, then interpolate
    smooth = np.convolve(audio, np.ones(3) / 3, mode="same")
    return np.interp(np.arange(n) * sr / 16_000, np.arange(len(audio)), smooth)


def recognize(audio) -> str:
    import numpy as np
    from pocketsphinx import Decoder

    pcm = (np.clip(_resample_16k(audio), -1, 1) * 32767).astype(np.int16).tobytes()
    decoder = Decoder(samprate=16_000, logfn=os.devnull)
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return hyp.hypstr if hyp else ""


def word_error_rate(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, words in the reference)."""
    ref = re.findall(r"[a-z']+", reference.lower())
    hyp = re.findall(r"[a-z']+", hypothesis.lower())
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1], len(ref)
