#!/bin/bash
# Copy this worktree's files that run on the device (the package, experiments, scripts, pyproject.toml;
# tracked and untracked, not ignored) into the session checkout's ignored .carry/gpu-tree, which the device
# tool carries: the device copies the session's checkout, not a worktree. Tests and docs stay behind: with
# the weights (58 MB) the whole carry must stay under the tool's 64 MiB.
# Usage: bash scripts/device/carry_tree.sh /work/main
set -eu
dest="$1/.carry/gpu-tree"
cd "$(dirname "$0")/../.."
rm -rf "$dest" && mkdir -p "$dest"
git ls-files -co --exclude-standard -z -- fasttts_desktop experiments scripts pyproject.toml |
  tar --null -cf - -T - | tar -C "$dest" -xf -
du -sh "$dest"
