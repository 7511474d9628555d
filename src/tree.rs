//! Session trees: a session started by `csa run` inside another session's job is that
//! session's child (`children/<ID>` in the parent's directory). Stopping a session stops
//! its descendants first, deepest first.

use std::collections::{HashMap, HashSet};
use std::fs;

use ulid::Ulid;

use crate::stop::sequence::{self, How};
use crate::stop::target::{self, Target};
use crate::store::session::{SessionDir, StateRoot};

/// The directory of a session that lists its child sessions, one empty file per child.
pub const CHILDREN: &str = "children";

/// The live descendants of `roots`, by depth: `levels[0]` are their children, `levels[1]`
/// their grandchildren, and so on. Each session appears once; sessions that have ended are
/// left out (their own descendants are still found).
pub fn live_descendants(roots: &[SessionDir]) -> Vec<Vec<SessionDir>> {
    let mut seen: HashSet<Ulid> = roots.iter().map(|session| session.id).collect();
    let mut levels = Vec::new();
    let mut current: Vec<SessionDir> = roots.to_vec();
    while !current.is_empty() {
        let mut next = Vec::new();
        for parent in &current {
            let root = StateRoot::of_session(parent);
            let Ok(entries) = fs::read_dir(parent.file(CHILDREN)) else {
                continue;
            };
            for entry in entries.flatten() {
                let Some(id) = entry
                    .file_name()
                    .to_str()
                    .and_then(|name| Ulid::from_string(name).ok())
                else {
                    continue;
                };
                let child = root.session(id);
                if seen.insert(id) && child.path.is_dir() {
                    next.push(child);
                }
            }
        }
        let live: Vec<SessionDir> = next
            .iter()
            .filter(|child| target::is_live(child).unwrap_or(false))
            .cloned()
            .collect();
        if !live.is_empty() {
            levels.push(live);
        }
        current = next;
    }
    levels
}

/// Stops the live descendants of `sessions`, deepest first, each level together, with
/// `how`; their results' reasons are `by(ancestor ID)`. With `notes`, each step and each
/// descendant that cannot be verified or stopped is reported on stderr; such a descendant
/// is left as it is.
pub fn stop_descendants(
    sessions: &[SessionDir],
    how: How,
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
    for level in levels.iter().rev() {
        let targets: Vec<Target> = level
            .iter()
            .filter_map(|session| match crate::executor::of(session) {
                // A Slurm job is stopped through Slurm (and its own descendants with it).
                crate::store::record::Executor::Slurm => {
                    let stopped = crate::executor::slurm::stop::stop(
                        session,
                        how,
                        &by(&ancestor_of[&session.id]),
                        notes,
                    );
                    if let (Err(err), true) = (stopped, notes) {
                        crate::note!("{err:#}");
                    }
                    None
                }
                crate::store::record::Executor::Local => match target::verify(session) {
                    Ok(target) => Some(target),
                    Err(why) => {
                        if notes && target::is_live(session).unwrap_or(false) {
                            crate::note!(
                                "not stopping descendant session {}: {why}",
                                session.id_string()
                            );
                        }
                        None
                    }
                },
            })
            .collect();
        let by = |target: &Target| by(&ancestor_of[&target.session.id]);
        let stopped = sequence::stop_together(&targets, how, &by, notes).and_then(|last| {
            for (target, last) in targets.iter().zip(last) {
                let result = sequence::recorded(target, last, how, &by(target))?;
                if notes {
                    sequence::report(&result, target.identity.pid);
                }
            }
            Ok(())
        });
        if let (Err(err), true) = (stopped, notes) {
            crate::note!("{err:#}");
        }
    }
}
