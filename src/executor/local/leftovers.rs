//! `kill` of a session that has already ended: reconstruct its result if needed, and stop
//! what is left of its process group, when those processes provably belong to it: they
//! carry the session's `CSA_SESSION_ID` in their environment ([`Target::leftovers`]). The
//! supervisor is gone, so its PID — and the number of its process group — may belong to
//! anyone now: a member without that proof is never signalled, and `kill` then says so and
//! exits 125.

use std::time::Duration;

use anyhow::Result;

use crate::backoff;
use crate::exit::{CSA_ERROR, Failure};
use crate::liveness::{Identity, read_identity};
use crate::stop::target::{self, Target};
use crate::stop::{
    self,
    sequence::{self, StopSequence},
};
use crate::store::record::endings;
use crate::store::record::{ResultRecord, Status};
use crate::store::session::SessionDir;
use crate::sys::{self, Pid, ProcStat};

/// Stops what is left of a finished session. A `lost` session (the supervisor vanished
/// without a result) may still have running processes: when `daemon.pid` cannot identify
/// its group — malformed, or its PID now belongs to another process — this refuses rather
/// than report it finished.
///
/// `requested`: this stop recorded the session's stop request before its tree was signalled,
/// and the session ended since (as stopped): it is reported so, not as "already finished".
///
/// Errors (125, a refusal): `daemon.pid` names a running process with the recorded start
/// time that is not the session's; members of the group cannot be proven to be the
/// session's (those that can are stopped first).
pub fn stop_finished(session: &SessionDir, how: StopSequence, requested: bool) -> Result<()> {
    let id = session.id_string();
    let identity = read_identity(session);
    let result = endings::final_result(session)?;
    let lost = result.status == Status::Lost;
    let found = match identity {
        Ok(found) => Some(found),
        Err(why) if lost => {
            return Err(target::refusal(
                session,
                format!("the supervisor vanished without a result and {why:#}"),
            ));
        }
        Err(_) => None,
    };
    if let Some(found) = found.filter(|_| lost)
        && ProcStat::read(found.pid)
            .is_ok_and(|stat| !stat.is_exited() && stat.start_time != found.start_time)
    {
        return Err(target::refusal(
            session,
            format!(
                "the supervisor vanished without a result and its PID {} now belongs to another process",
                found.pid
            ),
        ));
    }
    let Some(found) = found else {
        nothing_signalled(&id, &result, requested);
        return Ok(());
    };
    // A live process with the recorded identity while the lock is free is the supervisor
    // on its way out (it recorded the result and let go of the lock), which is left to
    // exit; or a process csa never started (a stale or forged `daemon.pid`).
    if found.is_running() && !exits_soon(found) && !sys::has_env(found.pid, "CSA_SESSION_ID", &id) {
        return Err(target::refusal(
            session,
            format!(
                "the session has ended (status {}), yet process {} named by daemon.pid runs with the recorded start time without the session's ID in its environment: csa did not start it",
                result.status.as_str(),
                found.pid
            ),
        ));
    }
    let target = Target::leftovers(session, found);
    let (ours, strangers) = members(&target, found).map_err(|err| {
        crate::exit::io_failure("cannot list the processes of its group", &err, &id)
    })?;
    let unproven = |what: &str| {
        format!(
            "session {id} has ended (status {}); {what}{} of its process group {} cannot be proven to be the session's (no CSA_SESSION_ID={id} in their environment: the group's number may have been reused): {}",
            result.status.as_str(),
            crate::term::count(strangers.len() as u64, "process", "processes"),
            found.pid,
            sequence::join(&strangers)
        )
    };
    if ours.is_empty() {
        if strangers.is_empty() {
            nothing_signalled(&id, &result, requested);
            return Ok(());
        }
        return Err(target::refusal(session, unproven("")));
    }
    crate::note!(
        "session {id} {} (status {}), but {} of its process group {} that {} still running: {}",
        ended(requested),
        result.status.as_str(),
        crate::term::count(ours.len() as u64, "process", "processes"),
        found.pid,
        if ours.len() == 1 {
            "carries its ID is"
        } else {
            "carry its ID are"
        },
        sequence::join(&ours)
    );
    // The result is written: the stop request only documents the request.
    sequence::stop_together(&[target], how, &|_| "csa session kill".to_owned(), true)?;
    if strangers.is_empty() {
        return Ok(());
    }
    Err(Failure::new(CSA_ERROR, unproven("its own processes were stopped, but ")).into())
}

/// How long members of the group that carry no proof get to finish exiting before they
/// count as strangers: a process on its way out has already lost its environment (its
/// `/proc/<pid>/environ` reads empty) but is not a zombie yet.
const EXITING_SETTLE: Duration = Duration::from_millis(200);

/// The live members of the process group of the supervisor `found`: those the target's
/// scope proves are the session's leftovers, and the others — looked at again for up to
/// [`EXITING_SETTLE`] while there are others. The supervisor itself, still on its way out
/// after recording the result (slow to exit on a loaded machine), is neither: it is
/// never signalled as a leftover of its own session.
fn members(target: &Target, found: Identity) -> std::io::Result<(Vec<Pid>, Vec<Pid>)> {
    let look = || -> std::io::Result<(Vec<Pid>, Vec<Pid>)> {
        let ours = target.scope().members(None)?;
        let strangers: Vec<Pid> = sys::group_members(Some(found.pid))?
            .into_iter()
            .filter(|(pid, stat)| !(*pid == found.pid && stat.start_time == found.start_time))
            .map(|(pid, _)| pid)
            .filter(|pid| !ours.contains(pid))
            .collect();
        Ok((ours, strangers))
    };
    // `poll` looks at least once.
    let mut last = Ok((Vec::new(), Vec::new()));
    backoff::poll(EXITING_SETTLE, stop::SCANS, || {
        last = look();
        last.as_ref()
            .is_ok_and(|(_, strangers)| strangers.is_empty())
            .then_some(())
    });
    last
}

/// Notes that a finished session has nothing left to signal.
fn nothing_signalled(id: &str, result: &ResultRecord, requested: bool) {
    crate::note!(
        "session {id} {} (status {}, exit {}); nothing {}",
        ended(requested),
        result.status.as_str(),
        result.exit_code,
        if requested {
            "left to signal"
        } else {
            "signalled"
        }
    );
}

/// How a finished session ended, for a note: `already finished`, or — its stop request
/// recorded by this stop before its tree was signalled — after that.
fn ended(requested: bool) -> &'static str {
    if requested {
        "ended once the stop was recorded, before its own signal"
    } else {
        "already finished"
    }
}

/// Stops, quietly unless `notes`, what an ended descendant of a stopped session left behind:
/// the processes of its process group that carry its `CSA_SESSION_ID` ([`Target::leftovers`]).
/// Nothing else of the group is signalled, and a group that has no member at all costs one
/// system call. `by` names who asks (a stop request in a finished session changes nothing
/// of its result).
///
/// Errors: its processes cannot be listed, or survive SIGKILL.
pub fn stop_left_behind(
    session: &SessionDir,
    how: StopSequence,
    by: &str,
    notes: bool,
) -> Result<()> {
    let Ok(found) = read_identity(session) else {
        return Ok(());
    };
    if !sys::group_may_exist(found.pid) {
        return Ok(());
    }
    let target = Target::leftovers(session, found);
    let ours = target.scope().members(None).map_err(|err| {
        crate::exit::io_failure(
            "cannot list the processes of its group",
            &err,
            session.id_string(),
        )
    })?;
    if ours.is_empty() {
        return Ok(());
    }
    if notes {
        crate::note!(
            "descendant session {} has ended, but {} processes of its process group {} that carry its ID are still running: {}",
            session.id_string(),
            ours.len(),
            found.pid,
            sequence::join(&ours)
        );
    }
    sequence::stop_together(&[target], how, &|_| by.to_owned(), notes).map(drop)
}

/// How long a supervisor that let go of the session's lock may take to exit.
const EXITING_LIMIT: Duration = Duration::from_secs(2);

/// True when the process of `found` exits within [`EXITING_LIMIT`]: the supervisor on its
/// way out. Only a process that runs csa's own executable, or whose executable cannot be
/// read (a process that is exiting has none left), gets that time; any other is not the
/// supervisor.
fn exits_soon(found: Identity) -> bool {
    let exe = |pid: &str| std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    if let Some(theirs) = exe(&found.pid.to_string())
        && Some(theirs) != exe("self")
    {
        return false;
    }
    backoff::poll(EXITING_LIMIT, stop::SCANS, || {
        (!found.is_running()).then_some(())
    })
    .is_some()
}
