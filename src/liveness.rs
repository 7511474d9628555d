//! Is a session's supervisor alive, and how did its job end? Liveness is judged only from
//! the session's `lock` (docs/format.md): the supervisor holds an exclusive advisory lock on
//! it for its whole life, so a lock that can be taken means the supervisor is gone.
//!
//! Everything here only reads (and [`wait_for_supervisor`] blocks): what a look may
//! repair — a `lost` result, a new watcher — is [`crate::heal`]'s.

use std::fs::{File, TryLockError};
use std::io;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result};

use crate::exit::{self, Failure};
use crate::store::files;
use crate::store::record::{self, ResultRecord};
use crate::store::session::{self, SessionDir};
use crate::sys;

/// Opens the session's lock file, or `None` when it does not exist.
///
/// A missing lock normally means `csa run` died before creating it. But when `daemon.pid`
/// names a live process with the recorded start time, the supervisor still runs and
/// someone deleted the file: liveness cannot be judged, and reconstructing the session as
/// `lost` would change a live one, so that is an error (exit 125).
fn open_lock(session: &SessionDir) -> Result<Option<File>> {
    let path = session.file(session::LOCK);
    match files::Options::read().open(&path) {
        Ok(file) => Ok(Some(file)),
        // A durable result means the session is over, whatever still runs.
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            if files::exists(&session.file(session::RESULT_TOML)) {
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

    /// True while the recorded process exists with the recorded start time — running, or
    /// exited and not yet reaped: its PID (and a process group it led) cannot have been
    /// reused.
    pub fn holds_pid(self) -> bool {
        sys::ProcStat::read(self.pid).is_ok_and(|stat| stat.start_time == self.start_time)
    }

    /// True when the recorded process exists, has not exited, and started at the recorded
    /// time: it is still the supervisor, not a process that reused its PID.
    pub fn is_running(self) -> bool {
        sys::ProcStat::read(self.pid)
            .is_ok_and(|stat| !stat.is_exited() && stat.start_time == self.start_time)
    }
}

/// Reads and parses `daemon.pid`. The error says what is wrong with it (unreadable,
/// malformed, or a PID that is never a supervisor: 0 or 1).
pub fn read_identity(session: &SessionDir) -> Result<Identity> {
    let path = session.file(session::DAEMON_PID);
    let text = files::read_to_string(&path, 64)
        .map_err(|err| anyhow::anyhow!("cannot read daemon.pid: {err}"))?;
    // Never echoed: it says what it should hold.
    let malformed = || anyhow::anyhow!("daemon.pid is malformed: not \"<pid> <start time>\"");
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

fn never_a_supervisor(pid: i32) -> anyhow::Error {
    anyhow::anyhow!("daemon.pid names PID {pid}, which is never a supervisor")
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
    /// The supervisor is gone and there is no result. For a local session the job has
    /// ended (its result is reconstructed as `lost` by
    /// [`crate::store::record::endings::final_result`]); a Slurm job may still run without
    /// a watcher. [`crate::heal::settle`] tells which, and may change the session.
    Gone,
}

/// Looks at a session: its `result.toml` if present, else whether its supervisor is alive.
/// Reads at most `result.toml`, the lock and `daemon.pid`'s existence; never blocks, never
/// writes, never starts a process. A session found [`Observed::Gone`] may still have a job
/// running elsewhere (an executor whose jobs outlive their watcher, as Slurm's do): only
/// [`crate::heal::observe`] tells, by settling it.
///
/// Errors: a malformed `result.toml`, or a lock that cannot be checked.
pub fn observe(session: &SessionDir) -> Result<Observed> {
    let path = session.file(session::RESULT_TOML);
    if let Some(result) = record::read::<ResultRecord>(&path)? {
        return Ok(Observed::Finished(result));
    }
    if supervisor_alive(session)? || starting(session) {
        return Ok(if files::exists(&session.file(session::QUEUED)) {
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
    if files::exists(&session.file(session::DAEMON_PID)) {
        return false;
    }
    // A creation time in the future (the clock went back) also counts as young.
    SystemTime::now()
        .duration_since(session.id.datetime())
        .map_or(true, |age| age < START_GRACE)
}
