//! Which compute nodes see the state root, as jobs have shown it. A job placed on a node
//! that does not see the session directory never reaches `csa __node`: `slurmstepd` cannot
//! open its output file, `slurm.log` in the session directory, and Slurm fails the job
//! before the batch script starts (`FAILED`, signal 53, reason `JobLaunchFailure`). The
//! watcher records such a node in `<root>/slurm-nodes/<node>`; a job that later starts
//! there (`node.toml` names the node) removes it. `csa run` warns about each one recorded,
//! before it submits — what the nodes actually share, learned, beside the guess from the
//! filesystem's type (a tmpfs is never shared).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::record;
use crate::store::session::{SessionDir, StateRoot};

/// `<root>/slurm-nodes`: one file per node that could not see the state root.
pub const NODES_DIR: &str = "slurm-nodes";

/// The content of `<root>/slurm-nodes/<node>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unshared {
    /// The Slurm job that could not start there.
    pub job_id: String,
    /// Its session.
    pub session: String,
    /// When the watcher learned it (RFC 3339, UTC).
    pub seen_at: String,
}

/// The file of `node` (a Slurm node name) under `root`; `None` for a name that is not a
/// plain file name.
fn file_of(root: &Path, node: &str) -> Option<PathBuf> {
    let plain = !node.is_empty()
        && node.len() <= 128
        && node != "."
        && node != ".."
        && node
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    plain.then(|| root.join(NODES_DIR).join(node))
}

/// Records that `node` could not see the state root of `session` (its job `job_id`).
/// Best effort: a record that cannot be written only leaves later warnings without it.
pub fn unshared(session: &SessionDir, node: &str, job_id: &str) {
    let root = StateRoot::of_session(session);
    if file_of(root.path(), node).is_none() {
        return;
    }
    let dir = root.path().join(NODES_DIR);
    let _ = crate::store::files::ensure_dir(&dir);
    let record = Unshared {
        job_id: job_id.to_owned(),
        session: session.id_string(),
        seen_at: record::timestamp(std::time::SystemTime::now()),
    };
    let _ = record::write_atomic(&dir, node, &record, false);
}

/// Records that `node` sees the state root of `session` (a job started there).
pub fn shared(session: &SessionDir, node: &str) {
    if let Some(path) = file_of(StateRoot::of_session(session).path(), node) {
        let _ = crate::store::files::remove_file(&path);
    }
}

/// One warning per node recorded as not seeing the state root `root`.
pub fn warnings(root: &Path) -> Vec<String> {
    let Ok(entries) = crate::store::files::read_dir(&root.join(NODES_DIR)) else {
        return Vec::new();
    };
    let mut found: Vec<(String, Unshared)> = entries
        .into_iter()
        .filter_map(|entry| {
            let node = entry.name.into_string().ok()?;
            let path = file_of(root, &node)?;
            let seen: Unshared = record::read(&path).ok().flatten()?;
            Some((node, seen))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
        .into_iter()
        .map(|(node, seen)| {
            format!(
                "warning: Slurm node {node} could not see this state root (job {} of session {} failed to start there, {}): keep jobs off it (--slurm-arg=--exclude={node}) or put the state root on a filesystem every node shares (CSA_STATE_DIR) ({})",
                seen.job_id,
                seen.session,
                seen.seen_at,
                root.display()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_are_recorded_and_cleared() {
        let root = tempfile::tempdir().unwrap();
        let session = SessionDir::sample(root.path().join("sessions").join("X"));
        unshared(&session, "n3", "51");
        unshared(&session, "../evil", "52");
        let said = warnings(root.path());
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].contains("node n3") && said[0].contains("job 51"));
        shared(&session, "n3");
        assert!(warnings(root.path()).is_empty());
    }
}
