//! Tools: the agent CLI presets (checked with stand-in executables on a temporary PATH that
//! record their argv and standard input), configuration files, `csa tools`, completions
//! and the examples in `--help`.

mod config;
mod help;
mod presets;
mod trust;

use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Output};

use crate::support::{
    Csa, HANG, assert_success, output_with_input, output_within, started_id, stdout,
};
use crate::support_everyday::isolate_config;

/// A stand-in agent CLI: prints its name, each argument on a line, then its stdin.
const STAND_IN: &str = "#!/bin/sh\n\
printf 'prog:%s\\n' \"${0##*/}\"\n\
for a in \"$@\"; do printf 'arg:%s\\n' \"$a\"; done\n\
printf 'stdin:'\n\
cat\n";

/// A temporary directory with stand-ins for every preset's program in `bin/`, and an
/// empty configuration home.
pub struct Bench {
    pub csa: Csa,
    root: tempfile::TempDir,
}

impl Bench {
    pub fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for name in ["codex", "claude", "gemini", "opencode"] {
            let path = bin.join(name);
            std::fs::write(&path, STAND_IN).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::create_dir_all(root.path().join("config/home")).unwrap();
        Self {
            csa: Csa::new(),
            root,
        }
    }

    pub fn path(&self, rel: &str) -> std::path::PathBuf {
        self.root.path().join(rel)
    }

    /// `csa ARGS…` with the stand-ins first on PATH and the bench's configuration home.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut command = self.csa.cmd();
        let path = format!("{}:/usr/bin:/bin", self.path("bin").display());
        command.args(args).env("PATH", path);
        isolate_config(&mut command, &self.path("config"));
        command
    }

    /// [`Bench::cmd`] to its end.
    pub fn output(&self, args: &[&str]) -> Output {
        output_within(&mut self.cmd(args), HANG)
    }

    /// `csa run ARGS…` then `wait`: the job's stdout.
    pub fn run_and_wait(&self, args: &[&str]) -> String {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        let out = output_within(&mut self.cmd(&all), HANG);
        assert_success(&out, "csa run");
        let id = stdout(&out).trim().to_owned();
        let waited = self.csa.wait(&id);
        assert_success(&waited, "csa session wait");
        stdout(&waited)
    }

    /// `csa run ARGS…` with `input` on its standard input (the prompt), then `wait`: the
    /// job's stdout.
    pub fn run_with_stdin_and_wait(&self, args: &[&str], input: &str) -> String {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        let id = started_id(&output_with_input(&mut self.cmd(&all), input.as_bytes()));
        let waited = self.csa.wait(&id);
        assert_success(&waited, "csa session wait");
        stdout(&waited)
    }

    /// A project directory `proj` whose `.csa/config.toml` holds `config`.
    pub fn project(&self, config: &str) -> std::path::PathBuf {
        self.write("proj/.csa/config.toml", config);
        self.path("proj")
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}
