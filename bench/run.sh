#!/usr/bin/env bash
# Runs csa's benchmark suite (`just bench`): installs the peers if missing, builds csa in
# release mode (static, as `just release`), then runs bench/bench.py with the given
# arguments (`--quick`, `--only SECTION…`).
# Not part of the test suite and not run in CI. Results: target/bench/report.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bench/install-peers.sh
# The release binary as shipped by `just release`: glibc linked statically, no PIE (no
# dynamic loader and no relocations at start-up; see BENCHMARKS.md).
if rustc -vV | grep -q '^host: .*-linux-gnu'; then
    cargo rustc --release --locked --bin csa -- -C target-feature=+crt-static -C relocation-model=static
else
    cargo build --release --locked
fi
exec python3 bench/bench.py "$@"
