//! The shell recipes of the documentation, run literally: each is read from its Markdown
//! file (the fenced block after `<!-- recipe: NAME -->`), so the docs and this test cannot
//! drift. `cargo` and `make` are stand-ins on `PATH` (installing copies the built binary;
//! `make TARGET` sleeps `MAKE_SLEEP` seconds, prints, and exits `MAKE_EXIT` when TARGET is
//! `MAKE_FAIL`; with `MAKE_GATE`, it first waits for that file); everything else is real.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

use crate::support::{Csa, HANG, output_within};

mod ci;
mod fleets;
mod setup;
mod tour;

/// The fenced block after `<!-- recipe: NAME -->` in `doc` (relative to the repository).
fn recipe(doc: &str, name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(doc);
    let text = std::fs::read_to_string(&path).unwrap();
    let marker = format!("<!-- recipe: {name} -->\n");
    let start = text
        .find(&marker)
        .unwrap_or_else(|| panic!("{doc}: no {marker}"))
        + marker.len();
    let block = &text[start..];
    assert!(
        block.starts_with("```"),
        "{doc}: {name} is not followed by a code block"
    );
    let body = &block[block.find('\n').unwrap() + 1..];
    body[..=body.find("\n```").unwrap()].to_owned()
}

/// A private installation: a state root, a home, and `cargo`/`make` stand-ins on `PATH`.
struct Sandbox {
    csa: Csa,
    home: tempfile::TempDir,
    bin: tempfile::TempDir,
    work: tempfile::TempDir,
}

const CARGO: &str = r#"#!/bin/sh
case "$1" in
  install) dir="${CARGO_HOME:-$HOME/.cargo}/bin"; mkdir -p "$dir" && cp "$CSA_BUILT" "$dir/csa" ;;
  --version) echo "cargo 1.0.0 (stand-in)" ;;
  *) echo "cargo stand-in: $*" >&2; exit 1 ;;
esac
"#;

const CODEX: &str = r#"#!/bin/sh
echo "codex ran"
"#;

const MAKE: &str = r#"#!/bin/sh
# With MAKE_GATE, first wait (at most 10 minutes) for that file to exist.
n=0
while [ -n "${MAKE_GATE:-}" ] && [ ! -e "$MAKE_GATE" ] && [ "$n" -lt 6000 ]; do sleep 0.1; n=$((n + 1)); done
sleep "${MAKE_SLEEP:-0}"
echo "make $1 ran"
if [ "$1" = "${MAKE_FAIL:-}" ]; then exit "${MAKE_EXIT:-1}"; fi
"#;

impl Sandbox {
    fn new() -> Self {
        let bin = tempfile::tempdir().unwrap();
        for (name, text) in [("cargo", CARGO), ("make", MAKE), ("codex", CODEX)] {
            let path = bin.path().join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Self {
            csa: Csa::new(),
            home: tempfile::tempdir().unwrap(),
            bin,
            work: tempfile::tempdir().unwrap(),
        }
    }

    /// `PATH` with the stand-ins and, unless `installed` is false, csa itself.
    fn path(&self, installed: bool) -> String {
        let csa = Path::new(env!("CARGO_BIN_EXE_csa")).parent().unwrap();
        if installed {
            format!(
                "{}:{}:/usr/bin:/bin",
                self.bin.path().display(),
                csa.display()
            )
        } else {
            format!("{}:/usr/bin:/bin", self.bin.path().display())
        }
    }

    /// `shell ARGS… -c script` in the work directory with a clean environment plus `env`.
    fn run(&self, shell: &[&str], script: &str, installed: bool, env: &[(&str, &str)]) -> Output {
        output_within(&mut self.command(shell, script, installed, env), HANG)
    }

    /// The command [`Sandbox::run`] runs, not started.
    fn command(
        &self,
        shell: &[&str],
        script: &str,
        installed: bool,
        env: &[(&str, &str)],
    ) -> Command {
        let mut command = Command::new(shell[0]);
        command
            .args(&shell[1..])
            .arg("-c")
            .arg(script)
            .current_dir(self.work.path())
            .env_clear()
            .env("PATH", self.path(installed))
            .env("HOME", self.home.path())
            .env("CSA_STATE_DIR", self.csa.state.path())
            .env("CSA_BUILT", env!("CARGO_BIN_EXE_csa"))
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null());
        command
    }
}
