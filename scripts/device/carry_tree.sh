#!/bin/bash
# Copy this worktree's files (tracked and untracked, not ignored) into the session checkout's ignored
# .carry/gpu-tree, which the device tool carries: the device copies the session's checkout, not a worktree.
# Usage: bash scripts/device/carry_tree.sh /work/main
set -eu
dest="$1/.carry/gpu-tree"
cd "$(dirname "$0")/../.."
rm -rf "$dest" && mkdir -p "$dest"
git ls-files -co --exclude-standard -z | tar --null -cf - -T - | tar -C "$dest" -xf -
du -sh "$dest"
