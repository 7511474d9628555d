//! Whom a stop may signal: a session's supervisor, verified before anything is signalled.
//!
//! A PID alone proves nothing (PIDs are reused), so a running session is signalled only
//! when all of these hold: `daemon.pid` parses, its PID is above 1, the process's start
//! time (field 22 of `/proc/<pid>/stat`) is the one recorded, the session's lock is held,
//! and that process has the session's `lock` file open.

use std::os::unix::fs::MetadataExt as _;
use std::time::Duration;

use super::Scope;
use crate::backoff::Backoff;
use crate::exit::{CSA_ERROR, Failure};
use crate::liveness::{self, Identity, Observed};
use crate::store::session::{self, SessionDir};
use crate::sys::{self, Pid, ProcStat};

/// A live session whose supervisor was verified, and the processes a stop reaches.
#[derive(Debug, Clone)]
pub struct Target {
    /// The session.
    pub session: SessionDir,
    /// Its supervisor, as `daemon.pid` records it.
    pub identity: Identity,
    /// Its job's processes as verified: the supervisor's process group (or, for a
    /// supervisor that shares a group it does not lead, its descendants in that group), or
    /// the marked processes of a finished session ([`Target::leftovers`]).
    scope: Scope,
}

impl Target {
    /// The processes a stop of a finished session reaches: those of the supervisor's process
    /// group that carry the session's ID ([`Scope::Marked`]).
    pub fn leftovers(session: &SessionDir, identity: Identity) -> Self {
        Self {
            session: session.clone(),
            identity,
            scope: Scope::Marked {
                pgid: Some(identity.pid),
                id: session.id,
                since: identity.start_time,
            },
        }
    }

    /// The processes a signal may reach now: the verified scope while the supervisor still
    /// holds its PID (alive or not yet reaped, with the recorded start time: its group and
    /// its descendants are the session's); once it is gone, only the processes that carry
    /// the session's ID ([`Scope::Marked`]) — its PID, and so its group's number, may since
    /// have been reused.
    pub fn scope(&self) -> Scope {
        match self.scope {
            Scope::Marked { .. } => self.scope,
            scope if self.identity.holds_pid() => scope,
            Scope::Group(pgid) => Scope::Marked {
                pgid: Some(pgid),
                id: self.session.id,
                since: self.identity.start_time,
            },
            Scope::Descendants { pgid, .. } => Scope::Marked {
                pgid,
                id: self.session.id,
                since: self.identity.start_time,
            },
        }
    }
}

/// True while the session runs or waits (its supervisor holds the lock, or `csa run` is
/// still setting it up).
pub fn is_live(session: &SessionDir) -> anyhow::Result<bool> {
    Ok(matches!(
        liveness::observe(session)?,
        Observed::Running | Observed::Queued
    ))
}

/// Verifies the supervisor of a live session. `Err` says why it cannot be signalled.
pub fn verify(session: &SessionDir) -> anyhow::Result<Target> {
    let found = liveness::read_identity(session)?;
    let pid = found.pid;
    let stat = ProcStat::read(pid)
        .map_err(|_| anyhow::anyhow!("process {pid} of daemon.pid is not running"))?;
    if stat.is_exited() {
        return Err(anyhow::anyhow!("process {pid} of daemon.pid has exited"));
    }
    if stat.start_time != found.start_time {
        return Err(anyhow::anyhow!(
            "process {pid} started at tick {}, not at tick {} as daemon.pid records: the PID now belongs to another process",
            stat.start_time,
            found.start_time
        ));
    }
    let stat = until_started(pid, found.start_time, stat)?;
    let lock = crate::store::files::metadata(&session.file(session::LOCK))
        .map_err(|err| anyhow::anyhow!("cannot inspect the session's lock: {err}"))?;
    match sys::has_file_open(pid, lock.dev(), lock.ino()) {
        Ok(true) => {}
        Ok(false) => {
            return Err(anyhow::anyhow!(
                "process {pid} does not hold the session's lock"
            ));
        }
        Err(err) => {
            return Err(anyhow::anyhow!(
                "cannot check that process {pid} holds the session's lock: {err}"
            ));
        }
    }
    let scope = if stat.pgrp == Some(pid) {
        Scope::Group(pid)
    } else {
        Scope::Descendants {
            pgid: stat.pgrp,
            ancestor: pid,
        }
    };
    Ok(Target {
        session: session.clone(),
        identity: found,
        scope,
    })
}

/// How long a supervisor that `csa run` has just forked may take to become
/// `csa __supervise` before a stop gives up on it.
const STARTING_LIMIT: Duration = Duration::from_secs(10);

/// The supervisor's `/proc` entry once it is `csa __supervise`, for a supervisor `csa run`
/// has just forked: `run` waits for the child to lead its own session before it publishes
/// `daemon.pid` and prints the ID, but not for its `exec`. A stop waits for the `exec` all
/// the same, so that it finds the group and the supervisor as they will stay (a signal sent
/// earlier would be kept pending, not lost: the child blocks every signal until its
/// handlers are in place, and no job starts before that). Such a child is told apart from a
/// `--no-daemon` supervisor, which shares its caller's group on purpose, by its signal
/// mask. Any other supervisor's `stat` is returned as it is.
///
/// Errors (nothing signalled): the process vanished or was replaced while waiting, or did
/// not exec within [`STARTING_LIMIT`].
fn until_started(pid: Pid, start_time: u64, stat: ProcStat) -> anyhow::Result<ProcStat> {
    if !blocks_sigterm(pid) || (stat.pgrp == Some(pid) && is_supervisor(pid)) {
        return Ok(stat);
    }
    let pauses = Backoff::new(Duration::from_micros(100), Duration::from_millis(10));
    crate::backoff::poll(STARTING_LIMIT, pauses, || {
        let Ok(now) = ProcStat::read(pid) else {
            return Some(Err(anyhow::anyhow!("process {pid} of daemon.pid exited")));
        };
        if now.start_time != start_time || now.is_exited() {
            return Some(Err(anyhow::anyhow!("process {pid} of daemon.pid exited")));
        }
        (now.pgrp == Some(pid) && is_supervisor(pid)).then_some(Ok(now))
    })
    .unwrap_or_else(|| {
        Err(anyhow::anyhow!(
            "process {pid} was started {} s ago and is not running csa's supervisor yet",
            STARTING_LIMIT.as_secs()
        ))
    })
}

/// True when process `pid` runs `csa __supervise` (its second argument, in
/// `/proc/<pid>/cmdline`): it has exec'd.
fn is_supervisor(pid: Pid) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|cmdline| cmdline.split(|&b| b == 0).nth(1) == Some(b"__supervise"))
}

/// True when process `pid` has SIGTERM blocked (`SigBlk` of `/proc/<pid>/status`).
fn blocks_sigterm(pid: Pid) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("SigBlk:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (libc::SIGTERM - 1)) != 0)
}

/// The error of a refused stop: nothing was signalled.
pub fn refusal(session: &SessionDir, why: impl std::fmt::Display) -> anyhow::Error {
    Failure::new(
        CSA_ERROR,
        format!(
            "refusing to signal session {}: {why:#}; nothing was signalled ({})",
            session.id_string(),
            session.file(session::DAEMON_PID).display()
        ),
    )
    .into()
}

#[cfg(test)]
mod tests {
    use crate::liveness::{Identity, read_identity};
    use crate::store::session::{self, SessionDir};

    fn identity_of(text: &str) -> anyhow::Result<Identity> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(session::DAEMON_PID), text).unwrap();
        read_identity(&SessionDir::sample(dir.path()))
    }

    #[test]
    fn daemon_pid_parsing() {
        assert_eq!(
            identity_of("1234 5678\n").ok(),
            Some(Identity {
                pid: crate::sys::Pid::new(1234).unwrap(),
                start_time: 5678
            })
        );
        assert!(identity_of("1234 5678").is_ok());
        for bad in [
            "",
            "\n",
            "0 0\n",
            "1 0\n",
            "-5 1\n",
            "12 x\n",
            "12\n",
            "12  3\n",
            "12 3 4\n",
            "+12 3\n",
            "99999999999 1\n",
            "garbage",
        ] {
            assert!(identity_of(bad).is_err(), "{bad:?} accepted");
        }
    }
}
