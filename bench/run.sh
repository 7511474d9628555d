#!/usr/bin/env bash
# Runs csa's benchmark suite (`just bench`): installs the peers if missing, installs csa the
# way the README does (`cargo install --locked --path .`, here into target/bench/install so
# that the csa on your PATH is left alone), then runs bench/bench.py with the given arguments
# (`--quick`, `--only SECTION…`) on exactly that installed binary.
# Not part of the test suite and not run in CI. Results: target/bench/report.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bench/install-peers.sh
# .cargo/config.toml makes this the static, non-PIE build on x86_64 Linux (BENCHMARKS.md).
cargo install --locked --force --path . --root target/bench/install
# Write the build's hundreds of MiB out now, so that their writeback does not land in the
# first sections' measurements (it made `csa run` look 30 % slower in one run).
sync
exec python3 bench/bench.py "$@"
