"""A long document (~10 hours of speech) exported on the GPU: is every word spoken, does memory stay flat?

    python3 scripts/device/long_export.py --hours 10 --out report.json [--say]

1. The text: the bench's long text and the Harvard sentences, repeated as numbered chapters until it holds
   about `--hours` of speech (3.2 words a second, measured with jm_kumo at speed 1).
2. The engine, as `say` uses it (Engine.stream with the export batch, the front end working ahead on a
   thread): audio written to a WAV as it comes, word timings checked chunk by chunk against the words of
   the input (every word of the input must be in some chunk and timed there), the time spent in the front
   end (G2P) counted, RSS and GPU memory sampled every 100 chunks.
3. With `--say`: `fasttts-desktop say -f` on the same text in a fresh process, its wall time and peak RSS
   (/proc) and GPU memory (nvidia-smi) polled while it runs.
Not a test: it needs the G2P packages and minutes of GPU time. Prints one JSON report.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import threading
import time
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

WORDS_PER_SECOND = 3.2  # jm_kumo at speed 1 on this text: 99,600 words in 8.58 h (H200 run of 1567424)
_WORD = re.compile(r"\w+")


def build_text(hours: float) -> str:
    from fasttts_desktop.bench import inputs

    long_paragraphs = [p.strip() for p in inputs.data_text("long_text.txt").split("\n\n") if p.strip()]
    harvard = [item["text"] for item in inputs.phonemes()["harvard"]]
    target = int(hours * 3600 * WORDS_PER_SECOND)
    parts, words, n = [], 0, 0
    while words < target:
        n += 1
        chapter = [
            f"Chapter {n}.",
            *long_paragraphs,
            " ".join(harvard[(n * 7) % 30 :] + harvard[: (n * 7) % 30]),
        ]
        parts.extend(chapter)
        words += sum(len(_WORD.findall(p)) for p in chapter)
    return "\n\n".join(parts) + "\n"


def norm(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", s).lower() if c.isalnum())


class Coverage:
    """Every word of the input inside some chunk and timed there (its letters, in order, among the chunk's
    word timings)."""

    def __init__(self, text: str):
        self.text = text
        self.total = len(_WORD.findall(text))
        self.covered = 0
        self.next_char = 0  # input offset up to which chunks have been seen
        self.outside = 0  # words between chunks (in no chunk)
        self.examples: list = []

    def add(self, chunk) -> None:
        c = chunk.chunk
        gap = self.text[self.next_char : c.start]
        self.outside += len(_WORD.findall(gap))
        if _WORD.search(gap) and len(self.examples) < 5:
            self.examples.append({"gap": gap[:80]})
        self.next_char = max(self.next_char, c.end)
        timed = "".join(norm(w.text) for w in chunk.words)
        pos = 0
        for word in _WORD.findall(c.text):
            w = norm(word)
            found = timed.find(w, pos) if w else pos
            if found >= 0 and found - pos <= 2:  # in order, at most a stray character between words
                self.covered += 1
                pos = found + len(w)
            elif len(self.examples) < 5:
                self.examples.append(
                    {"missing": word, "chunk": c.text[:80], "timed": [w.text for w in chunk.words][:12]}
                )

    def finish(self) -> dict:
        self.outside += len(_WORD.findall(self.text[self.next_char :]))
        return {
            "input_words": self.total,
            "timed_words": self.covered,
            "words_in_no_chunk": self.outside,
            "coverage": round(self.covered / self.total, 6) if self.total else 1.0,
            "examples": self.examples,
        }


def proc_status(pid: str = "self") -> dict:
    out = {}
    with Path(f"/proc/{pid}/status").open(encoding="ascii") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = round(int(line.split()[1]) / 1024, 1)
    return out


def gpu_now() -> dict:
    import torch

    free, total = torch.cuda.mem_get_info()
    return {
        "allocated_mb": round(torch.cuda.memory_allocated() / 2**20, 1),
        "reserved_mb": round(torch.cuda.memory_reserved() / 2**20, 1),
        "device_used_mb": round((total - free) / 2**20, 1),
    }


def export(text: str, wav_path: Path, voice: str | None) -> dict:
    import numpy as np
    import torch

    from fasttts_desktop.engine import Engine
    from fasttts_desktop.export import open_audio_writer

    t_load = time.perf_counter()
    engine = Engine.load("cuda", use_hub=False)
    load_s = time.perf_counter() - t_load
    if hasattr(engine.backend, "wait_compiled"):
        engine.backend.wait_compiled()
    frontend = engine.frontend(engine.voice(voice).lang_code)
    g2p = {"s": 0.0}
    original = frontend.chunks

    def timed_chunks(*args, **kwargs):  # the front end's own time, on whichever thread runs it
        gen = original(*args, **kwargs)
        while True:
            t0 = time.perf_counter()
            try:
                item = next(gen)
            except StopIteration:
                return
            finally:
                g2p["s"] += time.perf_counter() - t0
            yield item

    frontend.chunks = timed_chunks
    coverage = Coverage(text)
    samples, n_chunks, n_samples = [], 0, 0
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    with open_audio_writer(wav_path, format="wav") as w:  # as `say -o book.wav` writes it
        for chunk in engine.stream(text, voice, batch=engine.export_batch):
            w.write(np.asarray(chunk.audio))
            n_samples += len(chunk.audio)
            coverage.add(chunk)
            n_chunks += 1
            if n_chunks % 100 == 0:
                samples.append(
                    {"chunk": n_chunks, "t": round(time.perf_counter() - t0, 1), **proc_status(), **gpu_now()}
                )
    wall = time.perf_counter() - t0
    samples.append({"chunk": n_chunks, "t": round(wall, 1), **proc_status(), **gpu_now()})
    time.sleep(3.5)  # the backend gives the export's cached GPU memory back once idle
    after = gpu_now()
    audio_s = n_samples / 24_000
    half = [s for s in samples if s["chunk"] >= n_chunks / 2]
    rss_growth = (half[-1]["VmRSS"] - half[0]["VmRSS"]) / half[0]["VmRSS"] if len(half) > 1 else None
    return {
        "engine": engine.description,
        "engine_load_s": round(load_s, 1),
        "chunks": n_chunks,
        "audio_s": round(audio_s, 1),
        "audio_h": round(audio_s / 3600, 2),
        "wall_s": round(wall, 1),
        "xrt": round(audio_s / wall, 1),
        "g2p_s": round(g2p["s"], 1),
        "g2p_share_of_wall": round(g2p["s"] / wall, 3),
        "wav_bytes": wav_path.stat().st_size,
        "peak_rss_mb": proc_status()["VmHWM"],
        "peak_gpu_allocated_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1),
        "peak_gpu_reserved_mb": round(torch.cuda.max_memory_reserved() / 2**20, 1),
        "gpu_after_idle": after,
        "rss_growth_second_half": round(rss_growth, 4) if rss_growth is not None else None,
        "words": coverage.finish(),
        "memory_samples": samples,
    }


def say_file(text_path: Path, wav_path: Path) -> dict:
    """`fasttts-desktop say -f` in a fresh process, polled for RSS and GPU memory."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fasttts_desktop",
            "say",
            "-f",
            str(text_path),
            "-o",
            str(wav_path),
            "--offline",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = {"rss": 0.0, "gpu": 0.0}

    def poll():
        while proc.poll() is None:
            try:
                peak["rss"] = max(peak["rss"], proc_status(str(proc.pid)).get("VmRSS", 0.0))
                q = subprocess.run(
                    ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                for line in q.stdout.splitlines():
                    pid, used = (x.strip() for x in line.split(","))
                    if pid == str(proc.pid):
                        peak["gpu"] = max(peak["gpu"], float(used))
            except (OSError, ValueError):
                pass
            time.sleep(1.0)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    return {
        "returncode": proc.returncode,
        "wall_s": round(wall, 1),
        "peak_rss_mb": peak["rss"],
        "peak_gpu_mb_nvidia_smi": peak["gpu"],
        "wav_bytes": wav_path.stat().st_size if wav_path.exists() else None,
        "stdout": out.strip()[-600:],
        "stderr_tail": err.strip()[-800:],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hours", type=float, default=10.0)
    p.add_argument("--voice", default=None)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--work", type=Path, default=Path("/tmp/long-export"))
    p.add_argument("--say", action="store_true", help="also time `say -f` on the same text in a new process")
    p.add_argument("--skip-engine", action="store_true")
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    text = build_text(args.hours)
    text_path = args.work / "long.txt"
    text_path.write_text(text, encoding="utf-8")
    report = {"text_chars": len(text), "text_words": len(_WORD.findall(text)), "hours_asked": args.hours}
    print(f"text: {report['text_words']} words, {len(text)} characters", flush=True)
    if not args.skip_engine:
        report["engine_export"] = export(text, args.work / "engine.wav", args.voice)
        e = report["engine_export"]
        print(
            f"engine export: {e['audio_h']} h of audio in {e['wall_s']} s ({e['xrt']}x), G2P {e['g2p_s']} s "
            f"({100 * e['g2p_share_of_wall']:.0f}% of wall), words timed {e['words']['timed_words']}/"
            f"{e['words']['input_words']}, peak RSS {e['peak_rss_mb']} MB, GPU peak reserved "
            f"{e['peak_gpu_reserved_mb']} MB, RSS growth over the second half {e['rss_growth_second_half']}",
            flush=True,
        )
        args.out.write_text(json.dumps(report, indent=1))
        (args.work / "engine.wav").unlink(missing_ok=True)
    if args.say:
        report["say_f"] = say_file(text_path, args.work / "say.wav")
        s = report["say_f"]
        print(
            f"say -f: rc {s['returncode']}, {s['wall_s']} s, peak RSS {s['peak_rss_mb']} MB, "
            f"GPU {s['peak_gpu_mb_nvidia_smi']} MB; {s['stdout'][-300:]}",
            flush=True,
        )
        (args.work / "say.wav").unlink(missing_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
