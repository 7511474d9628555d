//! `kill` of a session that has already ended: reconstruct its result if needed, and stop
//! what is left of its process group, when those processes provably belong to it.

use anyhow::Result;

use crate::liveness::{Identity, read_identity};
use crate::stop::Scope;
use crate::stop::sequence::{self, How};
use crate::stop::target::{self, Target};
use crate::store::record::Status;
use crate::store::record::endings;
use crate::store::session::SessionDir;
use crate::sys::{self, Pid, ProcStat};

/// Stops what is left of a finished session. A `lost` session (the supervisor vanished
/// without a result) may still have running processes: when `daemon.pid` cannot identify
/// its group — malformed, or its PID now belongs to another process — this refuses rather
/// than report it finished.
pub fn stop_finished(session: &SessionDir, how: How) -> Result<()> {
    let id = session.id_string();
    let identity = read_identity(session);
    let result = endings::final_result(session)?;
    let lost = result.status == Status::Lost;
    let found = match identity {
        Ok(found) => Some(found),
        Err(why) if lost => {
            return Err(target::refusal(
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
        return Err(target::refusal(
            session,
            &format!(
                "the supervisor vanished without a result and its PID {} now belongs to another process",
                found.pid
            ),
        ));
    }
    let strays = found
        .map(|found| leftovers(session, found))
        .unwrap_or_default();
    let Some(found) = found.filter(|_| !strays.is_empty()) else {
        crate::note!(
            "session {id} already finished (status {}, exit {}); nothing signalled",
            result.status.as_str(),
            result.exit_code
        );
        return Ok(());
    };
    crate::note!(
        "session {id} already finished (status {}), but {} processes of its process group {} are still running: {}",
        result.status.as_str(),
        strays.len(),
        found.pid,
        sequence::join(&strays)
    );
    let strays = Target {
        session: session.clone(),
        identity: found,
        scope: Scope::Group(found.pid),
    };
    // The result is written: the stop request only documents the request.
    sequence::stop_together(&[strays], how, &|_| "csa session kill".to_owned(), true)?;
    Ok(())
}

/// The live members of a finished session's process group that provably belong to it:
/// started no earlier than the supervisor, and in its session (same session ID as the
/// supervisor's PID) or — for `run --no-daemon`, whose supervisor leads a process group but
/// not a session — carrying the session's `CSA_SESSION_ID` in their environment. None when
/// the PID now belongs to another process: while any member of the old group lived, the
/// kernel could not have reused the PID.
fn leftovers(session: &SessionDir, found: Identity) -> Vec<Pid> {
    if ProcStat::read(found.pid).is_ok_and(|stat| stat.start_time != found.start_time) {
        return Vec::new();
    }
    let id = session.id_string();
    sys::group_members(Some(found.pid))
        .into_iter()
        .filter(|(pid, stat)| {
            *pid != found.pid
                && stat.start_time >= found.start_time
                && (stat.session == Some(found.pid) || sys::has_env(*pid, "CSA_SESSION_ID", &id))
        })
        .map(|(pid, _)| pid)
        .collect()
}
