//! The supervisor: the process that owns a session from `csa run` until its result is
//! durable. It holds the session's lock, starts the job in its own process group, reaps
//! it, enforces `--timeout`, writes `result.toml`, and only then releases the lock by
//! exiting.
//!
//! `csa run` re-executes its own binary as `csa __supervise` (see [`crate::cmd::run`]);
//! `csa run --no-daemon` calls [`run_job`] in its own process.

pub mod gate;
mod job;
mod signals;
pub mod tunables;

use std::os::fd::AsRawFd as _;
use std::os::unix::fs::MetadataExt as _;
use std::process::Command;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result};
use ulid::Ulid;

pub use job::{TIMEOUT_GRACE, run_job};
pub use signals::{Received, SURVIVED_SIGNALS, survive};

use crate::cli::SuperviseArgs;
use crate::exit::{self, CSA_ERROR, Failure};
use crate::record::{self, Executor, ResultRecord, Status};
use crate::session::{self, SessionDir};
use crate::stop;
use crate::sys;
use crate::waker::Waker;

use gate::Gate;

/// Entry point of `csa __supervise`: verifies it was started by `csa run`, supervises the
/// job and exits with the job's exit code.
///
/// Refuses (exit 125) when the lock descriptor is not the session's `lock` file or the
/// process is not a session leader — that is, when a user typed the hidden command.
pub fn main(args: &SuperviseArgs) -> Result<u8> {
    tunables::restore();
    let id = Ulid::from_string(&args.session_id).map_err(|_| refused())?;
    let session = SessionDir {
        id,
        path: args.session_dir.clone(),
    };
    let inherited = std::fs::metadata(format!("/proc/self/fd/{}", args.lock_fd)).ok();
    let lock = std::fs::metadata(session.file(session::LOCK)).ok();
    let same_file =
        matches!((inherited, lock), (Some(a), Some(b)) if a.dev() == b.dev() && a.ino() == b.ino());
    if !same_file || !sys::is_session_leader() {
        return Err(refused().into());
    }
    // The lock is held through this descriptor until the process exits. Keep it from the
    // job, so that a job outliving a killed supervisor cannot keep the session "alive".
    let lock_fd = sys::adopt_inherited_fd(args.lock_fd).map_err(|_| refused())?;
    sys::set_close_on_exec(&lock_fd, true).context("cannot protect the session lock")?;
    let mut keep = vec![lock_fd.as_raw_fd()];
    keep.extend(args.gate.queue_fd);
    sys::close_inherited_fds(&keep);
    let received = survive();
    // Registered before the signals are let in, so that none is missed while waiting.
    let plan = gate::Plan::from_args(&session, &args.gate)?;
    let waker = if plan.is_empty() {
        None
    } else {
        Some(Waker::new(received.clone()).context("cannot prepare to wait")?)
    };
    // `csa run` started this process with them blocked; with the handlers in place, let
    // them in.
    sys::unblock_signals(&SURVIVED_SIGNALS).context("cannot unblock the termination signals")?;
    if waker.is_some() {
        // It may wait long: give back what start-up used first.
        sys::release_free_heap();
    }
    let slot = match &waker {
        None => None,
        Some(waker) => match gate::pass(&session, plan, waker)? {
            Gate::Open(slot) => slot,
            Gate::Stopped(signal, waiting_for) => {
                let result = not_started(&session, signal, &waiting_for);
                return finish(&session, result, lock_fd);
            }
            Gate::Skipped(result) => return finish(&session, result, lock_fd),
        },
    };
    if waker.is_some() {
        // A Slurm session stays `queued` until Slurm starts its job (its watcher marks
        // the start then).
        if args.executor.executor == Executor::Slurm {
            let _ = std::fs::remove_file(session.file(session::QUEUED));
        } else {
            record::mark_started(&session, SystemTime::now());
        }
    }
    if args.executor.executor == Executor::Slurm {
        let result = crate::executor::slurm::supervise(&session, args, &received, slot)?;
        return finish(&session, result, lock_fd);
    }

    let stdin = match args.stdin_from.stdio(&session) {
        Ok(stdin) => stdin,
        Err(err) => return finish(&session, without_stdin(&session, &err), lock_fd),
    };
    let timeout = args.timeout_ms.map(Duration::from_millis);
    let mut command = Command::new(&args.argv[0]);
    command.args(&args.argv[1..]).stdin(stdin);
    let mut result = run_job(&session, command, timeout, &received, slot);
    result.leftover_processes = Some(stop::leftover_processes());
    finish(&session, result, lock_fd)
}

/// Records `result` and lets go of the session's lock. Returns the exit code.
fn finish(session: &SessionDir, result: ResultRecord, lock: std::os::fd::OwnedFd) -> Result<u8> {
    let result = as_stopped(session, result);
    record::write_result_only(session, &result)?;
    // Waiters wake now; the clean-up after them.
    drop(lock);
    record::remove_stop_reservation(session);
    Ok(result.exit_code)
}

/// Writes the session's result exactly once, as stopped when a stop was requested
/// (`stop.toml`, see [`stop::request`]). Returns what was recorded.
pub fn record_result(session: &SessionDir, result: ResultRecord) -> Result<ResultRecord> {
    let result = as_stopped(session, result);
    record::write_result(session, &result)?;
    Ok(result)
}

/// `result`, as stopped when a stop was requested (`stop.toml`).
fn as_stopped(session: &SessionDir, mut result: ResultRecord) -> ResultRecord {
    if let Some(request) = stop::request::requested(session) {
        stop::request::apply(&mut result, &request);
    }
    result
}

fn refused() -> Failure {
    Failure::new(
        CSA_ERROR,
        "refusing to start the supervisor: `csa __supervise` is internal to `csa run` and was not started by it",
    )
}

/// The result of a job that cannot start because its standard input, the session's
/// `prompt.txt`, cannot be opened: `failure` with exit code 125 (csa's own state is
/// broken) and the reason; the job is never started without its prompt.
pub(crate) fn without_stdin(session: &SessionDir, err: &std::io::Error) -> ResultRecord {
    let mut result = finished(
        session,
        SystemTime::now(),
        Status::Failure,
        exit::CSA_ERROR,
        None,
    );
    result.reason = Some(format!(
        "cannot open the prompt ({}): {}; the job was not started",
        session::PROMPT_TXT,
        exit::io_why(err)
    ));
    result
}

/// The result of a session stopped by `signal` before its job started, while it waited for
/// `waiting_for`: the job is never started.
pub(crate) fn not_started(session: &SessionDir, signal: i32, waiting_for: &str) -> ResultRecord {
    let now = SystemTime::now();
    let mut result = finished(
        session,
        now,
        Status::Signal,
        exit::from_signal(signal),
        Some(signal),
    );
    let name = signal_hook::low_level::signal_name(signal)
        .map_or_else(|| format!("signal {signal}"), str::to_owned);
    result.reason = Some(if waiting_for.is_empty() {
        format!("{name} arrived before the job started; the job was never started")
    } else {
        format!(
            "{name} arrived while the session waited for {waiting_for}; the job was never started"
        )
    });
    result
}

/// A result of a job started at `started` that ends now.
pub(crate) fn finished(
    session: &SessionDir,
    started: SystemTime,
    status: Status,
    exit_code: u8,
    signal: Option<i32>,
) -> ResultRecord {
    ResultRecord::new(
        session.id_string(),
        (status, exit_code, signal),
        started,
        SystemTime::now(),
    )
}
