//! `csa session kill`: verify the supervisor's identity, then SIGTERM (or `--signal`) to the
//! job's process group, a grace period, SIGKILL to whatever is left, and make sure
//! `result.toml` exists.
//!
//! **Identity before any signal.** A PID alone proves nothing (PIDs are reused), so a
//! running session is signalled only when all of these hold: `daemon.pid` parses, its PID
//! is above 1, the process's start time (field 22 of `/proc/<pid>/stat`) is the one
//! recorded, the session's lock is held, and that process has the session's `lock` file
//! open. Otherwise `kill` refuses (exit 125) and signals nothing.
//!
//! **SIGKILL reaches the supervisor too.** After the grace period SIGKILL goes to the whole
//! process group with one `kill(-pgid)`, which the kernel applies to every member at once,
//! so a job forking in a loop cannot slip a child past it. The supervisor dies with the
//! job; `kill` then records the synthetic `signal` result (9, exit 137) with the reason.
//! A job that exits during the grace period is reaped by the supervisor, which survives
//! SIGTERM/SIGINT/SIGHUP and records the true result.

use std::os::unix::fs::MetadataExt as _;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use rustix::process::Signal;

use crate::cli::KillArgs;
use crate::exit::{self, CSA_ERROR, Failure};
use crate::liveness::{self, Identity, Observed, read_identity};
use crate::record::{ResultRecord, Status};
use crate::session::{self, SessionDir, StateRoot};
use crate::stop::{Scope, signal_name};
use crate::sys::{self, ProcStat};

/// How long `kill` waits, after SIGKILL, for the processes to vanish and for the session's
/// lock to be released.
const AFTER_KILL: Duration = Duration::from_secs(10);

/// Runs `csa session kill`. Returns 0 when the session was stopped or had already finished.
/// Errors (125): unknown session, identity not verified (nothing signalled), processes that
/// survive SIGKILL, a lock still held after them.
pub fn exec(args: &KillArgs) -> Result<u8> {
    let session = StateRoot::from_env()?.resolve(&args.session)?;
    if crate::executor::of(&session) == crate::record::Executor::Slurm {
        return crate::executor::slurm::stop::kill(&session, args);
    }
    let identity = read_identity(&session);
    // A session still being set up by `csa run` (no `daemon.pid` yet) counts as running.
    let running =
        || Ok::<_, anyhow::Error>(matches!(liveness::observe(&session)?, Observed::Running));
    if running()? {
        match identity.clone().and_then(|found| verify(&session, found)) {
            Ok((found, scope)) => return stop_running(&session, found, scope, args),
            // The session may have ended meanwhile; if not, refuse.
            Err(why) if running()? => {
                return Err(refusal(&session, &why));
            }
            Err(_) => {}
        }
    }
    stop_finished(&session, identity, args)
}

/// The error of a refused kill: nothing was signalled.
fn refusal(session: &SessionDir, why: &str) -> anyhow::Error {
    Failure::new(
        CSA_ERROR,
        format!(
            "refusing to signal session {}: {why}; nothing was signalled ({})",
            session.id_string(),
            session.file(session::DAEMON_PID).display()
        ),
    )
    .into()
}

/// Checks that the recorded supervisor is the live process holding the session's lock, and
/// returns the processes to signal: its process group (or, for a supervisor that shares a
/// group it does not lead, its descendants in that group).
fn verify(session: &SessionDir, found: Identity) -> Result<(Identity, Scope), String> {
    let pid = found.pid;
    let stat =
        ProcStat::read(pid).map_err(|_| format!("process {pid} of daemon.pid is not running"))?;
    if stat.is_exited() {
        return Err(format!("process {pid} of daemon.pid has exited"));
    }
    if stat.start_time != found.start_time {
        return Err(format!(
            "process {pid} started at tick {}, not at tick {} as daemon.pid records: the PID now belongs to another process",
            stat.start_time, found.start_time
        ));
    }
    let lock = std::fs::metadata(session.file(session::LOCK))
        .map_err(|err| format!("cannot inspect the session's lock: {err}"))?;
    match sys::has_file_open(pid, lock.dev(), lock.ino()) {
        Ok(true) => {}
        Ok(false) => return Err(format!("process {pid} does not hold the session's lock")),
        Err(err) => {
            return Err(format!(
                "cannot check that process {pid} holds the session's lock: {err}"
            ));
        }
    }
    let scope = if stat.pgrp == pid {
        Scope::Group(pid)
    } else {
        Scope::Descendants {
            pgid: stat.pgrp,
            ancestor: pid,
        }
    };
    Ok((found, scope))
}

/// Stops a running session and reports its result.
fn stop_running(
    session: &SessionDir,
    found: Identity,
    scope: Scope,
    args: &KillArgs,
) -> Result<u8> {
    let id = session.id_string();
    let last = stop_sequence(&id, scope, args)?;
    if !liveness::wait_for_supervisor(session, Some(AFTER_KILL))? {
        return Err(Failure::new(
            CSA_ERROR,
            format!(
                "the session's lock is still held {} s after its processes were killed ({id})",
                AFTER_KILL.as_secs()
            ),
        )
        .into());
    }
    let result = liveness::final_result_or(session, || {
        let reason = if last == Signal::KILL && args.signal != Signal::KILL && !args.grace.is_zero()
        {
            format!(
                "killed by csa session kill (SIGKILL after {} grace)",
                humantime::format_duration(args.grace)
            )
        } else {
            format!("killed by csa session kill ({})", signal_name(last))
        };
        liveness::synthetic_result(
            session,
            Status::Signal,
            exit::from_signal(last.as_raw()),
            Some(last.as_raw()),
            reason,
        )
    })
    .map_err(kill_failure)?;
    report(&result, found.pid);
    Ok(exit::SUCCESS)
}

/// A session whose supervisor is gone: reconstructs its result if needed, and stops what is
/// left of its process group, when those processes provably belong to it.
///
/// A `lost` session (the supervisor vanished without a result) may still have running
/// processes: when `daemon.pid` cannot identify its group — malformed, or its PID now
/// belongs to another process — kill refuses rather than report it finished.
fn stop_finished(
    session: &SessionDir,
    identity: Result<Identity, String>,
    args: &KillArgs,
) -> Result<u8> {
    let id = session.id_string();
    let result = liveness::final_result(session).map_err(kill_failure)?;
    let lost = result.status == Status::Lost;
    let found = match identity {
        Ok(found) => Some(found),
        Err(why) if lost => {
            return Err(refusal(
                session,
                &format!("the supervisor vanished without a result and {why}"),
            ));
        }
        Err(_) => None,
    };
    if let Some(found) = found.filter(|_| lost)
        && ProcStat::read(found.pid)
            .is_ok_and(|stat| !stat.is_exited() && stat.start_time != found.start_time)
    {
        return Err(refusal(
            session,
            &format!(
                "the supervisor vanished without a result and its PID {} now belongs to another process",
                found.pid
            ),
        ));
    }
    let strays = found.map(leftovers).unwrap_or_default();
    let Some(found) = found.filter(|_| !strays.is_empty()) else {
        crate::note!(
            "session {id} already finished (status {}, exit {}); nothing signalled",
            result.status.as_str(),
            result.exit_code
        );
        return Ok(exit::SUCCESS);
    };
    crate::note!(
        "session {id} already finished (status {}), but {} processes of its process group {} are still running: {}",
        result.status.as_str(),
        strays.len(),
        found.pid,
        join(&strays)
    );
    stop_sequence(&id, Scope::Group(found.pid), args)?;
    Ok(exit::SUCCESS)
}

/// `kill` exits 0 or 125 (contract §3): a result that cannot be recorded (exit 124 for
/// `wait`) is a failure of `kill`, whose promise is that `result.toml` exists afterwards.
fn kill_failure(err: anyhow::Error) -> anyhow::Error {
    if exit::code_of(&err) == exit::TIMEOUT {
        Failure::new(CSA_ERROR, format!("{err:#}")).into()
    } else {
        err
    }
}

/// The live members of a finished session's process group that provably belong to it: in
/// its session (same session ID as the supervisor's PID) and started no earlier than the
/// supervisor. None when the PID now belongs to another process: while any member of the
/// old group lived, the kernel could not have reused the PID.
fn leftovers(found: Identity) -> Vec<i32> {
    if ProcStat::read(found.pid).is_ok_and(|stat| stat.start_time != found.start_time) {
        return Vec::new();
    }
    sys::group_members(found.pid)
        .into_iter()
        .filter(|(pid, stat)| {
            *pid != found.pid && stat.session == found.pid && stat.start_time >= found.start_time
        })
        .map(|(pid, _)| pid)
        .collect()
}

/// The first signal, the grace period, then SIGKILL if anyone is left. Reports each step
/// on stderr and returns the last signal sent.
fn stop_sequence(id: &str, scope: Scope, args: &KillArgs) -> Result<Signal> {
    let target = match scope {
        Scope::Group(pgid) => format!("process group {pgid}"),
        Scope::Descendants { pgid, ancestor } => {
            format!("the processes under supervisor {ancestor} in process group {pgid}")
        }
    };
    let first = if args.grace.is_zero() {
        Signal::KILL
    } else {
        args.signal
    };
    let signal = |signal: Signal| {
        scope
            .signal(signal, None)
            .with_context(|| format!("cannot send {} to {target} ({id})", signal_name(signal)))
    };
    let started = Instant::now();
    signal(first)?;
    crate::note!("sent {} to {target} (session {id})", signal_name(first));
    let stop_signals = [
        Signal::KILL,
        Signal::STOP,
        Signal::TSTP,
        Signal::TTIN,
        Signal::TTOU,
    ];
    if !stop_signals.contains(&first) {
        // Stopped processes act on the signal only once continued.
        let _ = scope.signal(Signal::CONT, None);
    }
    if first != Signal::KILL {
        if scope.wait_until_empty(None, args.grace) {
            crate::note!(
                "{target} exited {} ms after {}",
                started.elapsed().as_millis(),
                signal_name(first)
            );
            return Ok(first);
        }
        let left = scope.members(None);
        crate::note!(
            "{} processes still running {} after {}: {}; sending SIGKILL",
            left.len(),
            humantime::format_duration(args.grace),
            signal_name(first),
            join(&left)
        );
        signal(Signal::KILL)?;
    }
    if !scope.wait_until_empty(None, AFTER_KILL) {
        return Err(Failure::new(
            CSA_ERROR,
            format!(
                "processes survive SIGKILL (uninterruptible sleep?): {} ({id})",
                join(&scope.members(None))
            ),
        )
        .into());
    }
    crate::note!(
        "{target} exited {} ms after the first signal",
        started.elapsed().as_millis()
    );
    Ok(Signal::KILL)
}

/// Prints the session's result on stderr.
fn report(result: &ResultRecord, pid: i32) {
    let signal = result
        .signal
        .map(|n| format!(", signal {n}"))
        .unwrap_or_default();
    let synthetic = if result.synthetic {
        " (recorded by csa session kill: the supervisor was killed too)"
    } else {
        ""
    };
    crate::note!(
        "session {} ended: status {}, exit {}{signal}{synthetic}; supervisor {pid} is gone",
        result.id,
        result.status.as_str(),
        result.exit_code
    );
}

fn join(pids: &[i32]) -> String {
    pids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity_of(text: &str) -> Result<Identity, String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(session::DAEMON_PID), text).unwrap();
        read_identity(&SessionDir {
            id: ulid::Ulid::nil(),
            path: dir.path().to_owned(),
        })
    }

    #[test]
    fn daemon_pid_parsing() {
        assert_eq!(
            identity_of("1234 5678\n"),
            Ok(Identity {
                pid: 1234,
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
