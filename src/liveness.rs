//! Is a session's supervisor alive, and how did its job end? Liveness is judged only from
//! the session's `lock` (docs/format.md): the supervisor holds an exclusive advisory lock on
//! it for its whole life, so a lock that can be taken means the supervisor is gone. A
//! session whose supervisor is gone without a result is reconstructed as `lost`.

use std::fs::{File, TryLockError};
use std::io::{self, Read as _};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result};

use crate::exit::{self, Failure};
use crate::store::record::{self, Executor, ResultRecord, SessionRecord, Status};
use crate::store::session::{self, SessionDir};
use crate::sys;

/// The reason recorded in a reconstructed `lost` result.
pub const LOST_REASON: &str = "supervisor vanished without a result";

/// Opens the session's lock file, or `None` when it does not exist.
///
/// A missing lock normally means `csa run` died before creating it. But when `daemon.pid`
/// names a live process with the recorded start time, the supervisor still runs and
/// someone deleted the file: liveness cannot be judged, and reconstructing the session as
/// `lost` would change a live one, so that is an error (exit 125).
fn open_lock(session: &SessionDir) -> Result<Option<File>> {
    let path = session.file(session::LOCK);
    match sys::open_no_follow(&path) {
        Ok(file) => Ok(Some(file)),
        // A durable result means the session is over, whatever still runs.
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            if session.file(session::RESULT_TOML).exists() {
                return Ok(None);
            }
            match read_identity(session) {
                Ok(found) if found.is_running() => Err(Failure::new(
                    exit::CSA_ERROR,
                    format!(
                        "cannot tell whether session {} has ended: its lock file is missing while its supervisor (PID {}) still runs; look again after it ends ({})",
                        session.id_string(),
                        found.pid,
                        path.display()
                    ),
                )
                .into()),
                _ => Ok(None),
            }
        }
        Err(err) => Err(err).with_context(|| format!("cannot open {}", path.display())),
    }
}

/// The supervisor as recorded in `daemon.pid`: `"<pid> <starttime>\n"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// The supervisor's PID, which is also the process group ID of the job: above 1.
    pub pid: sys::Pid,
    /// Field 22 of `/proc/<pid>/stat`: clock ticks since boot.
    pub start_time: u64,
}

impl Identity {
    /// The identity of running process `pid`, read from `/proc/<pid>/stat`. Errors when
    /// the process is gone or its `stat` cannot be read; the message names the PID.
    pub fn of(pid: sys::Pid) -> Result<Self> {
        let start_time = sys::ProcStat::read(pid)
            .with_context(|| format!("cannot read the start time of process {pid}"))?
            .start_time;
        Ok(Self { pid, start_time })
    }

    /// The text of `daemon.pid` for this identity: `"<pid> <starttime>\n"`.
    pub fn line(self) -> String {
        format!("{} {}\n", self.pid, self.start_time)
    }

    /// True when the recorded process exists, has not exited, and started at the recorded
    /// time: it is still the supervisor, not a process that reused its PID.
    pub fn is_running(self) -> bool {
        sys::ProcStat::read(self.pid)
            .is_ok_and(|stat| !stat.is_exited() && stat.start_time == self.start_time)
    }
}

/// Reads and parses `daemon.pid`. The error says what is wrong with it.
pub fn read_identity(session: &SessionDir) -> Result<Identity, String> {
    let path = session.file(session::DAEMON_PID);
    let mut text = String::new();
    sys::open_no_follow(&path)
        .and_then(|file| file.take(64).read_to_string(&mut text))
        .map_err(|err| format!("cannot read daemon.pid: {err}"))?;
    let malformed = || format!("daemon.pid is malformed: {:?}", text.trim_end());
    let line = text.strip_suffix('\n').unwrap_or(&text);
    let (pid, start) = line.split_once(' ').ok_or_else(malformed)?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(pid) || !digits(start) {
        return Err(malformed());
    }
    let start_time: u64 = start.parse().map_err(|_| malformed())?;
    // Digits only, so the number is at least 0; 0 and 1 are never a supervisor.
    let pid = match sys::Pid::parse(pid) {
        Some(pid) if !pid.is_init() => pid,
        Some(pid) => return Err(never_a_supervisor(pid.as_raw())),
        None if pid.bytes().all(|b| b == b'0') => return Err(never_a_supervisor(0)),
        None => return Err(malformed()),
    };
    Ok(Identity { pid, start_time })
}

fn never_a_supervisor(pid: i32) -> String {
    format!("daemon.pid names PID {pid}, which is never a supervisor")
}

/// True while the session's supervisor holds its lock. Never blocks; never changes a live
/// session.
pub fn supervisor_alive(session: &SessionDir) -> Result<bool> {
    let Some(lock) = open_lock(session)? else {
        return Ok(false);
    };
    match lock.try_lock_shared() {
        Ok(()) => Ok(false),
        Err(TryLockError::WouldBlock) => Ok(true),
        Err(TryLockError::Error(err)) => Err(err).with_context(|| {
            format!(
                "cannot check the lock {}",
                session.file(session::LOCK).display()
            )
        }),
    }
}

/// Blocks until the supervisor is gone (its lock can be taken) or `cap` has passed.
/// Returns true when the supervisor is gone. Event-driven: a thread blocks in `flock`, so
/// the return follows the supervisor's exit at once, with no polling.
pub fn wait_for_supervisor(session: &SessionDir, cap: Option<Duration>) -> Result<bool> {
    let Some(lock) = open_lock(session)? else {
        return Ok(true);
    };
    let path = session.file(session::LOCK);
    match lock.try_lock_shared() {
        Ok(()) => return Ok(true),
        Err(TryLockError::WouldBlock) => {}
        Err(TryLockError::Error(err)) => {
            return Err(err).with_context(|| format!("cannot check the lock {}", path.display()));
        }
    }
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(lock.lock_shared());
        // Keep the shared lock until the process ends or the receiver is gone.
    });
    let outcome = match cap {
        Some(cap) => rx.recv_timeout(cap),
        None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
    };
    match outcome {
        Ok(Ok(())) => Ok(true),
        Ok(Err(err)) => {
            Err(err).with_context(|| format!("cannot wait on the lock {}", path.display()))
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Ok(false),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(anyhow::anyhow!(
            "lock waiter ended unexpectedly ({})",
            path.display()
        )),
    }
}

/// The result of a session whose supervisor is gone: `result.toml`, or — when there is none
/// — a synthetic `lost` result written now without clobbering a result that appears
/// meanwhile.
///
/// Call only after the supervisor is known to be gone. Errors: a malformed `result.toml`,
/// or a lost result that cannot be written ([`record::is_unrecorded`]): the session is dead
/// and its result cannot be reconstructed; each command decides what that means for it.
pub fn final_result(session: &SessionDir) -> Result<ResultRecord> {
    final_result_or(session, || lost_result(session))
}

/// Like [`final_result`], with `synthetic()` as the result recorded when there is none
/// (e.g. the `signal` result of a supervisor that `session kill` had to SIGKILL).
pub fn final_result_or(
    session: &SessionDir,
    synthetic: impl FnOnce() -> ResultRecord,
) -> Result<ResultRecord> {
    let path = session.file(session::RESULT_TOML);
    if let Some(result) = record::read::<ResultRecord>(&path)? {
        return Ok(result);
    }
    // A result whose rename a crash undid is still the result (`record::adopt`).
    if let Some(result) = record::adopt_reserved_result(session)? {
        return Ok(result);
    }
    let lost = synthetic();
    let written = record::write_result(session, &lost)
        .context("the session is dead and its result cannot be recorded")?;
    if written {
        return Ok(lost);
    }
    // Someone else recorded a result first; theirs stands.
    record::read::<ResultRecord>(&path)?
        .with_context(|| format!("result vanished ({})", path.display()))
}

/// What became of a session whose supervisor was found gone (its lock free).
#[derive(Debug, Clone)]
pub enum Settled {
    /// The session has ended: its result, recorded now if it had none (as `lost`, or from
    /// what the executor still knows).
    Finished(ResultRecord),
    /// The job still runs elsewhere (an executor that outlives its watcher, e.g. Slurm) and
    /// a new watcher now holds the lock: wait for it again.
    Resumed,
}

/// Settles a session whose lock was found free: returns its result (reconstructing a
/// `lost` one when there is none, as [`final_result`]), or [`Settled::Resumed`] when its
/// job still runs and a new watcher took the lock over. Waiters loop on `Resumed`.
pub fn settle(session: &SessionDir) -> Result<Settled> {
    match crate::executor::of(session) {
        Executor::Local => final_result(session).map(Settled::Finished),
        Executor::Slurm => crate::executor::slurm::settle(session),
    }
}

/// A synthetic `lost` result: started when the session was created, finished now.
pub fn lost_result(session: &SessionDir) -> ResultRecord {
    synthetic_result(
        session,
        Status::Lost,
        exit::LOST,
        None,
        LOST_REASON.to_owned(),
    )
}

/// A result written on the supervisor's behalf (`synthetic = true`): started when the
/// session was created, finished now.
pub fn synthetic_result(
    session: &SessionDir,
    status: Status,
    exit_code: u8,
    signal: Option<i32>,
    reason: String,
) -> ResultRecord {
    let now = SystemTime::now();
    let mut result = ResultRecord::new(
        session.id_string(),
        (status, exit_code, signal),
        created_at(session).unwrap_or(now),
        now,
    );
    result.synthetic = true;
    result.reason = Some(reason);
    result
}

/// When the session was created: `created_at` of its `session.toml`, else its directory's
/// modification time; `None` when neither can be read.
pub fn created_at(session: &SessionDir) -> Option<SystemTime> {
    record::read::<SessionRecord>(&session.file(session::SESSION_TOML))
        .ok()
        .flatten()
        .and_then(|s| record::parse_timestamp(&s.created_at))
        .or_else(|| {
            std::fs::metadata(&session.path)
                .and_then(|m| m.modified())
                .ok()
        })
}

/// How long a session directory without `daemon.pid` counts as still being set up by
/// `csa run` (which writes `daemon.pid` before it prints the ID). A look at such a session
/// within this window never reconstructs it as `lost`.
pub const START_GRACE: Duration = Duration::from_secs(60);

/// What a look at a session finds, without blocking and without changing it.
#[derive(Debug, Clone)]
pub enum Observed {
    /// The supervisor holds the lock (or `csa run` is still setting the session up).
    Running,
    /// The supervisor holds the lock and the job has not started: it waits for a queue slot
    /// or for its dependencies (the session's `queued` file exists).
    Queued,
    /// The job ended and `result.toml` says how.
    Finished(ResultRecord),
    /// The supervisor is gone and there is no result: [`final_result`] reconstructs it as
    /// `lost`.
    Gone,
}

/// Looks at a session: its `result.toml` if present, else whether its supervisor is alive.
/// Reads at most `result.toml`, the lock and `daemon.pid`'s existence; never blocks. A
/// Slurm session whose watcher died is settled ([`settle`]): it reads as running again once
/// a new watcher took it over, never as gone while Slurm may still run its job.
///
/// Errors: a malformed `result.toml`, or a lock that cannot be checked.
pub fn observe(session: &SessionDir) -> Result<Observed> {
    let observed = peek(session)?;
    // A Slurm job outlives its watcher: settling resumes it rather than report it gone.
    if matches!(observed, Observed::Gone) && crate::executor::of(session) == Executor::Slurm {
        return Ok(match settle(session)? {
            Settled::Finished(result) => Observed::Finished(result),
            Settled::Resumed => Observed::Running,
        });
    }
    Ok(observed)
}

/// Looks at a session as [`observe`] does, but only looks: a session whose supervisor (or
/// Slurm watcher) is gone without a result is [`Observed::Gone`], and nothing is written,
/// resumed or removed. For views that must never change what they show (`csa top`,
/// `csa status`).
///
/// Errors: a malformed `result.toml`, or a lock that cannot be checked.
pub fn peek(session: &SessionDir) -> Result<Observed> {
    let path = session.file(session::RESULT_TOML);
    if let Some(result) = record::read::<ResultRecord>(&path)? {
        return Ok(Observed::Finished(result));
    }
    if supervisor_alive(session)? || starting(session) {
        return Ok(if session.file(session::QUEUED).exists() {
            Observed::Queued
        } else {
            Observed::Running
        });
    }
    // The supervisor may have written its result just before it let go of the lock.
    if let Some(result) = record::read::<ResultRecord>(&path)? {
        return Ok(Observed::Finished(result));
    }
    Ok(Observed::Gone)
}

/// True while `csa run` may still be setting the session up: no `daemon.pid` yet and the
/// session (by the time in its ULID) is younger than [`START_GRACE`].
fn starting(session: &SessionDir) -> bool {
    if session.file(session::DAEMON_PID).exists() {
        return false;
    }
    // A creation time in the future (the clock went back) also counts as young.
    SystemTime::now()
        .duration_since(session.id.datetime())
        .map_or(true, |age| age < START_GRACE)
}
