//! `csa session kill` of a Slurm session: the job is stopped through Slurm, never by
//! signalling a PID on this machine.
//!
//! 1. The session must have a live watcher (a look resumes one) or be finished.
//! 2. Before anything is signalled, `scontrol show job` must name the job `csa-<ID>`: job
//!    IDs are reused once the controller loses its state, and a reused ID is refused.
//! 3. `stop.toml` is written (the result will read as stopped, whatever the job returns).
//! 4. A pending job is cancelled with `scancel --state=PENDING` (plain `scancel` would block
//!    until the job starts when given a signal); a running one gets the signal with
//!    `scancel --signal=SIG --full` (without `--full` a job with no steps gets nothing);
//!    `csa __node`, which gets the signal too, applies csa's own grace period and SIGKILLs
//!    the job's process group itself (`scancel --signal=KILL` would wait the cluster's
//!    `KillWait` after a SIGTERM). Should the node not record the end within 5 s after the
//!    grace, plain `scancel` lets Slurm's own termination finish the job.
//! 5. `kill` waits for the watcher to record the result, and reports it.

use std::time::{Duration, Instant};

use anyhow::Result;
use rustix::process::Signal;

use super::client::{Cancel, JobInfo, Query, Slurm, Unreachable};
use super::files::{self, JobRecord};
use super::identity;
use super::resume;
use crate::backoff::Backoff;
use crate::executor::Settled;
use crate::exit::{CSA_ERROR, Failure};
use crate::liveness::{self, Observed};
use crate::stop::sequence::{QUIET_WAIT, StopSequence};
use crate::stop::{signal_name, target};
use crate::store::session::{self, SessionDir};
use crate::store::stop_request::{self as request, StopRequest};

/// How long `kill` waits for the watcher to record the result once the job was told to
/// stop: Slurm may take a few seconds to report a job killed on its node.
const AFTER_STOP: Duration = Duration::from_secs(90);
/// How long after the grace period the node has to SIGKILL the job and record its end
/// before `kill` falls back to Slurm's own termination.
const NODE_KILL_MARGIN: Duration = Duration::from_secs(5);

/// Whether a Slurm session may be stopped, proven before anything of its tree is signalled:
/// false when it has ended (its watcher resumed first when it died) or Slurm reports its job
/// ended; true when it is not submitted yet, or Slurm confirms the job ID still names it.
///
/// Errors (nothing signalled): Slurm unreachable, or the job ID reused.
pub fn may_stop(session: &SessionDir) -> Result<bool> {
    if let Observed::Finished(_) = observe(session)? {
        return Ok(false);
    }
    let Some(job) = files::read_job(session)? else {
        return Ok(true);
    };
    let slurm = Slurm::recorded(job.slurm_conf.as_deref(), job.cluster.as_deref());
    Ok(verified(session, &job, &slurm)?.is_some())
}

/// Stops a Slurm session `how` — `by` names who asks, as the result's reason will — and
/// waits until its result is recorded. With `notes`, reports each step on stderr.
/// `requested`: its stop request was recorded before its tree was signalled (an ending
/// since is reported as such).
///
/// Errors (125): Slurm unreachable or the job ID reused (nothing signalled), `scancel`
/// failed, or no result recorded in time.
pub fn stop(
    session: &SessionDir,
    how: StopSequence,
    by: &str,
    notes: bool,
    requested: bool,
) -> Result<()> {
    let id = session.id_string();
    let note = |text: String| {
        if notes {
            crate::note!("{text}");
        }
    };
    if let Observed::Finished(result) = observe(session)? {
        note(if requested {
            format!(
                "session {id} ended once the stop was recorded, before its own signal (status {}, exit {}); nothing left to signal",
                result.status.as_str(),
                result.exit_code
            )
        } else {
            format!(
                "session {id} already finished (status {}, exit {}); nothing signalled",
                result.status.as_str(),
                result.exit_code
            )
        });
        return Ok(());
    }
    let first = how.first();
    let request = StopRequest::new(first.as_raw(), how.grace, by.to_owned());
    let Some(job) = files::read_job(session)? else {
        // Not submitted yet (waiting for its dependencies or a queue slot, or submitting):
        // the watcher looks for a stop request before it submits and right after; a signal
        // wakes it from its wait. It survives the signal.
        request.write(session)?;
        if let Ok(target) = target::verify(session) {
            let _ = target.scope().signal(Signal::TERM, None);
        }
        note(format!(
            "session {id} is not submitted to Slurm yet; asked its watcher not to"
        ));
        return finish(session, notes);
    };
    let slurm = Slurm::recorded(job.slurm_conf.as_deref(), job.cluster.as_deref());
    let Some(mut info) = verified(session, &job, &slurm)? else {
        return finish(session, notes);
    };
    request.write(session)?;
    let undo = |why: anyhow::Error| -> anyhow::Error {
        let _ = crate::store::files::remove_file(&session.file(request::STOP_TOML));
        Failure::new(
            CSA_ERROR,
            format!(
                "cannot stop Slurm job {} of session {id}: {why:#}",
                job.job_id
            ),
        )
        .into()
    };
    if info.is_pending() {
        // Only while it still waits; ask again in case it started meanwhile.
        let _ = slurm.cancel(&job.job_id, Cancel::Pending);
        info = match slurm.show_job(&job.job_id) {
            Ok(Query::Known(now)) if identity::named(&job, session, &now) => now,
            _ => info,
        };
        if info.is_pending() || info.has_ended() {
            note(format!(
                "cancelled pending Slurm job {} (session {id})",
                job.job_id
            ));
            return finish(session, notes);
        }
    }
    if !info.has_ended() {
        stop_running(session, &job, &slurm, first, how.grace, &note).map_err(undo)?;
    }
    finish(session, notes)
}

/// The job, once Slurm confirms the ID still names it; `None` when it has already ended
/// (nothing to signal). Errors (125, nothing signalled): Slurm unreachable, an unknown ID
/// while the node recorded no ending, or an ID that names another job.
fn verified(session: &SessionDir, job: &JobRecord, slurm: &Slurm) -> Result<Option<JobInfo>> {
    let id = session.id_string();
    let refuse = |why: String| -> anyhow::Error {
        Failure::new(
            CSA_ERROR,
            format!(
                "refusing to signal Slurm job {} of session {id}: {why}; nothing was signalled",
                job.job_id
            ),
        )
        .into()
    };
    match show_job_patiently(slurm, &job.job_id) {
        Err(Unreachable(why)) => Err(refuse(format!("cannot reach Slurm ({why})"))),
        Ok(Query::Known(info)) if identity::proven(job, session, &info, slurm) => {
            Ok((!info.has_ended()).then_some(info))
        }
        Ok(Query::Known(other)) => Err(refuse(format!(
            "the ID now names another job ({}), not {}: Slurm lost its state and reused it",
            other.name, job.job_name
        ))),
        Ok(Query::Unknown) if files::read_ending(session).is_some() => Ok(None),
        Ok(Query::Unknown) => Err(refuse(
            "Slurm no longer knows the job (its controller lost its state?); `csa session wait` records how it ended"
                .to_owned(),
        )),
    }
}

/// `scontrol show job`, asked up to three times (250 ms, then 500 ms apart) while the
/// connection to the controller breaks: an overloaded one drops connections. A controller
/// that cannot be contacted at all (`scontrol` gives up after its own timeouts) is not
/// asked again.
fn show_job_patiently(slurm: &Slurm, id: &str) -> Result<Query, Unreachable> {
    let mut attempt = 1;
    loop {
        match slurm.show_job(id) {
            Err(Unreachable(why)) if attempt < 3 && !why.contains("Unable to contact") => {
                std::thread::sleep(Duration::from_millis(250) * attempt);
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// The first signal through Slurm, csa's grace period (applied by the node), then Slurm's
/// own termination if the node has not recorded the end soon after.
fn stop_running(
    session: &SessionDir,
    job: &JobRecord,
    slurm: &Slurm,
    first: Signal,
    grace: Duration,
    note: &dyn Fn(String),
) -> Result<()> {
    let id = session.id_string();
    let started = Instant::now();
    slurm.cancel(&job.job_id, Cancel::Signal(first.as_raw()))?;
    note(format!(
        "sent {} to Slurm job {} (session {id}) with scancel --full",
        signal_name(first),
        job.job_id
    ));
    // `csa __node` applies the grace period and SIGKILLs what is left (Slurm cannot send an
    // immediate SIGKILL); if it has not recorded the end soon after, Slurm's own
    // termination (SIGTERM, KillWait, SIGKILL) takes over.
    let limit = if first == Signal::KILL {
        NODE_KILL_MARGIN
    } else {
        grace + NODE_KILL_MARGIN
    };
    let ended = if first != Signal::KILL && grace > QUIET_WAIT {
        // A long grace period is never waited through in silence.
        ended_within(session, QUIET_WAIT)
            || {
                note(format!(
                    "waiting up to {} (the grace period) for Slurm job {} (session {id}) to end after {}; csa on the node sends SIGKILL then",
                    humantime::format_duration(grace),
                    job.job_id,
                    signal_name(first)
                ));
                ended_within(session, limit.saturating_sub(started.elapsed()))
            }
    } else {
        ended_within(session, limit)
    };
    if ended {
        let ending = files::read_ending(session);
        let by_kill = first != Signal::KILL
            && ending.is_some_and(|ending| ending.result.signal == Some(Signal::KILL.as_raw()));
        note(if by_kill {
            format!(
                "Slurm job {} was still running {} after {}: csa on the node sent SIGKILL",
                job.job_id,
                humantime::format_duration(grace),
                signal_name(first)
            )
        } else {
            format!(
                "Slurm job {} ended {} ms after {}",
                job.job_id,
                started.elapsed().as_millis(),
                signal_name(first)
            )
        });
        return Ok(());
    }
    note(format!(
        "the node did not record the end of Slurm job {} {} s after the grace period; cancelling it with scancel",
        job.job_id,
        NODE_KILL_MARGIN.as_secs()
    ));
    slurm.cancel(&job.job_id, Cancel::Plain)
}

/// Waits up to `limit` for the node's ending (or the result) to appear.
fn ended_within(session: &SessionDir, limit: Duration) -> bool {
    let pauses = Backoff::new(Duration::from_millis(1), Duration::from_millis(50));
    crate::backoff::poll(limit, pauses, || {
        (crate::store::files::exists(&session.file(files::ENDING_TOML))
            || crate::store::files::exists(&session.file(session::RESULT_TOML)))
        .then_some(())
    })
    .is_some()
}

/// Waits for the watcher to record the result (resuming one if it died), and reports it.
fn finish(session: &SessionDir, notes: bool) -> Result<()> {
    let deadline = crate::backoff::deadline(AFTER_STOP);
    let result = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if !liveness::wait_for_supervisor(session, Some(left))? {
            return Err(Failure::new(
                CSA_ERROR,
                format!(
                    "the watcher of session {} has not recorded a result {} s after the stop; `csa session wait` will report it",
                    session.id_string(),
                    AFTER_STOP.as_secs()
                ),
            )
            .into());
        }
        // A result that cannot be recorded is an error (exit 125) of the stop.
        match resume::settle(session)? {
            Settled::Finished(result) => break result,
            Settled::Resumed => {}
        }
    };
    let signal = result
        .signal
        .map(|n| format!(", signal {n}"))
        .unwrap_or_default();
    if notes {
        crate::note!(
            "session {} ended: status {}, exit {}{signal}",
            result.id,
            result.status.as_str(),
            result.exit_code
        );
    }
    Ok(())
}

/// A look at a Slurm session that settles it when its watcher is gone (the job outlives
/// its watcher: it is never taken for ended while Slurm may still run it).
fn observe(session: &SessionDir) -> Result<Observed> {
    Ok(match liveness::observe(session)? {
        Observed::Gone => resume::settle(session)?.observed(),
        observed => observed,
    })
}
