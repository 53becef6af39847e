"""`fasttts-desktop bench --cpu`: the app's CPU path against kokoro's eager float32 reference and kokoro-onnx.

Same weights (the offline int8 export; ours and the reference run its float32 conversion, kokoro-onnx the
int8 graph itself), same voice, same misaki phonemes (phonemes.json). The three alternate sentence by
sentence, so a busy machine slows all of them alike; compare within one run, and prefer a quiet machine.
kokoro-onnx runs in its own interpreter (`--onnx-python`, e.g. a venv with `pip install kokoro-onnx`):
its `phonemizer` package would replace misaki's `phonemizer-fork`. Prints one line per figure and writes
JSON (`--out`). See docs/benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fasttts_desktop.bench import cpu_probes, machine, peer

HERE = Path(__file__).resolve().parent

# Held-out text of other shapes than the Harvard sentences, for the first-chunk latency.
HELD_OUT = [
    (
        "When the rain finally stopped, the children ran outside, shouting and laughing, "
        "to splash in every puddle."
    ),
    "You will need flour, sugar, three eggs, a pinch of salt, and a cup of warm milk for the batter.",
    '"Are you coming with us tonight?" she asked. "No," he said, "I have to finish the report first."',
    "First, open the lid; second, remove the filter; third, rinse it under cold water for a minute.",
    (
        "Although the committee had reviewed the proposal twice, "
        "several members still had serious doubts about it."
    ),
    "The train to Boston, which was supposed to leave at noon, was delayed by almost two hours.",
]


def _say(*parts) -> None:
    print(*parts, flush=True)


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


class OnnxChild:
    """kokoro-onnx in a side interpreter (onnx_child.py): its sessions, timed there call by call."""

    def __init__(self, python: str, model: Path, voices: Path, voice: str, sessions: list[dict]):
        script = HERE / "onnx_child.py"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        config = {"model": str(model), "voices": str(voices), "voice": voice, "sessions": sessions}
        cmd = [python, str(script), json.dumps(config)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        if self.proc.stdin is None or self.proc.stdout is None:  # never: both were asked for as pipes
            raise RuntimeError("the kokoro-onnx process has no pipes")
        self._to, self._from = self.proc.stdin, self.proc.stdout
        line = self._from.readline()
        if not line:
            raise RuntimeError(f"the kokoro-onnx process ended before it was ready ({python})")
        self.info = json.loads(line)

    def __call__(self, request: dict) -> dict:
        self._to.write(json.dumps(request) + "\n")
        self._to.flush()
        return json.loads(self._from.readline())

    def close(self) -> None:
        self._to.close()
        self.proc.wait(timeout=30)


def onnx_sessions(names: list[str], threads: int) -> list[dict]:
    """The onnxruntime sessions asked for by name: `spin`/`nospin` with our thread count (spinning on/off),
    `default` as kokoro-onnx makes it (onnxruntime picks threads; spinning on)."""
    known: dict[str, dict] = {
        "spin": {"threads": threads, "spinning": True},
        "nospin": {"threads": threads, "spinning": False},
        "default": {"threads": None, "spinning": None},
    }
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown onnxruntime session {unknown[0]!r}: choose from {', '.join(known)}")
    return [{"name": n, **known[n]} for n in names]


def peer_label(mode: str, session: dict, read_back: dict) -> str:
    call = "create()" if mode == "create" else "raw run"
    if session["threads"] is None:
        return f"kokoro-onnx {call}, its own session (ORT's threads)"
    spinning = "no spinning" if read_back.get("allow_spinning") == "0" else "spinning"
    return f"kokoro-onnx {call}, {read_back.get('intra_op_num_threads')} thr, {spinning}"


def _side_files(tmp: Path, voices: dict, voice: str) -> tuple[Path, Path]:
    import numpy as np

    from fasttts_desktop.engine.weights.store import read_offline_onnx

    model = tmp / "kokoro-int8.onnx"
    model.write_bytes(read_offline_onnx())
    npz = tmp / "voices.npz"
    np.savez(npz, **{voice: voices[voice].numpy()})
    return model, npz


def _timed(fn, *args) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="fasttts-desktop bench --cpu", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, help="JSON file to write")
    p.add_argument(
        "--voice",
        help="voice for all sides (default: the app's, af_heart where kokoro's voices are installed)",
    )
    p.add_argument("--rounds", type=int, default=3, help="passes over the Harvard sentences")
    p.add_argument("--sentences", type=int, default=30)
    p.add_argument("--onnx-python", help="interpreter with kokoro-onnx installed (side venv)")
    p.add_argument(
        "--onnx-sessions",
        default="spin,nospin",
        help="onnxruntime sessions for kokoro-onnx, comma list of: spin (our thread count, spinning on: "
        "onnxruntime's default), nospin (our thread count, spinning off), "
        "default (kokoro-onnx's own session)",
    )
    p.add_argument(
        "--onnx-modes",
        default="raw,create",
        help="how kokoro-onnx is called, comma list of: raw (InferenceSession.run on our token ids and "
        "style), create (Kokoro.create on the phonemes: trims silence, inserts pauses)",
    )
    p.add_argument(
        "--skip", default="", help="comma list of: reference,long,first,startup,memory,contention,wer"
    )
    p.add_argument("--commit", default=os.environ.get("FASTTTS_COMMIT", ""))
    args = p.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    from fasttts_desktop.engine.synthesis.cpu.threads import configure_process

    configure_process()
    import numpy as np
    import torch

    from fasttts_desktop.engine import Engine
    from fasttts_desktop.engine.synthesis.config import kokoro_config
    from fasttts_desktop.engine.synthesis.eager import EagerBackend
    from fasttts_desktop.engine.synthesis.protocol import Request
    from fasttts_desktop.engine.weights.store import load_weights

    load_before = os.getloadavg()
    phon = json.loads((HERE / "phonemes.json").read_text(encoding="utf-8"))
    harvard = phon["harvard"][: args.sentences]
    weights = load_weights(use_hub=False)
    engine = Engine.load(device="cpu", use_hub=False)
    ours = engine.backend
    if hasattr(ours, "wait_compiled"):  # the steady state: the vocoder blocks compiled (or loaded)
        ours.wait_compiled()
    ref = None if "reference" in skip else EagerBackend(weights.state_dict, torch.device("cpu"))
    voice = args.voice or engine.default_voice
    vocab, pack = kokoro_config()["vocab"], weights.voices[voice]
    res: dict = {
        "voice": voice,
        "cpu": _cpu_model(),
        "machine": machine.cpu(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "onnxruntime": _version("onnxruntime"),
        "commit": args.commit or _git_commit(),
        "ours": ours.description,
        "ours_compiled": getattr(ours, "compiled", "eager"),
        "ours_settings": machine.ours_settings(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }
    m, o = res["machine"], res["ours_settings"]
    _say(
        f"cpu       {res['cpu']} · family/model {m.get('family_model')} · "
        f"{m.get('threads_per_core')} thread(s) per core · flags {' '.join(m['flags'])}"
    )
    _say(
        f"ours      {ours.description} · torch {o['torch']} ({o['cpu_capability']}) · intra-op "
        f"{o['intra_op_threads']}, inter-op {o['inter_op_threads']} · OMP_WAIT_POLICY "
        f"{o['env']['OMP_WAIT_POLICY']}"
    )
    _say(f"voice     {voice}")
    tmp = Path(tempfile.mkdtemp(prefix="fasttts-bench-cpu-"))
    onnx = None
    sessions = onnx_sessions(list(filter(None, args.onnx_sessions.split(","))), res["threads"])
    if args.onnx_python:
        onnx = OnnxChild(args.onnx_python, *_side_files(tmp, weights.voices, voice), voice, sessions)
        res["kokoro_onnx"] = onnx.info
        info = onnx.info
        _say(
            f"peer      kokoro-onnx {info['kokoro_onnx']} · onnxruntime {info['onnxruntime']} "
            f"({info.get('build_info')}) · providers {info['available_providers']} · "
            f"flags it sees {' '.join(info['cpu_flags'])}"
        )
        for name, opts in info["sessions"].items():
            _say(f"peer      session {name}: {json.dumps(opts)}")
    del weights

    def request(phonemes: str) -> Request:
        return Request.from_phonemes(phonemes, pack, 1.0, vocab)

    def local(backend) -> Callable[[str], tuple[peer.Call, Any]]:
        def run(ph: str) -> tuple[peer.Call, Any]:
            req = request(ph)
            c0, t0 = time.process_time(), time.perf_counter()
            out = backend.infer(req)
            return peer.Call(time.perf_counter() - t0, time.process_time() - c0, out.audio.size), out

        return run

    def remote(child: OnnxChild, session: str, mode: str) -> Callable[[str], tuple[peer.Call, Any]]:
        def run(ph: str) -> tuple[peer.Call, Any]:
            req = request(ph)
            ask = {"session": session, "mode": mode, "phonemes": ph, "ids": list(req.input_ids)}
            reply = child({**ask, "style_row": len(ph) - 1, "speed": 1.0})  # the row ours uses
            return peer.Call(reply["s"], reply["cpu_s"], reply["n"]), reply

        return run

    sides: dict[str, Callable[[str], tuple[peer.Call, Any]]] = {"ours": local(ours)}
    labels = {
        "ours": f"ours, {o['intra_op_threads']} thr, OMP wait {o['env']['OMP_WAIT_POLICY'] or 'default'}",
        "reference": "kokoro eager fp32 (same torch settings)",
    }
    if ref is not None:
        sides["reference"] = local(ref)
    peers: list[str] = []
    if onnx is not None:
        for mode in filter(None, args.onnx_modes.split(",")):
            for sess in sessions:
                name = f"kokoro-onnx {mode} {sess['name']}"
                sides[name] = remote(onnx, sess["name"], mode)
                labels[name] = peer_label(mode, sess, onnx.info["sessions"][sess["name"]])
                peers.append(name)
    # the figures after the sentence pass compare ours with one way of calling the peer: the first asked
    main_sides = [k for k in sides if k in ("ours", "reference") or k in peers[:1]]
    for side in sides.values():  # warm-up
        side(harvard[0]["phonemes"])

    # -- per-sentence compute, systems alternated run by run
    calls: dict[str, list[list[peer.Call]]] = {k: [[] for _ in harvard] for k in sides}
    outs: dict[str, list] = {k: [] for k in ("ours", "reference") if k in sides}
    with machine.UsageMeter([onnx.proc.pid] if onnx else []) as meter:
        for rnd in range(args.rounds):
            for i, item in enumerate(harvard):
                for name in peer.round_order(list(sides), rnd):
                    torch.manual_seed(0)
                    call, out = sides[name](item["phonemes"])
                    calls[name][i].append(call)
                    if rnd == 0 and name in outs:
                        outs[name].append(out)
                    if name in peers and not out.get("same_ids", True):
                        res["peer_ids_differ"] = res.get("peer_ids_differ", 0) + 1
    res["sentences"] = peer.summarize(calls)
    res["sentence_pass_usage"] = meter.usage.as_dict()
    res["sentence_labels"] = labels
    res["sentence_phonemes"] = [len(item["phonemes"]) for item in harvard]
    for line in peer.table(res["sentences"], labels):
        _say(f"sentence  {line}")
    _say(f"sentence  {meter.usage.line()}")
    if peers:
        res["ours_over_onnx"] = 1 / res["sentences"][peers[0]]["over_baseline"]
        _say(f"sentence  ours / {labels[peers[0]]}: {res['ours_over_onnx']:.2f} (median of paired ratios)")
    if "reference" in outs:
        d_ours = np.concatenate([o.durations for o in outs["ours"]])
        d_ref = np.concatenate([o.durations for o in outs["reference"]])
        res["durations_equal"] = float((d_ours == d_ref).mean())
        res["durations_within_1"] = float((np.abs(d_ours - d_ref) <= 1).mean())
        _say(
            f"fidelity  durations equal to the reference {res['durations_equal']:.1%}, "
            f"within ±1 frame {res['durations_within_1']:.1%}"
        )

    if "wer" not in skip and "reference" in outs:
        res["wer"] = {}
        for name, made in outs.items():
            errors = words = 0
            for item, out in zip(harvard, made, strict=False):
                e, n = cpu_probes.word_error_rate(item["text"], cpu_probes.recognize(out.audio))
                errors, words = errors + e, words + n
            res["wer"][name] = errors / words
        res["wer"]["voice"] = voice
        res["wer"]["sentences"] = len(harvard)
        _say(
            f"fidelity  PocketSphinx WER ({voice}, {len(harvard)} Harvard sentences) "
            f"ours {res['wer']['ours']:.3f} · reference {res['wer']['reference']:.3f}"
        )

    # -- long text
    if "long" not in skip:
        long_items = phon["long"]
        audio_s = dict.fromkeys(main_sides, 0.0)
        comp_s = dict.fromkeys(main_sides, 0.0)
        for item in long_items:
            for name in main_sides:
                call, _ = sides[name](item["phonemes"])
                comp_s[name] += call.s
                audio_s[name] += call.samples / peer.SAMPLE_RATE
        res["long_rtf"] = {k: comp_s[k] / audio_s[k] for k in main_sides}
        _say(
            "long      RTF "
            + " · ".join(f"{k} {v:.3f}" for k, v in res["long_rtf"].items())
            + "  (target <= 0.3)"
        )

    # -- first chunk from text, warm engine (G2P + first chunk's synthesis)
    if "first" not in skip:
        texts = [h["text"] for h in harvard] + HELD_OUT
        firsts, sizes = [], []
        for text in texts:
            t0 = time.perf_counter()
            chunk = next(iter(engine.stream(text)))
            firsts.append(time.perf_counter() - t0)
            sizes.append(len(chunk.chunk.phonemes))
        res["first_chunk"] = {"p50_s": _pct(firsts, 0.5), "p95_s": _pct(firsts, 0.95), "max_s": max(firsts)}
        res["first_chunk"]["phonemes_min"] = min(sizes)
        f = res["first_chunk"]
        _say(
            f"first     chunk after Speak p50 {f['p50_s']:.2f} s  p95 {f['p95_s']:.2f} s  "
            f"max {f['max_s']:.2f} s  (target p95 <= 1.0)"
        )

    # -- contention: three sentences, quiet vs beside other work, same run
    if "contention" not in skip:
        few = [h["phonemes"] for h in harvard[:3]]

        def three(side) -> float:
            return sum(side(ph)[0].s for ph in few)

        # every kokoro-onnx system: spinning and not-spinning pools react to other work differently
        contended = [k for k in sides if k != "reference"]
        quiet = {k: three(sides[k]) for k in contended}
        res["contention"] = {}
        res["contention_quiet_s"] = quiet
        hogs = {
            "busy1": ("busy", 1, "one busy loop"),
            "busy": ("busy", 2, "two busy loops"),
            "torch": ("torch", 1, "a PyTorch process on all cores"),
        }
        for key, (kind, count, label) in hogs.items():
            with cpu_probes.Hogs(kind, count):
                loaded = {k: three(sides[k]) for k in contended}
            res["contention"][key] = {k: loaded[k] / quiet[k] for k in loaded}
            slower = " · ".join(f"{k} {v:.2f}x" for k, v in res["contention"][key].items())
            _say(f"contend   beside {label}: {slower} slower than quiet  (target <= 2.5x)")

    if onnx is not None:
        onnx.close()
    ref = ours = engine = None  # free the models before the child processes measure memory
    if "startup" not in skip:
        res["startup"] = cpu_probes.startup()
        res["window"] = cpu_probes.window()
        s, w = res["startup"], res["window"]
        _say(
            f"start     engine ready {s['ready_s']:.2f} s · "
            f"first audio {s['first_audio_s']:.2f} s after process start  (target <= 2)"
        )
        _say(
            f"start     window shown {w['shown_s']:.2f} s · ready {w['ready_s']:.2f} s · "
            f"status '{w['status']}'  (target <= 1)"
        )
    if "memory" not in skip:
        res["memory"] = cpu_probes.memory(HERE / "long_text.txt")
        m = res["memory"]
        _say(
            f"memory    peak after a short text {m['short_peak_mb']:.0f} MB (target <= 500) · "
            f"after long text peak {m['after_long_1_peak_mb']:.0f} MB, "
            f"again {m['after_long_2_peak_mb']:.0f} MB (target <= 800)"
        )
    res["loadavg_before"], res["loadavg_after"] = load_before, os.getloadavg()
    _say(f"load      average before {load_before[0]:.2f} · after {res['loadavg_after'][0]:.2f}")
    if args.out:
        args.out.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
        _say(f"wrote {args.out}")
    return 0


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        with Path("/proc/cpuinfo").open() as f:
            for line in f:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} logical)"
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


if __name__ == "__main__":
    sys.exit(main())
