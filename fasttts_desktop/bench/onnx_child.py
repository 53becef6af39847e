"""kokoro-onnx in its own interpreter, for `bench --cpu` (kokoro-onnx's `phonemizer` would replace the
`phonemizer-fork` that misaki needs, so it lives in a side environment). Imports nothing of this project.

Run as a script: `python onnx_child.py MODEL.onnx VOICES.npz VOICE THREADS`. Reads one JSON request per
line on stdin ({"phonemes": str, "speed": float}) and answers one JSON line per request with the
compute time of kokoro-onnx's own synthesis call ("s", perf_counter seconds) and the samples made ("n").
"""

import json
import sys
import time


def main() -> int:
    model, voices, voice = sys.argv[1], sys.argv[2], sys.argv[3]
    import onnxruntime as rt
    from kokoro_onnx import Kokoro

    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    options = rt.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads  # kokoro-onnx's own default: onnxruntime's (one per core)
    session = rt.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    k = Kokoro.from_session(session, voices)
    style = k.get_voice_style(voice)
    info = {"ready": True, "onnxruntime": rt.__version__}
    try:
        from importlib.metadata import version

        info["kokoro_onnx"] = version("kokoro-onnx")
    except Exception:  # noqa: BLE001 - only for the report
        info["kokoro_onnx"] = None
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        t0 = time.perf_counter()
        # its one-chunk synthesis call, as ours is timed (create() adds splitting and the phonemizer)
        audio, _ = k._create_audio(req["phonemes"], style, req.get("speed", 1.0))  # noqa: SLF001
        print(json.dumps({"s": time.perf_counter() - t0, "n": len(audio)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
