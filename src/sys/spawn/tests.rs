//! The child of [`super::spawn`] on real processes: it never runs the parent's signal
//! handlers, and its stack has a guard page below it.

use std::ffi::OsString;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{Around, Detached, OnExecFailure, spawn};
use crate::sys::{Pid, ProcStat, signal_process};

/// One test's child at a time. The tests run on threads of one process, and a child waits
/// at its gate — a pipe — until its parent lets go; a child cloned meanwhile by another
/// test holds a copy of that pipe (close-on-exec acts only at its exec) and waits at its own
/// gate, so two children could each keep the other's gate shut. (csa itself starts one
/// child at a time.)
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A child that will exec `/bin/true` in `/` once its gate is dropped; it records a
/// failure in `dir` (`exec N` or `chdir N` in `result.toml`).
fn true_child(dir: &std::path::Path) -> Detached {
    true_child_in(dir, "/".as_ref())
}

/// [`true_child`] in working directory `cwd`.
fn true_child_in(dir: &std::path::Path, cwd: &std::ffi::OsStr) -> Detached {
    let c = |name: &str| super::c_path(&dir.join(name)).unwrap();
    Detached::new(
        c"/bin/true",
        &[OsString::from("true")],
        &[],
        cwd,
        [None, None, None],
        OnExecFailure {
            exec: Around {
                before: b"exec ".to_vec(),
                after: Vec::new(),
            },
            chdir: Around {
                before: b"chdir ".to_vec(),
                after: Vec::new(),
            },
            reservation: c("reservation"),
            result: c("result.toml"),
            dir: c(""),
            stop_reservation: c("stop"),
        },
    )
    .unwrap()
}

/// Polls until process `pid` sleeps (waiting at its gate), at most 10 s.
fn until_asleep(pid: Pid) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while ProcStat::read(pid).is_ok_and(|stat| stat.state != 'S') {
        assert!(
            Instant::now() < deadline,
            "the child never waited at its gate"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Reaps child `pid`; its exit code.
fn reap(pid: Pid) -> i32 {
    let (_, status) =
        rustix::process::waitpid(Some(pid.to_rustix()), rustix::process::WaitOptions::empty())
            .unwrap()
            .unwrap();
    status.exit_status().unwrap_or(-1)
}

/// Once `Gate::until_leader` returns, the child leads its own session and process group (the
/// PID `daemon.pid` records is the job's process group from the moment the ID is printed):
/// looked at at once, every time.
#[test]
fn the_child_leads_its_session_once_the_gate_says_so() {
    let _one = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..50 {
        let (pid, mut gate) = spawn(true_child(dir.path()), &[]).unwrap();
        gate.until_leader().unwrap();
        let stat = ProcStat::read(pid).unwrap();
        drop(gate);
        assert_eq!(reap(pid), 0);
        assert_eq!((stat.pgrp, stat.session), (Some(pid), Some(pid)));
    }
}

static HANDLED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count(_: libc::c_int) {
    HANDLED.fetch_add(1, Ordering::SeqCst);
}

/// A signal that reaches the child before its `execve` is never handled by the parent's
/// handler: the child may share the parent's memory, and the handler would run there, on
/// the parent's data (here, a counter the parent sees). SIGWINCH, which nothing else in the
/// tests uses, and whose default action (ignore) leaves the child to exec.
#[test]
fn the_child_never_runs_the_parents_handlers() {
    let _one = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: a zeroed `sigaction` with a valid handler and an empty mask.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = count as extern "C" fn(libc::c_int) as usize;
        libc::sigaction(libc::SIGWINCH, &raw const action, std::ptr::null_mut());
    }
    let (pid, gate) = spawn(true_child(dir.path()), &[libc::SIGTERM]).unwrap();
    until_asleep(pid);
    signal_process(pid, rustix::process::Signal::WINCH).unwrap();
    drop(gate);
    let code = reap(pid);
    // SAFETY: a zeroed `sigaction` is the default action.
    unsafe {
        let action: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGWINCH, &raw const action, std::ptr::null_mut());
    }
    assert_eq!(code, 0, "the child exec'd /bin/true");
    assert_eq!(
        HANDLED.load(Ordering::SeqCst),
        0,
        "the parent's handler ran in the child"
    );
}

/// The child's stack has an inaccessible page right below it (in the child's
/// `/proc/<pid>/maps`, while it waits at its gate): an overflow faults instead of writing
/// over the parent's memory.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[test]
fn the_childs_stack_has_a_guard_page() {
    let _one = one_at_a_time();
    assert!(
        super::clone::clone_is_safe(),
        "this build clones (see clone.rs)"
    );
    let dir = tempfile::tempdir().unwrap();
    let (pid, gate) = spawn(true_child(dir.path()), &[]).unwrap();
    until_asleep(pid);
    let base = u64::try_from(super::clone::LAST_STACK.load(Ordering::SeqCst)).unwrap();
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    drop(gate);
    assert_eq!(reap(pid), 0);
    // SAFETY: `sysconf` takes no pointers.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap();
    let region = |address: u64| {
        maps.lines().find_map(|line| {
            let mut words = line.split_whitespace();
            let (start, end) = words.next()?.split_once('-')?;
            let (start, end) = (
                u64::from_str_radix(start, 16).ok()?,
                u64::from_str_radix(end, 16).ok()?,
            );
            let perms = words.next()?.to_owned();
            (start..end)
                .contains(&address)
                .then_some((start, end, perms))
        })
    };
    let guard = region(base).expect("the guard page's mapping");
    assert!(
        guard.2.starts_with("---") && guard.1 == base + page,
        "{guard:?}\n{maps}"
    );
    let stack = region(base + page).expect("the stack's mapping");
    assert!(stack.2.starts_with("rw"), "{stack:?}\n{maps}");
}

/// A working directory the child cannot enter is recorded as a failure of `chdir`, with
/// its error number — not of `exec`.
#[test]
fn a_chdir_failure_is_recorded_as_one() {
    let _one = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("reservation"), [0u8; 64]).unwrap();
    let missing = dir.path().join("missing");
    let (pid, gate) = spawn(true_child_in(dir.path(), missing.as_os_str()), &[]).unwrap();
    drop(gate);
    assert_eq!(reap(pid), 125);
    let result = std::fs::read_to_string(dir.path().join("result.toml")).unwrap();
    assert_eq!(result, format!("chdir {}", libc::ENOENT));
}
