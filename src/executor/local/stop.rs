//! Stopping local sessions: verify each supervisor's identity, then SIGTERM (or the
//! signal asked for) to every target's process group at once, a grace period, SIGKILL to
//! whatever is left, and the results recorded ([`crate::stop::sequence`]).

use anyhow::Result;

use crate::executor::{StopMode, StopOrder};
use crate::stop::sequence;
use crate::stop::target::{self, Target};
use crate::store::session::SessionDir;

/// Stops local `sessions` together (see [`crate::executor::Executor::stop`]).
pub fn stop(sessions: &[SessionDir], order: &StopOrder<'_>) -> Result<()> {
    let StopOrder {
        sequence: how,
        by,
        mode,
        requested,
    } = *order;
    let notes = match mode {
        StopMode::Named => true,
        StopMode::Descendants { notes } => notes,
    };
    let mut targets = Vec::new();
    let mut finished = Vec::new();
    for session in sessions {
        match mode {
            StopMode::Named => match live_target(session)? {
                Some(target) => targets.push(target),
                None => finished.push(session),
            },
            StopMode::Descendants { notes } => match target::verify(session) {
                Ok(target) => targets.push(target),
                Err(why) => {
                    if target::is_live(session).unwrap_or(false) {
                        if notes {
                            crate::note!(
                                "not stopping descendant session {}: {why}",
                                session.id_string()
                            );
                        }
                    } else {
                        finished.push(session);
                    }
                }
            },
        }
    }
    let by_target = |target: &Target| by(&target.session);
    let stopped = sequence::stop_together(&targets, how, &by_target, notes).and_then(|last| {
        for (target, last) in targets.iter().zip(last) {
            let result = sequence::recorded(target, last, how, &by(&target.session))?;
            if notes {
                sequence::report(&result, target.identity.pid);
            }
        }
        Ok(())
    });
    if mode != StopMode::Named {
        if let (Err(err), true) = (stopped, notes) {
            crate::note!("{err:#}");
        }
        // What ended descendants left behind, quietly unless `notes`.
        for session in finished {
            if let Err(err) = super::leftovers::stop_left_behind(session, how, &by(session), notes)
                && notes
            {
                crate::note!("{err:#}");
            }
        }
        return Ok(());
    }
    stopped?;
    for session in finished {
        super::stop_finished(session, how, requested(session))?;
    }
    Ok(())
}

/// The verified target of a live session, or `None` when it has ended. Errors (nothing
/// signalled) when it is live and its supervisor cannot be verified.
pub(super) fn live_target(session: &SessionDir) -> Result<Option<Target>> {
    if !target::is_live(session)? {
        return Ok(None);
    }
    match target::verify(session) {
        Ok(target) => Ok(Some(target)),
        // The session may have ended meanwhile; if not, refuse.
        Err(why) if target::is_live(session)? => Err(target::refusal(session, &why)),
        Err(_) => Ok(None),
    }
}
