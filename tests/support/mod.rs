//! Test helpers: a `csa` command builder with a private state root (this file), running
//! commands with a hang limit and deadline polling (never fixed sleeps), the processes a
//! test's sessions started, and assertions on what a command printed.

#![allow(dead_code)]

mod assert;
mod command;
mod gate;
pub mod isolation;
mod output;
mod perms;
mod processes;
pub mod pty;
pub mod require;

pub use assert::{
    assert_contains, assert_error, assert_exit, assert_no_panic, assert_output, assert_reason,
    assert_record, assert_success,
};
pub use command::{exited_within, output_with_input, output_within, read_on_a_thread, wait_for};
pub use gate::{Gate, Gated};
pub use output::{code, directive, is_ulid, started_id, stderr, stdout};
pub use perms::{NOBODY, csa_as_nobody, set_mode};
pub use processes::{
    assert_group_empty, carrying, group_members, has_open, pids, process_alive, wait_group_empty,
};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The csa binary under test (its path, as Cargo built it): for scripts that run csa.
pub const BIN: &str = env!("CARGO_BIN_EXE_csa");

/// The longest any single csa invocation may take in a test before it counts as hung.
pub const HANG: Duration = Duration::from_secs(60);

/// A private csa installation: its own state root, removed when dropped.
pub struct Csa {
    pub state: tempfile::TempDir,
    /// Variables set for every csa command of this installation ([`Csa::with_env`]).
    env: Vec<(String, String)>,
}

impl Csa {
    pub fn new() -> Self {
        Self::new_in(&std::env::temp_dir())
    }

    /// An installation whose state root is a new directory in `parent` (a tmpfs, a
    /// directory a Slurm node cannot see, …).
    pub fn new_in(parent: &Path) -> Self {
        Self {
            state: tempfile::tempdir_in(parent).expect("temporary state root"),
            env: Vec::new(),
        }
    }

    /// This installation with `key=value` in the environment of each of its csa commands.
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// `csa` with `CSA_STATE_DIR` set and standard input from /dev/null.
    pub fn cmd(&self) -> Command {
        let mut command = Command::new(BIN);
        command
            .env("CSA_STATE_DIR", self.state.path())
            .env("RUST_BACKTRACE", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        command
    }

    /// `csa session wait ARGS…` ([`Csa::cmd`]) with `NO_COLOR` and `CLICOLOR_FORCE` unset,
    /// then `env` set: whether escapes are allowed is up to `--color` and the streams.
    pub fn wait_cmd(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = self.cmd();
        command
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .envs(env.iter().copied())
            .args(["session", "wait"])
            .args(args);
        command
    }

    /// `SHELL -c SCRIPT` where `$CSA` is the csa binary and `CSA_STATE_DIR` this
    /// installation's root, standard input from /dev/null: csa as a shell script calls it.
    pub fn shell_command(&self, shell: &str, script: &str) -> Command {
        let csa = self.cmd();
        let mut command = Command::new(shell);
        command
            .args(["-c", script])
            .envs(csa.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .env("CSA", csa.get_program())
            .stdin(Stdio::null());
        command
    }

    /// `/bin/sh -c SCRIPT` ([`Csa::shell_command`]).
    pub fn sh_command(&self, script: &str) -> Command {
        self.shell_command("/bin/sh", script)
    }

    /// Runs [`Csa::sh_command`] to completion (failing the test after [`HANG`]).
    pub fn sh(&self, script: &str) -> Output {
        output_within(&mut self.sh_command(script), HANG)
    }

    /// Runs `csa ARGS…` to completion (failing the test if it takes longer than [`HANG`]).
    pub fn output(&self, args: &[&str]) -> Output {
        output_within(self.cmd().args(args), HANG)
    }

    /// `csa WORDS LAST`: the words written as on a command line (split at spaces; none may
    /// contain one), then one last argument as it is (a script); to completion.
    pub fn output_with(&self, words: &str, last: &str) -> Output {
        let mut args: Vec<&str> = words.split_whitespace().collect();
        args.push(last);
        self.output(&args)
    }

    /// `csa run SCRIPT`: asserts success and returns the session ID.
    pub fn run(&self, script: &str) -> String {
        self.run_args(&[script])
    }

    /// `csa run ARGS…`: asserts success and returns the session ID.
    pub fn run_args(&self, args: &[&str]) -> String {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        let out = self.output(&all);
        assert_success(&out, "csa run");
        let stdout = String::from_utf8(out.stdout).expect("utf-8 ID");
        stdout.trim_end().to_owned()
    }

    /// `csa run OPTIONS SCRIPT`, the options written as on a command line (split at
    /// spaces; none may contain one): asserts success and returns the session ID.
    pub fn run_with(&self, options: &str, script: &str) -> String {
        let mut args: Vec<&str> = options.split_whitespace().collect();
        args.push(script);
        self.run_args(&args)
    }

    /// `csa run --name NAME SCRIPT`: asserts success and returns the session ID.
    pub fn run_named(&self, name: &str, script: &str) -> String {
        self.run_args(&["--name", name, script])
    }

    /// `csa run SCRIPT` waited for to its end: asserts it exited with `code`; returns the
    /// session ID.
    #[track_caller]
    pub fn finished(&self, script: &str, code: i32) -> String {
        let id = self.run(script);
        let out = self.wait(&id);
        assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
        id
    }

    /// `csa session wait --session ID --until-done`.
    pub fn wait(&self, id: &str) -> Output {
        self.output(&["session", "wait", "--session", id, "--until-done"])
    }

    /// How csa's directives start a command line for this installation: the state root
    /// (from `CSA_STATE_DIR`) and the binary's absolute path, e.g.
    /// `CSA_STATE_DIR=/tmp/.tmpX /…/target/debug/csa`.
    pub fn pasted_csa(&self) -> String {
        let exe = std::fs::canonicalize(BIN).unwrap();
        format!(
            "CSA_STATE_DIR={} {}",
            self.state.path().display(),
            exe.display()
        )
    }

    pub fn sessions_dir(&self) -> PathBuf {
        self.state.path().join("sessions")
    }

    pub fn session_dir(&self, id: &str) -> PathBuf {
        self.sessions_dir().join(id)
    }

    /// A file of the session directory, as text (empty when missing).
    pub fn file(&self, id: &str, name: &str) -> String {
        std::fs::read_to_string(self.session_dir(id).join(name)).unwrap_or_default()
    }

    /// The session IDs on disk.
    pub fn session_ids(&self) -> Vec<String> {
        let mut ids = self.session_entries();
        // `csa run` stages a new session as `.new-<ID>` until it is complete.
        ids.retain(|name| !name.starts_with('.'));
        ids
    }

    /// Every name in the `sessions` directory, staged sessions (`.new-<ID>`) included.
    pub fn session_entries(&self) -> Vec<String> {
        names_in(&self.sessions_dir())
    }

    /// Fails the test when the store holds a session (`what` made one, e.g. "a usage
    /// error").
    #[track_caller]
    pub fn assert_no_session(&self, what: &str) {
        let ids = self.session_ids();
        assert!(ids.is_empty(), "{what} left sessions: {ids:?}");
    }

    /// `result.toml` parsed as a TOML table, if present.
    pub fn result(&self, id: &str) -> Option<toml::Table> {
        let text = std::fs::read_to_string(self.session_dir(id).join("result.toml")).ok()?;
        text.parse().ok()
    }

    /// The supervisor PID from `daemon.pid`.
    pub fn supervisor_pid(&self, id: &str) -> i32 {
        let text = std::fs::read_to_string(self.session_dir(id).join("daemon.pid")).unwrap();
        text.split_whitespace().next().unwrap().parse().unwrap()
    }
}

/// A project directory whose `.csa/config.toml` holds `config`.
pub fn project(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".csa")).unwrap();
    std::fs::write(dir.path().join(".csa/config.toml"), config).unwrap();
    dir
}

/// The names in directory `dir` (none when it cannot be read, e.g. does not exist yet).
pub fn names_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

impl Drop for Csa {
    fn drop(&mut self) {
        // Leave no process of this test's sessions running: jobs, and what they left behind
        // (whose inherited descriptors could hold a caller's pipe or lock open).
        self.kill_groups(&self.session_ids());
    }
}

pub fn exists(path: &Path) -> bool {
    path.exists()
}
