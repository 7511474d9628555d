//! Test helpers: a `csa` command builder with a private state root, and deadline polling
//! (never fixed sleeps).

#![allow(dead_code)]

mod assert;
mod gate;
pub mod isolation;
mod perms;
pub mod pty;
pub mod require;

pub use assert::{
    assert_contains, assert_error, assert_exit, assert_output, assert_reason, assert_record,
};
pub use gate::{Gate, Gated};
pub use perms::{NOBODY, csa_as_nobody, set_mode};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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

    /// SIGKILLs what is left of the session's process group (test clean-up): every live
    /// process whose process group is the one `daemon.pid` names *and* whose environment
    /// carries this session's `CSA_SESSION_ID`, so a tampered `daemon.pid` can never aim it
    /// at anything else. Scans again until none is left (at most [`HANG`]): a shell may fork
    /// a child between a scan and the signal that kills the shell.
    pub fn kill_group(&self, id: &str) {
        self.kill_groups(&[id.to_owned()]);
    }

    /// [`Csa::kill_group`] for each of `ids`, with one scan of `/proc` per round.
    pub fn kill_groups(&self, ids: &[String]) {
        let marked: Vec<(i32, &str)> = ids
            .iter()
            .filter_map(|id| {
                // Only a regular file, and only its start: a test may plant a FIFO there,
                // which would block, or a 3 GB file.
                let path = self.session_dir(id).join("daemon.pid");
                if !std::fs::symlink_metadata(&path).is_ok_and(|meta| meta.is_file()) {
                    return None;
                }
                let mut text = String::new();
                std::io::Read::read_to_string(
                    &mut std::io::Read::take(std::fs::File::open(path).ok()?, 64),
                    &mut text,
                )
                .ok()?;
                let pgid = text.split_whitespace().next()?.parse::<i32>().ok()?;
                (pgid > 1).then_some((pgid, id.as_str()))
            })
            .collect();
        if marked.is_empty() {
            return;
        }
        let deadline = Instant::now() + HANG;
        let mut pause = Duration::from_millis(1);
        loop {
            let left: Vec<i32> = processes()
                .into_iter()
                .filter(|(pid, pgid)| {
                    marked
                        .iter()
                        .any(|(group, id)| group == pgid && carries(*pid, id))
                })
                .map(|(pid, _)| pid)
                .collect();
            if left.is_empty() || Instant::now() >= deadline {
                return;
            }
            for pid in left {
                if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}

/// A project directory whose `.csa/config.toml` holds `config`.
pub fn project(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".csa")).unwrap();
    std::fs::write(dir.path().join(".csa/config.toml"), config).unwrap();
    dir
}

/// The PIDs in `/proc` now.
pub fn pids() -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .collect()
}

/// True when process `pid` carries session `id`: its environment has
/// `CSA_SESSION_ID=<id>` (the session's supervisor or watcher, its job and what the job
/// started).
pub fn carries(pid: i32, id: &str) -> bool {
    let marker = format!("CSA_SESSION_ID={id}");
    std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .any(|var| var == marker.as_bytes())
}

/// True when process `pid` has `path` open.
pub fn has_open(pid: i32, path: &Path) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
        fds.flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))
    })
}

/// The live processes (not zombies) that carry session `id` ([`carries`]).
pub fn carrying(id: &str) -> Vec<i32> {
    pids()
        .into_iter()
        .filter(|pid| carries(*pid, id) && process_alive(*pid))
        .collect()
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

/// Every live (not zombie) process with its process group.
fn processes() -> Vec<(i32, i32)> {
    pids()
        .into_iter()
        .filter_map(|pid| {
            let (state, pgid, _, _) = crate::procs::stat(pid)?;
            (!matches!(state, 'Z' | 'X')).then_some((pid, pgid))
        })
        .collect()
}

/// The PIDs of live processes in process group `pgid`.
pub fn group_members(pgid: i32) -> Vec<i32> {
    processes()
        .into_iter()
        .filter(|(_, group)| *group == pgid)
        .map(|(pid, _)| pid)
        .collect()
}

/// Asserts that process group `pgid` has no live member now; the panic names `what` and
/// the members left.
#[track_caller]
pub fn assert_group_empty(pgid: i32, what: &str) {
    let members = group_members(pgid);
    assert!(
        members.is_empty(),
        "{what}: process group {pgid} still has {members:?}"
    );
}

/// Waits (up to [`HANG`]) until process group `pgid` has no live member; panics naming
/// `what` (what should have stopped it) if one is left.
#[track_caller]
pub fn wait_group_empty(pgid: i32, what: &str) {
    wait_for(
        HANG,
        &format!("{what} to leave process group {pgid} empty"),
        || group_members(pgid).is_empty(),
    );
}

impl Drop for Csa {
    fn drop(&mut self) {
        // Leave no process of this test's sessions running: jobs, and what they left behind
        // (whose inherited descriptors could hold a caller's pipe or lock open).
        self.kill_groups(&self.session_ids());
    }
}

/// Reads `reader` on a new thread until its end or an error (a terminal's master reads EIO
/// once the last process holding the terminal is gone), handing each chunk read to `chunk`;
/// then calls `at_end`.
pub fn read_on_a_thread(
    mut reader: impl std::io::Read + Send + 'static,
    mut chunk: impl FnMut(&[u8]) + Send + 'static,
    at_end: impl FnOnce() + Send + 'static,
) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buffer) {
            if n == 0 {
                break;
            }
            chunk(&buffer[..n]);
        }
        at_end();
    });
}

/// Runs `command` to completion with piped stdout/stderr; panics if it takes longer than
/// `limit` (a hang), killing it first.
pub fn output_within(command: &mut Command, limit: Duration) -> Output {
    output_fed(command, None, limit)
}

/// Runs `command` to completion with `input` on its standard input (written from a thread
/// and then closed; a command that stops reading early is fine) and piped stdout/stderr;
/// panics if it takes longer than [`HANG`], killing it first.
pub fn output_with_input(command: &mut Command, input: &[u8]) -> Output {
    output_fed(command, Some(input.to_vec()), HANG)
}

fn output_fed(command: &mut Command, input: Option<Vec<u8>>, limit: Duration) -> Output {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    if input.is_some() {
        command.stdin(Stdio::piped());
    }
    let mut child = command.spawn().expect("spawn csa");
    let writer = input.map(|input| {
        let mut stdin = child.stdin.take().expect("piped stdin");
        std::thread::spawn(move || {
            let _ = std::io::Write::write_all(&mut stdin, &input);
        })
    });
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    let watchdog = std::thread::spawn(move || {
        if rx.recv_timeout(limit).is_err() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            return true;
        }
        false
    });
    let out = child.wait_with_output().expect("wait for csa");
    let _ = tx.send(());
    let hung = watchdog.join().unwrap();
    assert!(!hung, "command hung for {limit:?}: {command:?}");
    if let Some(writer) = writer {
        writer.join().expect("the writer of standard input");
    }
    assert_no_panic(&out);
    out
}

/// The session ID `csa run` printed: asserts that it succeeded and printed one.
#[track_caller]
pub fn started_id(out: &Output) -> String {
    assert_success(out, "csa run");
    let id = String::from_utf8_lossy(&out.stdout).trim_end().to_owned();
    assert!(is_ulid(&id), "not a session ID: {id:?}");
    id
}

/// Polls `child` until it exits; `None` once `limit` has passed (the caller says what
/// hung).
pub fn exited_within(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Fails the test if csa panicked.
pub fn assert_no_panic(out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked at"), "csa panicked: {stderr}");
}

pub fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Polls `condition` until it holds, failing the test after `limit`.
pub fn wait_for(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// True while process `pid` exists and is not a zombie.
pub fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .next();
            !matches!(state, Some("Z" | "X"))
        }
        Err(_) => false,
    }
}

/// A line of stderr that starts with `CSA:<name>`.
pub fn directive<'a>(stderr: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("CSA:{name} ");
    stderr.lines().find(|line| line.starts_with(&prefix))
}

/// True for 26 upper-case Crockford base32 characters.
pub fn is_ulid(text: &str) -> bool {
    text.len() == 26
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b)))
}

pub fn exists(path: &Path) -> bool {
    path.exists()
}

/// The exit code of `out`; fails the test (at the caller's line) when a signal ended it.
#[track_caller]
pub fn code(out: &Output) -> i32 {
    match out.status.code() {
        Some(code) => code,
        None => panic!(
            "no exit code (killed by a signal?): {:?}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Standard error of `out` as text.
#[track_caller]
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Standard output of `out` as text.
#[track_caller]
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
