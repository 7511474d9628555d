//! Hostile input: session IDs, state files and arguments crafted to break csa. Every case
//! ends in a one-line error with the right exit code or in correct behaviour; never a
//! panic, a hang, or a file touched outside the session directory.

mod args;
mod files;
mod ids;
mod planted;
mod queue_files;
mod records;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use crate::support::{Csa, wait_for};
use crate::support_faults::{signal, signal_group, snapshot};

pub use crate::support::code;

/// Asserts a clean failure: exit `expected`, nothing on stdout, and a short error on stderr
/// (one `csa: ` line for csa's own errors; clap's usage errors start with `error:`).
pub fn assert_rejected(out: &Output, expected: i32, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(code(out), expected, "{what}: {stderr}");
    assert!(out.stdout.is_empty(), "{what}: stdout {:?}", out.stdout);
    assert!(stderr.len() < 1000, "{what}: stderr echoes too much");
    if expected == 125 {
        assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
        assert!(stderr.starts_with("csa: "), "{what}: {stderr}");
    } else {
        assert!(
            stderr.starts_with("error: ") || stderr.starts_with("csa: "),
            "{what}: {stderr}"
        );
    }
    stderr
}

/// A directory outside the state root holding a `victim` file that planted links point
/// at: nothing in it may change.
pub struct Outside {
    dir: tempfile::TempDir,
    /// `victim` in the directory.
    pub victim: PathBuf,
    before: Snapshot,
}

type Snapshot = std::collections::BTreeMap<PathBuf, (u64, std::time::SystemTime, u32)>;

impl Outside {
    /// The directory, with `victim` holding `content`.
    pub fn new(content: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, content).unwrap();
        let before = snapshot(dir.path());
        Self {
            dir,
            victim,
            before,
        }
    }

    /// A path in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Fails the test if anything in the directory changed since [`Outside::new`].
    #[track_caller]
    pub fn assert_untouched(&self) {
        assert_eq!(self.before, snapshot(self.dir.path()));
    }
}

pub fn os_args<'a>(args: impl IntoIterator<Item = &'a [u8]>) -> Vec<&'a OsStr> {
    args.into_iter().map(OsStr::from_bytes).collect()
}

/// A finished session whose job wrote `marker` to stdout.
pub fn finished_session(csa: &Csa) -> (String, PathBuf) {
    let id = csa.finished("echo marker; exit 3", 3);
    let dir = csa.session_dir(&id);
    (id, dir)
}

/// A session whose supervisor was killed (SIGKILL) before recording a result.
pub fn dead_session(csa: &Csa) -> (String, PathBuf) {
    let id = csa.run("sleep 30");
    let supervisor = csa.supervisor_pid(&id);
    signal(supervisor, 9);
    signal_group(supervisor, 9);
    wait_for(Duration::from_secs(30), "the supervisor to die", || {
        !crate::support::process_alive(supervisor)
    });
    let dir = csa.session_dir(&id);
    (id, dir)
}
