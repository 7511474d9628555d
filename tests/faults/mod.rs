//! Fault injection on real processes, each test with a temporary state root: supervisors
//! and jobs killed at random moments, many concurrent callers, late reaping, PID reuse,
//! disk and permission faults, and hostile caller environments.
//!
//! The CI run uses modest trial counts; `CSA_FAULT_TRIALS=200` (see `just faults`) selects
//! the full counts.

mod concurrency;
mod environment;
mod full_disk;
mod names;
mod pid_reuse;
mod queue_head;
mod queues;
mod start;
mod stdio;
mod supervisor;
mod trees;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::support::{Csa, HANG, assert_no_panic, has_open, wait_for};
use crate::support_faults::signal;

pub use crate::support::code;

/// A command running in the background; [`Background::join`] collects its output.
pub struct Background {
    /// The process ID.
    pub pid: u32,
    handle: JoinHandle<Output>,
}

impl Background {
    /// Its output once it exits; fails the test if it hung or panicked.
    pub fn join(self) -> Output {
        self.handle.join().expect("background command")
    }
}

/// Starts `command` with piped output; a watchdog kills it and fails the test after
/// [`HANG`].
pub fn background(mut command: Command) -> Background {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = command.spawn().expect("spawn");
    let pid = child.id();
    let handle = std::thread::spawn(move || {
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let watchdog = std::thread::spawn(move || {
            let hung = finished.recv_timeout(HANG).is_err();
            if hung {
                signal(i32::try_from(pid).unwrap(), 9);
            }
            hung
        });
        let out = child.wait_with_output().expect("wait for a command");
        let _ = done.send(());
        assert!(!watchdog.join().unwrap(), "hung for {HANG:?}");
        assert_no_panic(&out);
        out
    });
    Background { pid, handle }
}

/// `csa run 'exit 2'` started with its standard output piped (for the ID) and its standard
/// error dropped, for a test to kill at a random moment.
pub fn spawn_run(csa: &Csa) -> std::process::Child {
    csa.cmd()
        .args(["run", "exit 2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// `csa session wait --until-done --session ID` as a command.
pub fn wait_cmd(csa: &Csa, id: &str) -> Command {
    let mut command = csa.cmd();
    command.args(["session", "wait", "--until-done", "--session", id]);
    command
}

/// Waits until process `pid` has `path` open (e.g. a waiter blocked on a session's lock).
pub fn wait_until_open(pid: u32, path: &Path) {
    let pid = i32::try_from(pid).unwrap();
    wait_for(Duration::from_secs(30), "a process to open a file", || {
        has_open(pid, path)
    });
}

/// Entry point of the helper processes (see `support_faults::helper`): work that must not
/// run inside the test process itself.
#[test]
#[ignore = "a helper process started by other fault tests"]
fn helper() {
    match std::env::var("CSA_FAULT_HELPER").as_deref() {
        Ok("zombie") => supervisor::zombie_helper(),
        Ok("many-fds") => environment::many_fds_helper(),
        _ => eprintln!("nothing to do: this test is started by other tests"),
    }
}
