//! Reading one session for the fleet view: its `session.toml` (once), what a look finds
//! ([`liveness::observe`]: never records, resumes or removes anything) and its true times.

use std::time::SystemTime;

use ulid::Ulid;

use super::Session;
use crate::liveness::{self, Observed};
use crate::store::record::{self, ResultRecord, SessionRecord, State, Status};
use crate::store::session::{self, StateRoot};

/// Reads session `id` of `root`; `previous` is what the last read found (its
/// `session.toml` is not read again). `listed`: the store's directory listing just named it
/// as a directory (else it is looked at first). `None` when the session is gone (removed by
/// `clean`, or never a session).
pub(super) fn session(
    root: &StateRoot,
    id: Ulid,
    previous: Option<Session>,
    listed: bool,
) -> Option<Session> {
    let dir = root.session(id);
    if !listed && !crate::store::files::is_dir(&dir.path) {
        return None;
    }
    let mut problem = None;
    let record = match previous.as_ref().and_then(|p| p.record.clone()) {
        Some(record) => Some(record),
        None => {
            record::read::<SessionRecord>(&dir.file(session::SESSION_TOML)).unwrap_or_else(|err| {
                problem = Some(one_line(&err));
                None
            })
        }
    };
    let created = record
        .as_ref()
        .and_then(|r| record::parse_timestamp(&r.created_at))
        .unwrap_or_else(|| id.datetime());
    let mut session = Session {
        handle: previous.map(|p| p.handle).unwrap_or_default(),
        dir,
        record,
        state: State::Running,
        unrecorded: false,
        created,
        started: None,
        finished: None,
        exit_code: None,
        reason: None,
        problem,
        unknown: false,
    };
    match liveness::observe(&session.dir) {
        Ok(Observed::Running) => {
            session.started = started(&session);
        }
        Ok(Observed::Queued) => session.state = State::Queued,
        Ok(Observed::Finished(result)) => finished(&mut session, &result),
        Ok(Observed::Gone) => {
            session.unrecorded = true;
            let executor = session
                .record
                .as_ref()
                .map(|record| crate::executor::recorded(&session.dir, record));
            if let Some(Err(err)) = executor {
                // Another csa's executor: whether its job still runs is not for this csa
                // to say.
                session.problem = Some(one_line(&err));
            } else if executor.is_some_and(|executor| {
                executor.is_ok_and(crate::executor::Executor::outlives_supervisor)
            }) {
                // Its job may still run (under Slurm); the next `csa session list` resumes
                // the watcher.
                session.started = started(&session);
                session.reason =
                    Some("its watcher is gone; `csa session list` looks for the job".to_owned());
            } else {
                session.state = State::Ended(Status::Lost);
                session.reason = Some(format!(
                    "{} (recorded by the next `csa session list`)",
                    record::endings::LOST_REASON
                ));
            }
        }
        Err(err) => {
            session.problem = Some(one_line(&err));
            session.unknown = true;
        }
    }
    Some(session)
}

/// When the job of a running session started: `started.toml` for a session that waited,
/// else its creation (a job that waits for nothing starts as its session is created).
fn started(session: &Session) -> Option<SystemTime> {
    if session.is_gated() {
        record::started_at(&session.dir)
    } else {
        Some(session.created)
    }
}

/// Takes what `result` says. A job that never started (skipped; stopped while it waited: a
/// session that waited and has no `started.toml`) has no start time.
fn finished(session: &mut Session, result: &ResultRecord) {
    session.state = result.status.into();
    session.exit_code = Some(result.exit_code);
    session.reason.clone_from(&result.reason);
    session.finished = record::parse_timestamp(&result.finished_at);
    // Results of older versions of csa gave a job that never started a start time too.
    let never_started = result.status == Status::Skipped
        || (session.is_gated()
            && !crate::store::files::exists(&session.dir.file(record::STARTED_TOML)));
    if !never_started {
        session.started = result.started();
    }
}

fn one_line(err: &anyhow::Error) -> String {
    format!("{err:#}").replace('\n', " ")
}
