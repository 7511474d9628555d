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
    descendants(roots)
        .into_iter()
        .map(|level| {
            level
                .into_iter()
                .filter(|child| crate::heal::is_live(child).unwrap_or(false))
                .collect::<Vec<_>>()
        })
        .filter(|level| !level.is_empty())
        .collect()
}

/// The child sessions of `session` (its `children/<ID>` entries) whose directories still
/// exist, oldest first. Reads one directory; none when it has no children.
pub fn children(session: &SessionDir) -> Vec<SessionDir> {
    let root = StateRoot::of_session(session);
    let Ok(entries) = files::read_dir(&session.file(CHILDREN)) else {
        return Vec::new();
    };
    let mut found: Vec<SessionDir> = entries
        .into_iter()
        .filter_map(|entry| {
            let id = Ulid::from_string(entry.name_str()?).ok()?;
            let child = root.session(id);
            files::is_dir(&child.path).then_some(child)
        })
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

/// What [`remove`] did.
#[derive(Debug, Default)]
pub struct Removal {
    /// The sessions removed, each tree deepest first.
    pub removed: Vec<SessionDir>,
    /// The sessions asked for whose tree was left in place, each with why (in words: which
    /// session of the tree still runs or waits, or cannot be judged).
    pub refused: Vec<(SessionDir, String)>,
    /// The sessions asked for whose tree could not be removed whole: a directory that
    /// cannot be removed, or a session that started again in the meantime (the members
    /// removed before it are in `removed`).
    pub failed: Vec<(SessionDir, anyhow::Error)>,
}

/// Removes `sessions` with their descendants, one tree at a time, so that no session is
/// left naming a parent that is gone: when any session of a tree (the one asked for or a
/// descendant) runs or waits — or cannot be judged — nothing of that tree is removed.
/// Descendants go first, deepest first, so that an interrupted removal never leaves a
/// child without its parent; each session's lock is checked right before its directory is
/// removed, and its entry in a parent that stays (`children/<ID>`) goes with it.
///
/// **Heals** as `clean` does ([`crate::heal::observe`]): a Slurm session whose watcher
/// died is re-adopted rather than taken for ended. A session found without a result and
/// without a supervisor (lost) is removed as it is.
pub fn remove(sessions: &[SessionDir]) -> Removal {
    let mut removal = Removal::default();
    let mut done: HashSet<Ulid> = HashSet::new();
    for session in sessions {
        if done.contains(&session.id) {
            continue;
        }
        let mut tree: Vec<SessionDir> = descendants(std::slice::from_ref(session))
            .into_iter()
            .rev()
            .flatten()
            .filter(|member| !done.contains(&member.id))
            .collect();
        tree.push(session.clone());
        if let Some(why) = tree.iter().find_map(|member| live(member, session)) {
            removal.refused.push((session.clone(), why));
            continue;
        }
        for member in tree {
            if let Err(err) = remove_one(&member) {
                removal.failed.push((session.clone(), err));
                break;
            }
            done.insert(member.id);
            removal.removed.push(member);
        }
    }
    removal
}

/// Why `member` (of the tree of `root`) keeps the tree in place, if it does.
fn live(member: &SessionDir, root: &SessionDir) -> Option<String> {
    use crate::liveness::Observed;
    let who = if member.id == root.id {
        "it".to_owned()
    } else {
        format!("its descendant {}", member.id_string())
    };
    match crate::heal::observe(member) {
        Ok(Observed::Running) => Some(format!("{who} is running")),
        Ok(Observed::Queued) => Some(format!("{who} is waiting to start")),
        Ok(Observed::Finished(_) | Observed::Gone) => None,
        Err(err) => Some(format!(
            "{who} cannot be judged: {}",
            format!("{err:#}").replace('\n', " ")
        )),
    }
}

/// Removes one ended session's directory, after checking its lock once more, and its
/// entry in its parent's `children/`.
///
/// Errors: the session runs again (its lock is held), it cannot be judged, or its
/// directory cannot be removed.
fn remove_one(session: &SessionDir) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let id = session.id_string();
    if crate::liveness::supervisor_alive(session)
        .with_context(|| format!("session {id} cannot be judged"))?
    {
        anyhow::bail!("session {id} started running again");
    }
    let parent = crate::store::record::read::<crate::store::record::SessionRecord>(
        &session.file(crate::store::session::SESSION_TOML),
    )
    .ok()
    .flatten()
    .and_then(|record| record.parent)
    .and_then(|parent| Ulid::from_string(&parent).ok());
    files::remove_dir_all(&session.path)
        .map_err(|err| crate::exit::io_failure("cannot remove", &err, session.path.display()))?;
    if let Some(parent) = parent {
        let entry = StateRoot::of_session(session)
            .session(parent)
            .file(CHILDREN)
            .join(&id);
        let _ = files::remove_file(&entry);
    }
    Ok(())
}
