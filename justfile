# Convenience recipes; the README's test command is plain `cargo test --locked`.

# Run the test suite (unit + integration).
test:
    cargo test --locked

# Lints: rustfmt check and clippy with warnings denied.
lint:
    cargo fmt --all -- --check
    cargo clippy --locked --all-targets -- -D warnings

# Format the code.
fmt:
    cargo fmt --all

# What CI runs (`.ci/run` calls the same steps).
ci: lint test

# The full fault-injection and hostile-input suites (CI runs them with smaller counts):
# 200 supervisor-kill trials, 500 back-to-back sessions, a non-reaping parent.
faults:
    CSA_FAULT_TRIALS=200 cargo test --locked --release --test main -- faults hostile --test-threads=2

# The release binary, target/release/csa: glibc linked statically and no PIE, which cuts
# start-up time and the memory of every supervisor (BENCHMARKS.md). On other platforms use
# `cargo build --release`.
release:
    cargo rustc --release --locked --bin csa -- -C target-feature=+crt-static -C relocation-model=static

# Benchmarks against setsid/nohup, task-spooler, nq and pueue (not part of `ci`):
# installs the peers if missing, builds --release, writes target/bench/report.md.
# `just bench --quick` for a short run.
bench *ARGS:
    bench/run.sh {{ARGS}}

# The agent presets against the real CLIs (codex, claude, gemini, opencode), installed from
# npm into target/tmp/agents-npm (needs node and npm; not part of `ci`): each preset's
# command line, for a prompt in argv and one on standard input, must reach a stub API.
agents:
    CSA_TEST_AGENTS=1 cargo test --locked --test main -- --ignored --nocapture --test-threads=1 agents::
