#!/bin/bash
# Copy what the GPU bench runs of this worktree (tracked and untracked, not ignored) into the session
# checkout's ignored .carry/gpu-tree, which the device tool carries: the device copies the session's
# checkout, not a worktree. The window, the worker, the servers and the exporters stay behind (the device has
# no Qt or sound anyway): with the weights (58 MB) and the checkout the whole call must fit 64 MiB on disk.
# Usage: bash scripts/device/carry_tree.sh /work/main
set -eu
dest="$1/.carry/gpu-tree"
cd "$(dirname "$0")/../.."
rm -rf "$dest" && mkdir -p "$dest"
git ls-files -co --exclude-standard -z -- fasttts_desktop scripts/device pyproject.toml \
  ':!fasttts_desktop/ui' ':!fasttts_desktop/server' ':!fasttts_desktop/speechd' ':!fasttts_desktop/desktop' \
  ':!fasttts_desktop/cli' ':!fasttts_desktop/worker' ':!fasttts_desktop/playback' ':!fasttts_desktop/export' \
  ':!fasttts_desktop/resources' ':!fasttts_desktop/bench/cpu*.py' ':!fasttts_desktop/bench/onnx_child.py' \
  ':!fasttts_desktop/engine/text/documents' ':!fasttts_desktop/bench/peer.py' ':!fasttts_desktop/bench/app_latency.py' |
  tar --null -cf - -T - | tar -C "$dest" -xf -
du -sh "$dest"
