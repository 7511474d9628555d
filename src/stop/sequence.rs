//! Stopping sessions in steps — the first signal, a grace period, then SIGKILL to whatever
//! is left — several at a time (a session tree, every session with a tag), and recording
//! how each ended.

use std::time::{Duration, Instant};

use anyhow::Result;
use rustix::process::Signal;

use super::target::Target;
use super::{Scope, signal_name};
use crate::exit::{self, CSA_ERROR, Failure};
use crate::liveness;
use crate::store::record::endings;
use crate::store::record::{ResultRecord, Status};
use crate::store::stop_request::StopRequest;

/// How long, after SIGKILL, to wait for processes to vanish and for supervisors to let go
/// of their locks.
pub const AFTER_KILL: Duration = Duration::from_secs(10);

/// How long a job has to exit after SIGTERM before it gets SIGKILL when its `--timeout` or
/// `--idle-timeout` strikes (wherever it runs: under its supervisor, on a Slurm node; its descendants too).
pub const TIMEOUT_GRACE: Duration = Duration::from_secs(5);

/// How to stop: the first signal, and how long the processes have to exit before SIGKILL.
#[derive(Debug, Clone, Copy)]
pub struct StopSequence {
    /// The first signal (SIGTERM by default).
    pub signal: Signal,
    /// The grace period; zero means SIGKILL at once.
    pub grace: Duration,
}

impl StopSequence {
    /// The signal sent first: SIGKILL when the grace period is zero.
    pub fn first(self) -> Signal {
        if self.grace.is_zero() {
            Signal::KILL
        } else {
            self.signal
        }
    }
}

/// Stops `targets` together: records a stop request in each (`by(target)` names who asked,
/// as its result's reason will), sends each the first signal, waits up to the grace period
/// for all of them to exit, SIGKILLs what is left, and waits for it to vanish. With
/// `notes`, reports each step on stderr. Returns the last signal each target got.
///
/// Errors: a stop request that cannot be recorded (nothing was signalled), a signal that
/// cannot be sent, processes that survive SIGKILL for [`AFTER_KILL`].
pub fn stop_together(
    targets: &[Target],
    how: StopSequence,
    by: &dyn Fn(&Target) -> String,
    notes: bool,
) -> Result<Vec<Signal>> {
    let first = how.first();
    for target in targets {
        // Before any signal, so that whoever records the result records it as stopped.
        StopRequest::new(first.as_raw(), how.grace, by(target))
            .write(&target.session)
            .map_err(|err| {
                err.context(format!(
                    "cannot record the stop request; nothing was signalled ({})",
                    target.session.id_string()
                ))
            })?;
    }
    let started = Instant::now();
    for target in targets {
        send(target, first)?;
        if notes {
            crate::note!(
                "sent {} to {} (session {})",
                signal_name(first),
                describe(target.scope()),
                target.session.id_string()
            );
        }
    }
    let stop_signals = [
        Signal::KILL,
        Signal::STOP,
        Signal::TSTP,
        Signal::TTIN,
        Signal::TTOU,
    ];
    if !stop_signals.contains(&first) {
        // Stopped processes act on the signal only once continued.
        for target in targets {
            let _ = target.scope().signal(Signal::CONT, None);
        }
    }
    let mut last = vec![first; targets.len()];
    if first != Signal::KILL {
        let left = wait_through_grace(targets, how, started, notes);
        for (i, target) in targets.iter().enumerate() {
            if !left[i] {
                if notes {
                    crate::note!(
                        "{} exited {} ms after {}",
                        describe(target.scope()),
                        started.elapsed().as_millis(),
                        signal_name(first)
                    );
                }
                continue;
            }
            if notes {
                let members = target.scope().members(None).unwrap_or_default();
                crate::note!(
                    "{} still running {} after {}: {}; sending SIGKILL",
                    crate::term::count(members.len() as u64, "process", "processes"),
                    humantime::format_duration(how.grace),
                    signal_name(first),
                    join(&members)
                );
            }
            send(target, Signal::KILL)?;
            last[i] = Signal::KILL;
        }
    }
    let killed: Vec<Target> = targets
        .iter()
        .zip(&last)
        .filter(|(_, signal)| **signal == Signal::KILL)
        .map(|(target, _)| target.clone())
        .collect();
    let left = wait_until_empty(&killed, AFTER_KILL);
    if let Some((target, _)) = killed.iter().zip(&left).find(|(_, left)| **left) {
        return Err(Failure::new(
            CSA_ERROR,
            format!(
                "processes survive SIGKILL (uninterruptible sleep?): {} ({})",
                join(&target.scope().members(None).unwrap_or_default()),
                target.session.id_string()
            ),
        )
        .into());
    }
    if notes {
        for target in &killed {
            crate::note!(
                "{} exited {} ms after {}",
                describe(target.scope()),
                started.elapsed().as_millis(),
                signal_name(first)
            );
        }
    }
    Ok(last)
}

/// Waits for a stopped target's supervisor to let go of its lock, and returns the session's
/// result: the supervisor's own, or — when SIGKILL took the supervisor too — a synthetic
/// `signal` result saying who stopped it.
///
/// Errors: the lock is still held [`AFTER_KILL`] after the processes were killed; the
/// result cannot be recorded.
pub fn recorded(
    target: &Target,
    last: Signal,
    how: StopSequence,
    by: &str,
) -> Result<ResultRecord> {
    let session = &target.session;
    if !liveness::wait_for_supervisor(session, Some(AFTER_KILL))? {
        return Err(Failure::new(
            CSA_ERROR,
            format!(
                "the session's lock is still held {} s after its processes were killed ({})",
                AFTER_KILL.as_secs(),
                session.id_string()
            ),
        )
        .into());
    }
    endings::final_result_or(session, || {
        let reason = if last == Signal::KILL && how.first() != Signal::KILL {
            format!(
                "killed by {by} (SIGKILL after {} grace)",
                humantime::format_duration(how.grace)
            )
        } else {
            format!("killed by {by} ({})", signal_name(last))
        };
        endings::synthetic_result(
            session,
            Status::Signal,
            exit::from_signal(last.as_raw()),
            Some(last.as_raw()),
            reason,
        )
    })
}

/// Sends `signal` to the target's processes.
fn send(target: &Target, signal: Signal) -> Result<()> {
    target
        .scope()
        .signal(signal, None)
        .map(drop)
        .map_err(|err| {
            crate::exit::io_failure(
                &format!(
                    "cannot send {} to {}",
                    signal_name(signal),
                    describe(target.scope())
                ),
                &err,
                target.session.id_string(),
            )
        })
}

/// Waits until every target's processes are gone or `limit` passes ([`super::drain`]:
/// woken by an exit, not a scan every few ms); returns, per target, whether processes are
/// left.
pub fn wait_until_empty(targets: &[Target], limit: Duration) -> Vec<bool> {
    let mut left = vec![true; targets.len()];
    super::drain::until_empty(limit, || {
        let mut members = Vec::new();
        for (i, target) in targets.iter().enumerate() {
            if left[i] {
                match target.scope().members(None) {
                    Ok(found) if found.is_empty() => left[i] = false,
                    Ok(found) => members.extend(found),
                    Err(_) => return None,
                }
            }
        }
        Some(members)
    });
    left
}

/// How long the processes may take to exit before a stop says what it waits for (here,
/// and for a Slurm job in the Slurm executor's stop).
pub const QUIET_WAIT: Duration = Duration::from_secs(1);

/// Waits up to the grace period (counted from `started`) for `targets` to exit, as
/// [`wait_until_empty`]. With `notes`, once some are still there after [`QUIET_WAIT`], says
/// once on stderr what it is waiting for and how long, so that a long `--grace` never
/// blocks in silence.
fn wait_through_grace(
    targets: &[Target],
    how: StopSequence,
    started: Instant,
    notes: bool,
) -> Vec<bool> {
    if !notes || how.grace <= QUIET_WAIT {
        return wait_until_empty(targets, how.grace);
    }
    let left = wait_until_empty(targets, QUIET_WAIT.saturating_sub(started.elapsed()));
    if !left.contains(&true) {
        return left;
    }
    let waiting: Vec<&Target> = targets
        .iter()
        .zip(&left)
        .filter_map(|(target, &left)| left.then_some(target))
        .collect();
    let what = match waiting.as_slice() {
        [one] => format!(
            "{} (session {})",
            describe(one.scope()),
            one.session.id_string()
        ),
        many => format!("the processes of {} sessions", many.len()),
    };
    crate::note!(
        "waiting up to {} (the grace period) for {what} to exit after {}; SIGKILL then",
        humantime::format_duration(how.grace),
        signal_name(how.first())
    );
    wait_until_empty(targets, how.grace.saturating_sub(started.elapsed()))
}

/// `process group 1234`, or the processes under a supervisor that shares a group.
pub fn describe(scope: Scope) -> String {
    match scope {
        Scope::Group(pgid) => format!("process group {pgid}"),
        Scope::Descendants {
            pgid: Some(pgid),
            ancestor,
        } => format!("the processes under supervisor {ancestor} in process group {pgid}"),
        Scope::Descendants {
            pgid: None,
            ancestor,
        } => format!("the processes under supervisor {ancestor} in its process group"),
        Scope::Marked { pgid, id, .. } => {
            let group = pgid.map_or_else(
                || "its process group".to_owned(),
                |pgid| format!("process group {pgid}"),
            );
            format!("the processes of {group} that carry CSA_SESSION_ID={id}")
        }
    }
}

/// PIDs separated by spaces.
pub fn join(pids: &[crate::sys::Pid]) -> String {
    pids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prints the session's result on stderr.
pub fn report(result: &ResultRecord, pid: crate::sys::Pid) {
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
