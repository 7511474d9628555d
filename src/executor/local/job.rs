//! The local executor: start the job in the supervisor's process group, reap it, enforce
//! its time limits (`--timeout`, `--idle-timeout`), and say how it ended.

use std::io;
use std::os::unix::process::ExitStatusExt as _;
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc;
use std::thread;
use std::time::{Instant, SystemTime};

use rustix::process::Signal;

use crate::executor::{Limits, Struck};
use crate::exit;
use crate::interrupt::{Received, SURVIVED_SIGNALS};
use crate::queue::slot::Slot;
use crate::stop::Scope;
use crate::stop::sequence::TIMEOUT_GRACE;
use crate::store::record::endings::{finished, never_started, not_started};
use crate::store::record::{ResultRecord, Status};
use crate::store::session::SessionDir;
use crate::sys::{self, Pid};

/// Spawns `command` in the caller's process group, reaps it, enforces `limits` (when one
/// strikes: the session's descendant sessions stopped with `stop_descendants`, then SIGTERM
/// to the job's processes, up to [`TIMEOUT_GRACE`] for all of them to exit, then SIGKILL to
/// every one left but the supervisor; see `enforce_limits`), and returns the result to
/// record: `timeout` (exit code 124) with a reason naming the limit when one struck. Never fails: a job that cannot be started is recorded as `failure` with exit
/// code 127 or 126 and the reason.
///
/// **No signal is lost at the start.** A signal sent to the group before the job exists
/// reaches only the supervisor; one sent after reaches both. The job is spawned with
/// [`sys::exec_unless_signalled`]: the kernel delivers a group signal either before `fork`
/// (the handler has run, and the child sees the flag it set and does not `exec`) or to
/// both processes after it (the child does not `exec` either, or — once it has reset the
/// handlers — is ended by it as the job would have been). So a signal is never absorbed by
/// the supervisor while the job starts anyway.
pub fn run_job(
    session: &SessionDir,
    mut command: Command,
    limits: Limits,
    received: &Received,
    mut slot: Option<Slot>,
    stop_descendants: fn(&SessionDir),
) -> ResultRecord {
    if let Some(signal) = received.signal() {
        return not_started(session, signal, "");
    }
    sys::exec_unless_signalled(&mut command, received.flag(), &SURVIVED_SIGNALS);
    // Orphans of the job come to the supervisor instead of init, so that it finds every
    // process left in its group below itself ([`crate::stop::leftover_processes`]) and
    // reaps those that exit before it does ([`reap`]).
    let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    let started = SystemTime::now();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            if let Some(signal) = sys::signalled_before_exec(&err) {
                // Sent to the group (the supervisor got it too): before the job existed.
                // Sent to the new process alone: it ended the job as it started.
                if received.signal().is_some() {
                    return not_started(session, signal, "");
                }
                let mut result = finished(
                    session,
                    started,
                    Status::Signal,
                    exit::from_signal(signal),
                    Some(signal),
                );
                result.reason = Some(format!("signal {signal} ended the job as it started"));
                return result;
            }
            if let Some(err) = sys::chdir_failed(&err) {
                return never_started(
                    session,
                    (Status::Failure, exit::NOT_EXECUTABLE, None),
                    format!(
                        "cannot enter the job's working directory: {} (chdir); the job was never started",
                        exit::io_why(&err)
                    ),
                );
            }
            let code = if err.kind() == io::ErrorKind::NotFound {
                exit::NOT_FOUND
            } else {
                exit::NOT_EXECUTABLE
            };
            let mut result = finished(session, started, Status::Failure, code, None);
            result.reason = Some(format!("exec failed: {}", exit::io_why(&err)));
            return result;
        }
    };
    // The supervisor lives as long as its job: give back what start-up used (the queue's
    // inotify instance included).
    if let Some(slot) = &mut slot {
        slot.job_started();
    }
    drop(command);
    sys::release_free_heap();
    let (status, struck, end) = reap(session, &mut child, limits, slot, stop_descendants);
    let at_end = |status: Status, exit_code: u8, signal: Option<i32>| {
        ResultRecord::new(
            session.id_string(),
            (status, exit_code, signal),
            started,
            end,
        )
    };
    let Some(status) = status else {
        let mut result = at_end(Status::Lost, exit::LOST, None);
        result.reason = Some("the supervisor could not reap the job".into());
        return result;
    };
    if let Some(struck) = struck {
        let mut result = at_end(Status::Timeout, exit::TIMEOUT, None);
        result.reason = Some(struck.reason());
        return result;
    }
    ended(status, at_end)
}

/// Waits for `child` to exit while a thread enforces `limits`, then gives its queue slot
/// back at once (before the result is written: the next job of the queue starts while this
/// one's result is made durable). Returns its exit status (`None` if it cannot be reaped),
/// which limit struck, if one did, and when it was reaped — before the slot was given back,
/// so that the next job of the queue never starts before this one's `finished_at`.
fn reap(
    session: &SessionDir,
    child: &mut Child,
    limits: Limits,
    slot: Option<Slot>,
    stop_descendants: fn(&SessionDir),
) -> (Option<ExitStatus>, Option<Struck>, SystemTime) {
    let started = Instant::now();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let job = Pid::of_child(child).ok();
    let enforcer = (!limits.is_none()).then(|| {
        let session = session.clone();
        thread::spawn(move || {
            enforce_limits(&session, limits, started, &done_rx, job, stop_descendants)
        })
    });
    // Any child of this (the main) thread: orphans of the job that were re-parented here and
    // exited are reaped on the way, so they do not linger as zombies while the job runs —
    // but never a command another thread runs and reaps itself (the timeout's `scontrol` and
    // `scancel` for Slurm descendants): see `sys::wait_any_child_of_this_thread`.
    let status = match job {
        Some(job) => loop {
            match sys::wait_any_child_of_this_thread() {
                Ok((pid, status)) if pid == job => {
                    break Some(ExitStatus::from_raw(status.as_raw()));
                }
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break None,
            }
        },
        // Never on Linux (see `Pid::of_child`): std reaps it by its own record.
        None => child.wait().ok(),
    };
    let end = SystemTime::now();
    drop(slot);
    drop(done_tx);
    let struck = enforcer.and_then(|handle| handle.join().ok().flatten());
    (status, struck, end)
}

/// The result of a job that exited with `status`, made by `at_end` from its status, exit
/// code and signal.
fn ended(
    status: ExitStatus,
    at_end: impl Fn(Status, u8, Option<i32>) -> ResultRecord,
) -> ResultRecord {
    match (status.code(), status.signal()) {
        (Some(0), _) => at_end(Status::Success, 0, None),
        (Some(code), _) => at_end(
            Status::Failure,
            u8::try_from(code & 0xff).unwrap_or(u8::MAX),
            None,
        ),
        (None, Some(signal)) => at_end(Status::Signal, exit::from_signal(signal), Some(signal)),
        (None, None) => at_end(Status::Failure, u8::MAX, None),
    }
}

/// Waits for the job to end or one of `limits` to strike ([`crate::executor::limits`]).
/// When one strikes: stops the session's descendant sessions (deepest first, SIGTERM and
/// the same grace); then SIGTERM to the job's processes (see
/// [`Scope::of_current_process`]); then, until [`TIMEOUT_GRACE`] has passed, waits for
/// every one of them to exit — background children included; then SIGKILLs whatever is
/// left, except the supervisor itself, which must survive to record the result. Returns
/// the limit that struck.
fn enforce_limits(
    session: &SessionDir,
    limits: Limits,
    started: Instant,
    done: &mpsc::Receiver<()>,
    job_pid: Option<Pid>,
    stop_descendants: fn(&SessionDir),
) -> Option<Struck> {
    let struck = crate::executor::limits::watch(session, limits, started, done)?;
    // The session's descendants first, deepest first, as `session kill` stops them.
    stop_descendants(session);
    let scope = Scope::of_current_process();
    let except = matches!(scope, Scope::Group(_)).then_some(Pid::current());
    let _ = scope.signal(Signal::TERM, None);
    let deadline = crate::backoff::deadline(TIMEOUT_GRACE);
    // The job itself first: until it is reaped its PID cannot be reused.
    let reaped = done.recv_timeout(TIMEOUT_GRACE) != Err(mpsc::RecvTimeoutError::Timeout);
    if reaped && scope.wait_until_empty(except, deadline.saturating_duration_since(Instant::now()))
    {
        return Some(struck);
    }
    if !reaped && let Some(pid) = job_pid {
        let _ = sys::signal_process(pid, Signal::KILL);
    }
    scope.kill_all(except, TIMEOUT_GRACE);
    Some(struck)
}
