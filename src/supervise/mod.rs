//! The supervisor: the process that owns a session from `csa run` until its result is
//! durable. It holds the session's lock, starts the job in its own process group, reaps
//! it, enforces `--timeout` and `--idle-timeout`, writes `result.toml`, and only then releases the lock by
//! exiting.
//!
//! `csa run` re-executes its own binary as `csa __supervise` (see [`crate::run`]).
//! Once the session is admitted ([`crate::admission`]: dependencies, queue slot), its
//! executor runs the job ([`crate::executor::Executor::start`]); the supervisor records
//! what it returns.

pub mod tunables;

use std::ffi::OsString;
use std::os::fd::AsRawFd as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use ulid::Ulid;

use crate::admission::{self, Admission, not_started_by_run as refused};
use crate::executor::{self, Start};
use crate::interrupt::{Interruptible, SURVIVED_SIGNALS, survive};
use crate::store::record::StdinSource;
use crate::store::record::endings::{never_started, not_started};
use crate::store::record::{self, ResultRecord};
use crate::store::session::{self, SessionDir};
use crate::store::stop_request;
use crate::sys;

/// What `csa run` asks of the supervisor it starts (the hidden `csa __supervise` command
/// line, parsed in [`crate::cmd::supervise`]).
#[derive(Debug)]
pub struct Request {
    /// The session ID (26 characters, Crockford base32).
    pub session_id: String,
    /// The absolute path of the session directory.
    pub session_dir: PathBuf,
    /// The inherited descriptor that holds the exclusive lock on the session's `lock`.
    pub lock_fd: i32,
    /// The job's time limit and idle timeout.
    pub limits: crate::executor::Limits,
    /// Where the job's standard input comes from.
    pub stdin_from: StdinSource,
    /// What the job waits for before it starts.
    pub admission: admission::Request,
    /// What runs the job.
    pub executor: crate::executor::Request,
    /// The descriptor the job's argv comes on ([`sys::argv_file`]), when not in `argv`.
    pub argv_fd: Option<i32>,
    /// The job's argv (at least one element: the program), when not on `argv_fd`.
    pub argv: Vec<OsString>,
}

/// Entry point of `csa __supervise`: verifies it was started by `csa run`, supervises the
/// job and exits with the job's exit code.
///
/// Refuses (exit 125) when the lock descriptor is not the session's `lock` file or the
/// process is not a session leader — that is, when a user typed the hidden command.
pub fn main(args: &Request) -> Result<u8> {
    tunables::restore();
    let id = Ulid::from_string(&args.session_id).map_err(|_| refused())?;
    let session = SessionDir {
        id,
        path: args.session_dir.clone(),
    };
    let inherited = std::fs::metadata(format!("/proc/self/fd/{}", args.lock_fd)).ok();
    let lock = crate::store::files::metadata(&session.file(session::LOCK)).ok();
    let same_file =
        matches!((inherited, lock), (Some(a), Some(b)) if a.dev() == b.dev() && a.ino() == b.ino());
    if !same_file || !sys::is_session_leader() {
        return Err(refused().into());
    }
    // The lock is held through this descriptor until the process exits. Keep it from the
    // job, so that a job outliving a killed supervisor cannot keep the session "alive".
    let lock_fd = sys::adopt_inherited_fd(args.lock_fd).map_err(|_| refused())?;
    sys::set_close_on_exec(&lock_fd, true).context("cannot protect the session lock")?;
    // The job's command line, kept out of this process's argv (a prompt is nobody else's).
    let job_argv = match args.argv_fd {
        Some(fd) => sys::read_argv(fd).context("cannot read the job's command line")?,
        None => args.argv.clone(),
    };
    if job_argv.is_empty() {
        return Err(refused().into());
    }
    let mut keep = vec![lock_fd.as_raw_fd()];
    keep.extend(args.admission.queue_fd);
    if let Err(err) = sys::close_inherited_fds(&keep) {
        // A job must never hold its caller's pipes open: it is not started.
        let result = never_started(
            &session,
            (record::Status::Failure, crate::exit::CSA_ERROR, None),
            format!(
                "the supervisor cannot close the descriptors it inherited: {}; the job was not started",
                crate::exit::io_why(&err)
            ),
        );
        return finish(&session, result, lock_fd);
    }
    // The state root is the user's alone (checked once, after the inherited descriptors
    // are closed: every path below it is then resolved from the directory checked).
    crate::store::session::StateRoot::of_session(&session).check()?;
    let received = survive();
    // Registered before the signals are let in, so that none is missed while waiting.
    let plan = admission::Conditions::from_request(&session, &args.admission)?;
    let waker = if plan.is_empty() {
        None
    } else {
        Some(Interruptible::new(received.clone()).context("cannot prepare to wait")?)
    };
    // `csa run` started this process with them blocked; with the handlers in place, let
    // them in.
    sys::unblock_signals(&SURVIVED_SIGNALS).context("cannot unblock the termination signals")?;
    if waker.is_some() {
        // It may wait long: give back what start-up used first.
        sys::release_free_heap();
    }
    // A stop requested before this supervisor started (a watcher taking over a waiting
    // session) came with no signal for it: the job is never started.
    if waker.is_some()
        && let Some(request) = stop_request::requested(&session)
    {
        let result = not_started(&session, request.signal, "its dependencies or a queue slot");
        return finish(&session, result, lock_fd);
    }
    let slot = match &waker {
        None => None,
        Some(waker) => match admission::admit(&session, plan, waker) {
            Err(err) => return finish(&session, admission::failed(&session, &err), lock_fd),
            Ok(Admission::Admitted(slot)) => slot,
            Ok(Admission::Stopped(signal, waiting_for)) => {
                let result = not_started(&session, signal, &waiting_for);
                return finish(&session, result, lock_fd);
            }
            Ok(Admission::Skipped(result)) => return finish(&session, result, lock_fd),
        },
    };
    if waker.is_some() {
        // (A Slurm session is `queued` again while Slurm has not started its job; its
        // watcher records the start once more when it does.)
        record::mark_started(&session, std::time::SystemTime::now());
    }
    let result = executor::named(&args.executor.executor)?.start(Start {
        session: &session,
        argv: &job_argv,
        limits: args.limits,
        stdin_from: args.stdin_from,
        request: &args.executor,
        waits_for_nothing: args.admission.is_empty(),
        received: &received,
        slot,
        stop_descendants: crate::tree::stop_for_timeout,
    })?;
    finish(&session, result, lock_fd)
}

/// Records `result` and lets go of the session's lock. Returns the exit code.
fn finish(session: &SessionDir, result: ResultRecord, lock: std::os::fd::OwnedFd) -> Result<u8> {
    let result = stop_request::as_stopped(session, result);
    record::write_result_only(session, &result)?;
    // Waiters wake now; the clean-up after them.
    drop(lock);
    record::remove_stop_reservation(session);
    Ok(result.exit_code)
}
