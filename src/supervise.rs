//! The supervisor: the process that owns a session while its job runs. It holds the
//! session's lock, spawns the job in its own process group, reaps it, enforces `--timeout`,
//! writes `result.toml`, and only then releases the lock by exiting.
//!
//! `csa run` re-executes its own binary as `csa __supervise` (see [`crate::cmd::run`]);
//! `csa run --no-daemon` calls [`run_job`] in its own process.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd as _;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::ExitStatusExt as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result};
use rustix::process::{Pid, Signal};
use ulid::Ulid;

use crate::cli::SuperviseArgs;
use crate::exit::{self, CSA_ERROR, Failure};
use crate::record::{self, Executor, ResultRecord, Status, StdinSource};
use crate::session::{self, SessionDir};
use crate::stop::Scope;
use crate::sys;

/// How long a job has to exit after SIGTERM before it gets SIGKILL (`--timeout`).
pub const TIMEOUT_GRACE: Duration = Duration::from_secs(5);

/// Entry point of `csa __supervise`: verifies it was started by `csa run`, supervises the
/// job and exits with the job's exit code.
///
/// Refuses (exit 125) when the lock descriptor is not the session's `lock` file or the
/// process is not a session leader — that is, when a user typed the hidden command.
pub fn main(args: &SuperviseArgs) -> Result<u8> {
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
    sys::close_inherited_fds(lock_fd.as_raw_fd());
    let received = survive_termination_signals();
    // `csa run` started this process with them blocked; with the handlers in place, let
    // them in.
    sys::unblock_signals(&SURVIVED_SIGNALS).context("cannot unblock the termination signals")?;
    if args.executor == Executor::Slurm {
        return crate::executor::slurm::supervise(&session, args, &received);
    }

    let stdin = match args.stdin_from {
        StdinSource::Null => Stdio::null(),
        StdinSource::Inherit => Stdio::inherit(),
        StdinSource::Prompt => File::open(session.file(session::PROMPT_TXT))
            .map_or_else(|_| Stdio::null(), Stdio::from),
    };
    let timeout = args.timeout_ms.map(Duration::from_millis);
    let mut command = Command::new(&args.argv[0]);
    command.args(&args.argv[1..]).stdin(stdin);
    // A signal to the group before the job exists (e.g. `session kill` at once) stops the
    // session as it would have stopped the job: the job is not started.
    let result = match i32::try_from(received.load(Ordering::SeqCst)) {
        Ok(signal) if signal > 0 => {
            let now = SystemTime::now();
            let code = exit::from_signal(signal);
            let mut result = finished(&session, now, Status::Signal, code, Some(signal));
            result.reason = Some(format!(
                "signal {signal} arrived before the job started; the job was not started"
            ));
            result
        }
        _ => run_job(&session, command, timeout),
    };
    record::write_atomic(&session.path, session::RESULT_TOML, &result, true)?;
    drop(lock_fd);
    Ok(result.exit_code)
}

fn refused() -> Failure {
    Failure::new(
        CSA_ERROR,
        "refusing to start the supervisor: `csa __supervise` is internal to `csa run` and was not started by it",
    )
}

/// Installs handlers for SIGTERM, SIGINT and SIGHUP (contract §4) — and for SIGQUIT,
/// SIGUSR1, SIGUSR2 and SIGALRM, which `session kill --signal` may send to the group — so
/// that the supervisor, which shares its process group with the job, survives them long
/// enough to reap the job and record its true result. The handlers are reset to the
/// default in the job by `exec`.
///
/// Returns the number of the last such signal received, 0 while none has been.
pub fn survive_termination_signals() -> Arc<AtomicUsize> {
    let received = Arc::new(AtomicUsize::new(0));
    for signal in SURVIVED_SIGNALS {
        let number = usize::try_from(signal).unwrap_or_default();
        let _ = signal_hook::flag::register_usize(signal, Arc::clone(&received), number);
    }
    received
}

/// The signals the supervisor survives (see [`survive_termination_signals`]). `csa run`
/// starts the supervisor with them blocked, and it unblocks them once its handlers are in
/// place, so none can end it in between.
pub const SURVIVED_SIGNALS: [i32; 7] = {
    use signal_hook::consts::{SIGALRM, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
    [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM]
};

/// Spawns `command` in the caller's process group, reaps it, enforces `timeout` (SIGTERM
/// to the job's processes, up to [`TIMEOUT_GRACE`] for all of them to exit, then SIGKILL to
/// every one left but the supervisor; see `enforce_timeout`), and returns the result to record. Never fails: a job that cannot be started is
/// recorded as `failure` with exit code 127 or 126 and the reason.
pub fn run_job(
    session: &SessionDir,
    mut command: Command,
    timeout: Option<Duration>,
) -> ResultRecord {
    let started = SystemTime::now();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
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
    // The supervisor lives as long as its job: give back what start-up used.
    drop(command);
    sys::release_free_heap();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let timed_out = Arc::new(AtomicBool::new(false));
    let enforcer = timeout.map(|limit| {
        let timed_out = Arc::clone(&timed_out);
        let job_pid = i32::try_from(child.id()).unwrap_or(-1);
        thread::spawn(move || enforce_timeout(limit, &done_rx, &timed_out, job_pid))
    });
    let status = loop {
        match child.wait() {
            Ok(status) => break Some(status),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break None,
        }
    };
    drop(done_tx);
    if let Some(handle) = enforcer {
        let _ = handle.join();
    }
    let Some(status) = status else {
        let mut result = finished(session, started, Status::Lost, exit::LOST, None);
        result.reason = Some("the supervisor could not reap the job".into());
        return result;
    };
    if timed_out.load(Ordering::SeqCst) {
        let limit = timeout.unwrap_or_default();
        let mut result = finished(session, started, Status::Timeout, exit::TIMEOUT, None);
        result.reason = Some(format!(
            "timed out after {}",
            humantime::format_duration(limit)
        ));
        return result;
    }
    match (status.code(), status.signal()) {
        (Some(0), _) => finished(session, started, Status::Success, 0, None),
        (Some(code), _) => finished(
            session,
            started,
            Status::Failure,
            u8::try_from(code & 0xff).unwrap_or(u8::MAX),
            None,
        ),
        (None, Some(signal)) => finished(
            session,
            started,
            Status::Signal,
            exit::from_signal(signal),
            Some(signal),
        ),
        (None, None) => finished(session, started, Status::Failure, u8::MAX, None),
    }
}

/// Waits for the job to end or `limit` to pass. On timeout: SIGTERM to the job's processes
/// (see [`Scope::of_current_process`]); then, until [`TIMEOUT_GRACE`] has passed, waits for
/// every one of them to exit — background children included; then SIGKILLs whatever is
/// left, except the supervisor itself, which must survive to record the result.
fn enforce_timeout(
    limit: Duration,
    done: &mpsc::Receiver<()>,
    timed_out: &AtomicBool,
    job_pid: i32,
) {
    if done.recv_timeout(limit) != Err(mpsc::RecvTimeoutError::Timeout) {
        return;
    }
    timed_out.store(true, Ordering::SeqCst);
    let scope = Scope::of_current_process();
    let me = rustix::process::getpid().as_raw_nonzero().get();
    let except = matches!(scope, Scope::Group(_)).then_some(me);
    let _ = scope.signal(Signal::TERM, None);
    let deadline = Instant::now() + TIMEOUT_GRACE;
    // The job itself first: until it is reaped its PID cannot be reused.
    let reaped = done.recv_timeout(TIMEOUT_GRACE) != Err(mpsc::RecvTimeoutError::Timeout);
    if reaped && scope.wait_until_empty(except, deadline.saturating_duration_since(Instant::now()))
    {
        return;
    }
    if !reaped && let Some(pid) = Pid::from_raw(job_pid) {
        let _ = rustix::process::kill_process(pid, Signal::KILL);
    }
    scope.kill_all(except, TIMEOUT_GRACE);
}

fn finished(
    session: &SessionDir,
    started: SystemTime,
    status: Status,
    exit_code: u8,
    signal: Option<i32>,
) -> ResultRecord {
    let now = SystemTime::now();
    ResultRecord {
        id: session.id_string(),
        status,
        exit_code,
        signal,
        started_at: record::timestamp(started),
        finished_at: record::timestamp(now),
        duration_ms: record::millis_between(started, now),
        synthetic: false,
        reason: None,
    }
}
