//! `started.toml`: when the job of a session that waited started.
//!
//! A session with a queue or dependencies (or run by Slurm) is created `queued`, and its
//! job starts later — seconds or hours after `created_at`. The supervisor records that
//! moment here when the gate opens, before it removes the `queued` mark, so that whoever
//! sees the mark gone finds the start time (`csa top`, `csa status`). A session that waited
//! for nothing has no `started.toml`: its job started as it was created.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::store::session::{self, SessionDir};

/// The file name, in the session directory.
pub const STARTED_TOML: &str = "started.toml";

/// The content of `started.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedRecord {
    /// When the job started (RFC 3339, UTC, milliseconds).
    pub started_at: String,
}

/// Records that the job of `session` starts at `at` (`started.toml`, atomically, not
/// fsynced: a start time lost in a crash only leaves the view without it), then removes the
/// session's `queued` mark. Best effort: a start time that cannot be written is left out;
/// the mark is removed whatever happens, as the job starts anyway.
pub fn mark_started(session: &SessionDir, at: SystemTime) {
    let record = StartedRecord {
        started_at: super::timestamp(at),
    };
    let _ = super::write_atomic(&session.path, STARTED_TOML, &record, false);
    let _ = crate::store::files::remove_file(&session.file(session::QUEUED));
}

/// When the job of `session` started, from its `started.toml`; `None` when there is none
/// (the session has not started, waited for nothing, or was created by an older csa), or it
/// cannot be read.
pub fn started_at(session: &SessionDir) -> Option<SystemTime> {
    super::read::<StartedRecord>(&session.file(STARTED_TOML))
        .ok()
        .flatten()
        .and_then(|record| super::parse_timestamp(&record.started_at))
}

/// When the job of `session` (described by `record`, its `session.toml` when it could be
/// read) started, for a session without a result yet or whose result csa writes on the
/// supervisor's behalf. A session whose job waits for nothing
/// ([`super::SessionRecord::waits`]) started it as it was created (`created_at`, else the
/// time in its ID); one that waits has `started.toml` once its job started, and `None`
/// before (it waits, or never got past its wait). Reads `started.toml` only for a session
/// that waits (or whose `session.toml` is unknown).
pub fn job_started_at(
    session: &SessionDir,
    record: Option<&super::SessionRecord>,
) -> Option<SystemTime> {
    match record {
        Some(record) if !record.waits() => Some(
            super::parse_timestamp(&record.created_at).unwrap_or_else(|| session.id.datetime()),
        ),
        Some(_) => started_at(session),
        None => started_at(session).or_else(|| Some(session.id.datetime())),
    }
}
