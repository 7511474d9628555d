#!/usr/bin/env bash
# Runs csa's benchmark suite (`just bench`): installs the peers if missing, builds csa in
# release mode, then runs bench/bench.py with the given arguments (`--quick`, `--only …`).
# Not part of the test suite and not run in CI. Results: target/bench/report.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bench/install-peers.sh
cargo build --release --locked
exec python3 bench/bench.py "$@"
