# Convenience recipes; the README's test command is plain `cargo test --locked`.

# Run the test suite (unit + integration).
test:
    cargo test --locked

# Lints: rustfmt check, clippy with warnings denied, and the layers (imports only point
# down, no cycles between top-level modules: .ci/layers).
lint:
    cargo fmt --all -- --check
    cargo clippy --locked --all-targets -- -D warnings
    .ci/layers

# Format the code.
fmt:
    cargo fmt --all

# Lints and the tests that need nothing more than cargo. CI (`.ci/run`, as root) runs the
# same lints, then every test including the ignored ones (`test-all`) with the Slurm
# clusters, throwaway users, zsh and fish they need.
ci: lint test

# Every test, the ignored ones included: needs what `.ci/run` sets up (root, the Slurm
# clusters of `.ci/slurm` with CSA_TEST_SLURM=1, the users of `.ci/users`, zsh, fish);
# a test whose prerequisite is missing fails saying so.
test-all:
    cargo test --locked -- --include-ignored --skip agents:: --skip faults::helper

# The full fault-injection and hostile-input suites (CI runs them with smaller counts):
# 200 supervisor-kill trials, 500 back-to-back sessions, a non-reaping parent.
faults:
    CSA_FAULT_TRIALS=200 cargo test --locked --release --test main -- faults hostile --test-threads=2

# The release binary, target/<target tuple>/release/csa (e.g. target/x86_64-unknown-linux-gnu/
# release/csa): the same build as `cargo install --locked --path .`. On x86_64 Linux with glibc,
# .cargo/config.toml links glibc statically without PIE, which cuts start-up time and the
# memory of every supervisor (BENCHMARKS.md); other targets get Cargo's default build.
release:
    cargo build --release --locked

# Benchmarks against setsid/nohup, task-spooler, nq and pueue (not part of `ci`):
# installs the peers if missing, installs csa as the README does (into target/bench/install),
# writes target/bench/report.md.
# `just bench --quick` for a short run.
bench *ARGS:
    bench/run.sh {{ARGS}}

# The agent presets against the real CLIs (codex, claude, gemini, opencode), installed from
# npm into target/tmp/agents-npm (needs node and npm; not part of `ci`): each preset's
# command line, for a prompt in argv and one on standard input, must reach a stub API.
agents:
    CSA_TEST_AGENTS=1 cargo test --locked --test main -- --ignored --nocapture --test-threads=1 agents::
