#!/usr/bin/env bash
# Installs what the benchmark suite compares csa with, when missing: task-spooler (`tsp`),
# nq (`nq`, `fq`) and hyperfine from Debian, and pueue (`pueue`, `pueued`) from crates.io
# into a bench-only prefix, target/bench-tools/, reused across runs.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v tsp >/dev/null || missing+=(task-spooler)
command -v nq >/dev/null || missing+=(nq)
command -v hyperfine >/dev/null || missing+=(hyperfine)
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update
    $sudo apt-get install -y "${missing[@]}"
fi
if [ ! -x target/bench-tools/bin/pueued ]; then
    echo "bench: installing pueue into target/bench-tools (takes a while)" >&2
    nice cargo install pueue --locked --root target/bench-tools
fi
