#!/bin/bash
# Copy what the GPU bench runs of this worktree (tracked and untracked, not ignored) into the session
# checkout's ignored .carry/gpu-tree, which the device tool carries: the device copies the session's
# checkout, not a worktree. The GPU experiments (experiments/gpu_*.py, text_stage_ab.py) come along; the
# window, the worker, the servers and the exporters stay behind (the device has no Qt or sound anyway):
# with the weights (58 MB) and the checkout the whole call must fit 64 MiB on disk.
# --app also copies what bench/app_latency.py runs: the worker, playback and the export modules the worker
# imports (Qt and the English front end come as site-qt/qt.tar.xz: qt_site.sh).
# Usage: bash scripts/device/carry_tree.sh [--app] /work/main
set -eu
app=()
if [ "${1:-}" = --app ]; then
  app=(':!fasttts_desktop/worker' ':!fasttts_desktop/playback' ':!fasttts_desktop/export'
    ':!fasttts_desktop/bench/app_latency.py')
  shift
fi
dest="$1/.carry/gpu-tree"
cd "$(dirname "$0")/../.."
excluded=(':!fasttts_desktop/ui' ':!fasttts_desktop/server' ':!fasttts_desktop/speechd' ':!fasttts_desktop/desktop'
  ':!fasttts_desktop/cli' ':!fasttts_desktop/worker' ':!fasttts_desktop/playback' ':!fasttts_desktop/export'
  ':!fasttts_desktop/resources' ':!fasttts_desktop/bench/cpu*.py' ':!fasttts_desktop/bench/onnx_child.py'
  ':!fasttts_desktop/engine/text/documents' ':!fasttts_desktop/bench/peer.py' ':!fasttts_desktop/bench/app_latency.py')
keep=()
for x in "${excluded[@]}"; do
  case " ${app[*]} " in *" $x "*) ;; *) keep+=("$x") ;; esac
done
rm -rf "$dest" && mkdir -p "$dest"
git ls-files -co --exclude-standard -z -- fasttts_desktop scripts/device pyproject.toml \
  experiments/__init__.py 'experiments/gpu_*.py' experiments/text_stage_ab.py "${keep[@]}" |
  tar --null -cf - -T - | tar -C "$dest" -xf -
du -sh "$dest"
