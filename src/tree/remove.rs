//! Removing session trees whole (`csa rm`): a tree goes only when none of its sessions runs
//! or waits, descendants first, so that no session is left naming a parent that is gone.

use std::collections::HashSet;

use ulid::Ulid;

use super::{CHILDREN, descendants};
use crate::store::files;
use crate::store::session::{SessionDir, StateRoot};

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
