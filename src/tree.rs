//! Session trees: a session started by `csa run` inside another session's job is that
//! session's child (`children/<ID>` in the parent's directory). Stopping a session stops
//! its descendants first, deepest first.

use std::collections::{HashMap, HashSet};

use ulid::Ulid;

use crate::executor::{self, StopMode, StopOrder};
use crate::stop::sequence::StopSequence;
use crate::store::files;
use crate::store::session::{SessionDir, StateRoot};

/// The directory of a session that lists its child sessions, one empty file per child.
pub const CHILDREN: &str = "children";

/// The live descendants of `roots`, by depth: `levels[0]` are their children, `levels[1]`
/// their grandchildren, and so on. Each session appears once; sessions that have ended are
/// left out (their own descendants are still found). A Slurm descendant whose watcher
/// died is settled first ([`crate::heal::is_live`]).
pub fn live_descendants(roots: &[SessionDir]) -> Vec<Vec<SessionDir>> {
    let mut seen: HashSet<Ulid> = roots.iter().map(|session| session.id).collect();
    let mut levels = Vec::new();
    let mut current: Vec<SessionDir> = roots.to_vec();
    while !current.is_empty() {
        let mut next = Vec::new();
        for parent in &current {
            let root = StateRoot::of_session(parent);
            let Ok(entries) = files::read_dir(&parent.file(CHILDREN)) else {
                continue;
            };
            for entry in entries {
                let Some(id) = entry
                    .name_str()
                    .and_then(|name| Ulid::from_string(name).ok())
                else {
                    continue;
                };
                let child = root.session(id);
                if seen.insert(id) && files::is_dir(&child.path) {
                    next.push(child);
                }
            }
        }
        let live: Vec<SessionDir> = next
            .iter()
            .filter(|child| crate::heal::is_live(child).unwrap_or(false))
            .cloned()
            .collect();
        if !live.is_empty() {
            levels.push(live);
        }
        current = next;
    }
    levels
}

/// Stops the live descendants of `sessions`, deepest first, each level together (through
/// each one's executor), with `how`; their results' reasons are `by(ancestor ID)`. With
/// `notes`, each step and each descendant that cannot be verified or stopped is reported
/// on stderr; such a descendant is left as it is.
pub fn stop_descendants(
    sessions: &[SessionDir],
    how: StopSequence,
    by: &dyn Fn(&str) -> String,
    notes: bool,
) {
    let mut ancestor_of: HashMap<Ulid, String> = HashMap::new();
    let mut levels: Vec<Vec<SessionDir>> = Vec::new();
    for session in sessions {
        let below = live_descendants(std::slice::from_ref(session));
        for (depth, level) in below.into_iter().enumerate() {
            if levels.len() <= depth {
                levels.push(Vec::new());
            }
            for child in level {
                if ancestor_of.insert(child.id, session.id_string()).is_none() {
                    levels[depth].push(child);
                }
            }
        }
    }
    let by = |session: &SessionDir| by(&ancestor_of[&session.id]);
    for level in levels.iter().rev() {
        for (executor, group) in executor::group(level) {
            // Errors are noted (with `notes`) by the executor, never returned.
            let order = StopOrder {
                sequence: how,
                by: &by,
                mode: StopMode::Descendants { notes },
            };
            let _ = executor.stop(&group, &order);
        }
    }
}

/// Stops the descendants of a session whose job timed out, deepest first, with SIGTERM and
/// the timeout's grace ([`crate::stop::sequence::TIMEOUT_GRACE`]), quietly. Handed to the
/// local executor, which sits below trees ([`crate::executor::Start::stop_descendants`]).
pub fn stop_for_timeout(session: &SessionDir) {
    let how = StopSequence {
        signal: rustix::process::Signal::TERM,
        grace: crate::stop::sequence::TIMEOUT_GRACE,
    };
    stop_descendants(
        std::slice::from_ref(session),
        how,
        &|ancestor| format!("the timeout of ancestor session {ancestor}"),
        false,
    );
}
