//! Tags (`csa run --tag`): labels kept in `session.toml` (`tags`) that name a group of
//! sessions, e.g. the jobs of one CI run, for `session list`, `wait`, `kill` and `clean`.
//!
//! **Several `--tag` options select the sessions that carry every one of them**, as label
//! filters do elsewhere (`docker ps --filter label=…` repeated, `kubectl -l a,b`, GitHub's
//! label filter): each tag narrows the selection and never widens it, which is the safe
//! reading for `kill` and `clean`. For the union of two groups, give `wait` both groups'
//! IDs, or run the command once per tag.

use anyhow::Result;

use crate::store::record::{self, SessionRecord};
use crate::store::session::{self, SessionDir, StateRoot};

/// True when `record` carries every tag in `wanted` (so always for an empty `wanted`).
pub fn has_all(record: &SessionRecord, wanted: &[String]) -> bool {
    wanted.iter().all(|tag| record.tags.contains(tag))
}

/// The sessions of the store that carry every tag in `wanted`, oldest first. A session
/// without a readable `session.toml` (still being set up, or damaged) carries no tag.
///
/// Reads every session's `session.toml`. Errors only when the store cannot be read.
pub fn select(root: &StateRoot, wanted: &[String]) -> Result<Vec<SessionDir>> {
    let mut ids = root.session_ids()?;
    ids.reverse();
    Ok(ids
        .into_iter()
        .map(|id| root.session(id))
        .filter(|session| {
            record::read::<SessionRecord>(&session.file(session::SESSION_TOML))
                .ok()
                .flatten()
                .is_some_and(|record| has_all(&record, wanted))
        })
        .collect())
}

/// `a, b` for an error message naming the tags asked for.
pub fn describe(wanted: &[String]) -> String {
    wanted.join(", ")
}
