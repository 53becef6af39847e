"""kokoro-onnx in its own interpreter, for `bench --cpu` (kokoro-onnx's `phonemizer` would replace the
`phonemizer-fork` that misaki needs, so it lives in a side environment). Imports nothing of this project.

Run as a script: `python onnx_child.py CONFIG_JSON`, where the config names the model, the voices file, the
voice, and the onnxruntime sessions to open: {"model", "voices", "voice", "sessions": [{"name", "threads",
"spinning"}]}; a session with "threads": null and "spinning": null is kokoro-onnx's own (`create_session`:
onnxruntime's defaults). The first line written is what decides onnxruntime's speed here: its version and
build, providers, the CPU flags the kernel reports, and each session's options read back from the session.

Then one JSON request per line on stdin, {"session", "mode", "phonemes", "ids", "style_row", "speed"}, each
answered with one JSON line: wall and process-CPU seconds of the call ("s", "cpu_s") and the samples made
("n"). Modes:
- "raw": `InferenceSession.run` on the ids and style row the bench gives (the same as ours gets); the
  audio is the model's whole output, untrimmed. Also answers "n_trimmed" (kokoro-onnx's silence trim,
  outside the timing) and "same_ids" (kokoro-onnx's tokenizer makes the same ids).
- "create": `Kokoro.create(phonemes, is_phonemes=True)`, its public call: tokenizing, style lookup, the
  same run, then the silence trimmed and pauses inserted.
"""

import json
import os
import sys
import time

# the flags that select onnxruntime's (MLAS) kernels on x86: int8 GEMMs use VNNI/AMX where present
CPU_FLAGS = (
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "avx_vnni",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
)
SPIN_KEY = "session.intra_op.allow_spinning"
ENV_KEYS = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "ORT_DISABLE_ALL", "ONNX_PROVIDER")


def cpu_flags() -> list[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:  # noqa: PTH123 - a side script, kept plain
            for line in f:
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    return [f for f in CPU_FLAGS if f in have]
    except OSError:
        pass
    return []


def options(rt, threads, spinning):
    o = rt.SessionOptions()
    if threads:
        o.intra_op_num_threads = threads
        o.inter_op_num_threads = 1  # as ours; ORT_SEQUENTIAL never uses the inter-op pool anyway
    if spinning is not None:
        o.add_session_config_entry(SPIN_KEY, "1" if spinning else "0")
    return o


def read_back(session) -> dict:
    """The options the session runs with, read from the session (not from what was asked)."""
    o = session.get_session_options()
    try:
        spin = o.get_session_config_entry(SPIN_KEY)
    except Exception:  # noqa: BLE001 - unset: onnxruntime's default, spinning on
        spin = "unset (default: spinning on)"
    return {
        "intra_op_num_threads": o.intra_op_num_threads,
        "inter_op_num_threads": o.inter_op_num_threads,
        "allow_spinning": spin,
        "execution_mode": str(o.execution_mode),
        "graph_optimization_level": str(o.graph_optimization_level),
        "use_per_session_threads": o.use_per_session_threads,
        "providers": session.get_providers(),
    }


def main() -> int:
    cfg = json.loads(sys.argv[1])
    import numpy as np
    import onnxruntime as rt
    from kokoro_onnx import Kokoro
    from kokoro_onnx.session import create_session
    from kokoro_onnx.trim import trim

    sessions, info = {}, {}
    for s in cfg["sessions"]:
        if s.get("threads") is None and s.get("spinning") is None:
            session = create_session(cfg["model"])  # kokoro-onnx's own choice of providers and options
        else:
            opts = options(rt, s.get("threads"), s.get("spinning"))
            session = rt.InferenceSession(cfg["model"], opts, providers=["CPUExecutionProvider"])
        sessions[s["name"]] = Kokoro.from_session(session, cfg["voices"])
        info[s["name"]] = read_back(session)
    voice = next(iter(sessions.values())).get_voice_style(cfg["voice"])
    inputs = {i.name: i.type for i in next(iter(sessions.values())).sess.get_inputs()}
    ids_name = "input_ids" if "input_ids" in inputs else "tokens"
    ids_dtype = np.int32 if inputs[ids_name] == "tensor(int32)" else np.int64
    try:
        from importlib.metadata import version

        kokoro_onnx = version("kokoro-onnx")
    except Exception:  # noqa: BLE001 - only for the report
        kokoro_onnx = None
    ready = {
        "ready": True,
        "onnxruntime": rt.__version__,
        "build_info": rt.get_build_info() if hasattr(rt, "get_build_info") else None,
        "device": rt.get_device(),
        "available_providers": rt.get_available_providers(),
        "kokoro_onnx": kokoro_onnx,
        "numpy": np.__version__,
        "cpu_flags": cpu_flags(),
        "env": {k: os.environ.get(k) for k in ENV_KEYS},
        "sessions": info,
    }
    print(json.dumps(ready), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        k = sessions[req["session"]]
        speed = req.get("speed", 1.0)
        reply = {}
        if req["mode"] == "raw":
            feed = {
                ids_name: np.array([req["ids"]], dtype=ids_dtype),
                "style": np.asarray(voice[req["style_row"]], dtype=np.float32),
                "speed": np.array([speed], dtype=np.float32),
            }
            c0, t0 = time.process_time(), time.perf_counter()
            audio = np.asarray(k.sess.run(None, feed)[0]).ravel()
            reply["s"], reply["cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
            reply["n_trimmed"] = len(trim(audio)[0])
            reply["same_ids"] = [0, *k.tokenizer.tokenize(req["phonemes"]), 0] == req["ids"]
        else:
            c0, t0 = time.process_time(), time.perf_counter()
            audio, _ = k.create(req["phonemes"], cfg["voice"], speed, is_phonemes=True)
            reply["s"], reply["cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
        reply["n"] = len(audio)
        print(json.dumps(reply), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
