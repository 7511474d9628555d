//! Session trees: a session started by `csa run` inside another session's job is that
//! session's child — `parent` in its `session.toml`, and an empty file `children/<ID>` in
//! the parent's directory, made before the child can start a job ([`birth`]).
//!
//! **A tree stops as one** ([`stop`]): the stop is decided once, for the whole tree, before
//! the first signal — every live session of the tree gets its stop request (`stop.toml`),
//! top down, each before its children are listed — and a `csa run` under a session being
//! stopped is refused ([`birth`]). Then the sessions are signalled, deepest first. The
//! two sides meet without a lock, as in Dekker's algorithm: a stop writes a session's
//! request and then lists its children; a new child lists itself and then reads its
//! ancestors' requests. Whichever comes second sees the other: a child that missed the
//! request is listed, and waited for until it has started (or given up), and stopped; one
//! that saw it never starts.

pub mod birth;
mod remove;
pub mod stop;

use std::collections::HashSet;

use ulid::Ulid;

use crate::store::files;
use crate::store::record::SessionRecord;
use crate::store::session::{self, SessionDir, StateRoot};

pub use remove::{Removal, remove};
pub use stop::{TreeStop, stop_for_timeout, stop_tree};

/// The directory of a session that lists its child sessions, one empty file per child.
pub const CHILDREN: &str = "children";

/// How many ancestors a look up a tree follows at most (a `parent` chain that loops, or is
/// absurdly deep, ends there).
const MAX_DEPTH: usize = 64;

/// The IDs listed in a session's `children/` directory (none when it has none); names that
/// are not session IDs are ignored.
pub fn child_ids(parent: &SessionDir) -> Vec<Ulid> {
    let Ok(entries) = files::read_dir(&parent.file(CHILDREN)) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| {
            entry
                .name_str()
                .and_then(|name| Ulid::from_string(name).ok())
        })
        .collect()
}

/// The child sessions of `session` (its `children/<ID>` entries) whose directories still
/// exist and whose `session.toml` names `session` as their parent, oldest first. An entry
/// naming a session of another tree, or one whose record cannot be read, is passed over:
/// what is removed with a tree ([`remove`]) is proven to be of it, as what is stopped
/// with it is ([`stop`]). Reads one directory and each child's `session.toml`; none when
/// it has no children.
pub fn children(session: &SessionDir) -> Vec<SessionDir> {
    let root = StateRoot::of_session(session);
    let mut found: Vec<SessionDir> = child_ids(session)
        .into_iter()
        .map(|id| root.session(id))
        .filter(|child| files::is_dir(&child.path))
        .filter(|child| recorded_parent(child).ok().flatten() == Some(session.id))
        .collect();
    found.sort_by_key(|child| child.id);
    found
}

/// Every descendant of `roots` (children, their children, …) whose directory exists, each
/// once, deepest last: `levels[0]` are the children.
pub fn descendants(roots: &[SessionDir]) -> Vec<Vec<SessionDir>> {
    let mut seen: HashSet<Ulid> = roots.iter().map(|session| session.id).collect();
    let mut levels = Vec::new();
    let mut current: Vec<SessionDir> = roots.to_vec();
    while !current.is_empty() {
        let next: Vec<SessionDir> = current
            .iter()
            .flat_map(children)
            .filter(|child| seen.insert(child.id))
            .collect();
        if !next.is_empty() {
            levels.push(next.clone());
        }
        current = next;
    }
    levels
}

/// The parent a session's `session.toml` names: `Ok(None)` for a session without one,
/// `Err` when the record cannot be read (missing or malformed).
fn recorded_parent(session: &SessionDir) -> anyhow::Result<Option<Ulid>> {
    let record: SessionRecord =
        crate::store::record::read(&session.file(session::SESSION_TOML))?
            .ok_or_else(|| anyhow::anyhow!("no session.toml ({})", session.path.display()))?;
    Ok(record
        .parent
        .as_deref()
        .and_then(|id| Ulid::from_string(id).ok()))
}

/// `session` and its ancestors, nearest first, as their `session.toml` records name them
/// (at most [`MAX_DEPTH`]; a chain that loops or cannot be read ends early).
fn lineage(session: &SessionDir) -> Vec<SessionDir> {
    let root = StateRoot::of_session(session);
    let mut chain = vec![session.clone()];
    while chain.len() < MAX_DEPTH {
        let Some(last) = chain.last() else { break };
        let Ok(Some(parent)) = recorded_parent(last) else {
            break;
        };
        if chain.iter().any(|seen| seen.id == parent) {
            break;
        }
        chain.push(root.session(parent));
    }
    chain
}

/// True while a session runs or waits, by a look that changes nothing: its supervisor holds
/// the lock, or it has none but its job may outlive it (a Slurm job whose watcher died).
fn is_live(session: &SessionDir) -> bool {
    match crate::liveness::observe(session) {
        Ok(crate::liveness::Observed::Running | crate::liveness::Observed::Queued) => true,
        // (Another csa's executor: cannot tell either.)
        Ok(crate::liveness::Observed::Gone) => {
            crate::executor::of(session).is_ok_and(crate::executor::Executor::outlives_supervisor)
        }
        // Cannot tell (a malformed result): not a session to adopt children or stop them.
        Ok(crate::liveness::Observed::Finished(_)) | Err(_) => false,
    }
}
