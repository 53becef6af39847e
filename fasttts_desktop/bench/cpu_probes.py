"""Pieces of `bench --cpu` that need a fresh process or a loaded machine: start-up, window, memory,
contention hogs, and the speech-recognition check (PocketSphinx word error rate)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

_STARTUP = """
import json, time
marks = {"python": time.time()}
from fasttts_desktop.engine.synthesis.cpu.threads import configure_process
configure_process()
from fasttts_desktop.engine import Engine
engine = Engine.load(device="cpu", use_hub=False)
marks["ready"] = time.time()
next(iter(engine.stream("Hello there.")))
marks["first_audio"] = time.time()
marks["description"] = engine.description
print(json.dumps(marks))
"""

_WINDOW = """
import json, os, sys, tempfile, time
marks = {"python": time.time()}
from fasttts_desktop.engine.synthesis.cpu.threads import configure_process
configure_process()
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from fasttts_desktop.ui.app import create_window, engine_loader, parse_args
app = QApplication([sys.argv[0]])
settings = QSettings(os.path.join(tempfile.mkdtemp(), "bench.ini"), QSettings.Format.IniFormat)
window = create_window(engine_loader(parse_args(["--device", "cpu", "--offline"])), settings)
window.show()
app.processEvents()
marks["shown"] = time.time()
marks["torch_before_shown"] = "torch" in sys.modules
def ready(info):
    marks["ready"] = time.time()
    marks["status"] = info.description
    app.quit()
window.service.ready.connect(ready)
window.service.load_failed.connect(lambda m: (marks.update(failed=m), app.quit()))
app.exec()
window.service.shutdown()
print(json.dumps(marks))
os._exit(0)
"""

_MEMORY = """
import json, sys
from fasttts_desktop.engine.synthesis.cpu.threads import configure_process
configure_process()
from fasttts_desktop.engine import Engine

def status(field):
    with open("/proc/self/status") as f:
        return int(next(l for l in f if l.startswith(field)).split()[1]) / 1024

def rss():
    return status("VmRSS:")

def peak():
    # VmHWM, not getrusage's ru_maxrss: that one keeps the high-water mark of the parent (the bench itself)
    return status("VmHWM:")

engine = Engine.load(device="cpu", use_hub=False)
out = {"loaded_rss_mb": rss()}
for _ in engine.stream("The birch canoe slid on the smooth planks."):
    pass
out["short_peak_mb"] = peak()
long_text = open(sys.argv[1], encoding="utf-8").read()
for n in (1, 2):
    for _ in engine.stream(long_text):
        pass
    out[f"after_long_{n}_rss_mb"] = rss()
    out[f"after_long_{n}_peak_mb"] = peak()
print(json.dumps(out))
"""


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["FASTTTS_OFFLINE"] = "1"
    return env


def _run_child(code: str, *args: str, timeout: float = 600) -> tuple[dict, float]:
    launched = time.time()
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
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
    marks, launched = _run_child(_STARTUP)
    return {
        "ready_s": round(marks["ready"] - launched, 2),
        "first_audio_s": round(marks["first_audio"] - launched, 2),
        "interpreter_s": round(marks["python"] - launched, 2),
    }


def window() -> dict:
    """The app's own window (offscreen Qt): start to window shown, and to the engine ready."""
    marks, launched = _run_child(_WINDOW)
    return {
        "shown_s": round(marks["shown"] - launched, 2),
        "ready_s": round(marks.get("ready", float("nan")) - launched, 2),
        "torch_before_shown": marks["torch_before_shown"],
        "status": marks.get("status") or marks.get("failed"),
    }


def memory(long_text: Path) -> dict:
    out, _ = _run_child(_MEMORY, str(long_text), timeout=1200)
    return {k: round(v, 1) for k, v in out.items()}


class Hogs:
    """Other work on the machine while we measure: busy loops, or a PyTorch process on every core."""

    BUSY = "while True: pass"
    TORCH = (
        "import torch\n"
        "torch.set_num_threads(max(1, __import__('os').cpu_count()))\n"
        "a = torch.randn(768, 768)\n"
        "while True: a = torch.tanh(a @ a)\n"
    )

    def __init__(self, kind: str, count: int):
        code = self.BUSY if kind == "busy" else self.TORCH
        env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}  # the other program's default
        self.procs = [subprocess.Popen([sys.executable, "-c", code], env=env) for _ in range(count)]

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
