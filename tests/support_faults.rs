//! Helpers of the fault-injection and hostile-input suites: trial counts, a seeded random
//! source, signals, helper processes, and snapshots of files that must stay untouched.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use rustix::process::{Pid, Signal};

/// The environment variable that selects the full fault suite: the number of
/// supervisor-kill trials (e.g. 200); every other fault test then uses its full count.
pub const TRIALS_VAR: &str = "CSA_FAULT_TRIALS";

/// The trial count of a test: `ci` normally, `full` when [`TRIALS_VAR`] is set.
pub fn trials(ci: usize, full: usize) -> usize {
    if std::env::var_os(TRIALS_VAR).is_some() {
        full
    } else {
        ci
    }
}

/// The supervisor-kill trial count: the value of [`TRIALS_VAR`], else `ci`.
pub fn kill_trials(ci: usize) -> usize {
    std::env::var(TRIALS_VAR)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(ci)
}

/// A random source seeded from `CSA_FAULT_SEED` or at random; the seed is printed so a
/// failing run can be replayed.
pub fn rng(test: &str) -> fastrand::Rng {
    let seed = std::env::var("CSA_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("{test}: CSA_FAULT_SEED={seed}");
    fastrand::Rng::with_seed(seed)
}

/// Sends signal number `signal` to process `pid`; errors are ignored (it may be gone).
/// Fails the test for a PID below 2: `kill(-1)` or `kill(0)` would reach far more than the
/// test's own processes.
pub fn signal(pid: i32, signal: i32) {
    assert!(pid > 1, "refusing to signal PID {pid}");
    if let (Some(pid), Some(signal)) = (Pid::from_raw(pid), Signal::from_named_raw(signal)) {
        let _ = rustix::process::kill_process(pid, signal);
    }
}

/// Sends signal number `signal` to process group `pgid`; errors are ignored. Fails the
/// test for a group below 2 (see [`signal`]).
pub fn signal_group(pgid: i32, signal: i32) {
    assert!(pgid > 1, "refusing to signal process group {pgid}");
    if let (Some(pid), Some(signal)) = (Pid::from_raw(pgid), Signal::from_named_raw(signal)) {
        let _ = rustix::process::kill_process_group(pid, signal);
    }
}

/// Field 22 of `/proc/<pid>/stat`: the start time in clock ticks since boot.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit(')').next()?;
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The one-letter state of process `pid` (`S`, `R`, `Z`, …), if it exists.
pub fn state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')')
        .next()?
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

/// Parses an RFC 3339 timestamp of `result.toml`.
pub fn parse_time(text: &str) -> SystemTime {
    humantime::parse_rfc3339_weak(text).expect("RFC 3339 timestamp")
}

/// This test binary, re-executed to run only the ignored test `faults::helper` with
/// `CSA_FAULT_HELPER=name`: a separate process for what must not touch the test process
/// (becoming a subreaper, leaking descriptors).
pub fn helper(name: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args([
            "faults::helper",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CSA_FAULT_HELPER", name);
    command
}

/// Every file under `dir` with its length, modification time and permissions: a snapshot
/// to compare before and after, proving nothing there was touched.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime, u32)> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                todo.push(path.clone());
            }
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            files.insert(path, (meta.len(), modified, meta.permissions().mode()));
        }
    }
    files
}

/// True when the effective user is root (permission bits do not stop it).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}
