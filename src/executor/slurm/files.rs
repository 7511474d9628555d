//! The files a Slurm session adds to its session directory (docs/slurm.md):
//!
//! | file | written by | content |
//! |---|---|---|
//! | `slurm.toml` | the watcher, right after `sbatch` accepted the job | job ID, job name, cluster, `SLURM_CONF` |
//! | `node.toml` | `csa __node` on the compute node, when the job starts | host, PID, start time |
//! | `node.lock` | `csa __node` | empty; locked by it for its whole life |
//! | `ending.toml` | `csa __node`, when the job has ended | the job's true ending, in `result.toml`'s format, and signals from outside csa |
//! | `slurm.log` | Slurm (`sbatch -o/-e`) | what Slurm and the batch script printed, never the job's output |
//! | `watch.log` | the watcher | the watcher's own diagnostics |
//!
//! Each record is written atomically (temporary file, rename); `ending.toml` exactly once.

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::store::record::{self, ResultRecord};
use crate::store::session::SessionDir;

/// `slurm.toml`: the Slurm job that runs the session.
pub const JOB_TOML: &str = "slurm.toml";
/// `node.toml`: the node entry's start record.
pub const NODE_TOML: &str = "node.toml";
/// `node.lock`: locked by the node entry while it lives.
pub const NODE_LOCK: &str = "node.lock";
/// `ending.toml`: the job's ending as the node saw it.
pub const ENDING_TOML: &str = "ending.toml";
/// `slurm.log`: the batch job's own output (Slurm's messages).
pub const SLURM_LOG: &str = "slurm.log";
/// `watch.log`: the watcher's diagnostics.
pub const WATCH_LOG: &str = "watch.log";

/// The prefix of the job name of a session without a name: `csa-<session ID>`.
pub const JOB_NAME_PREFIX: &str = "csa-";

/// `slurm.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The Slurm job ID, as `sbatch --parsable` printed it.
    pub job_id: String,
    /// The job name csa gave it (`NAME-<end of the ID>`, or `csa-<ID>`:
    /// [`super::identity::job_name`]), one of the checks before csa trusts or signals the
    /// ID (IDs are reused after the controller loses its state).
    pub job_name: String,
    /// The cluster `sbatch` named (federations), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The `SLURM_CONF` the job was submitted with, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm_conf: Option<String>,
    /// When `sbatch` accepted the job (RFC 3339, UTC, milliseconds).
    pub submitted_at: String,
}

/// `node.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// The compute node's host name.
    pub host: String,
    /// The node's name in Slurm (`SLURMD_NODENAME`), when the node said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The PID of `csa __node` on that host.
    pub pid: u32,
    /// `SLURM_JOB_ID` as the node saw it.
    pub job_id: String,
    /// When the node entry started (RFC 3339, UTC, milliseconds).
    pub started_at: String,
}

/// `ending.toml`: the job's ending as `csa __node` saw it — a result, in `result.toml`'s
/// format — and what the node noticed that only Slurm can explain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeEnding {
    /// The job's own ending.
    #[serde(flatten)]
    pub result: ResultRecord,
    /// The signals that reached `csa __node` from another process without a stop request
    /// (Slurm's time limit, `scancel`, `--signal=B:…`, a node going down, a user's `kill`
    /// on the node), by number, in the order they were noticed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outside_signals: Vec<i32>,
    /// How many processes the kernel killed for lack of memory in the job's memory cgroup
    /// while it ran (`oom_kill` of `memory.events`, or of `memory.oom_control` under cgroup
    /// v1); 0 when none or when the node has no memory cgroup.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub oom_kills: u64,
}

impl NodeEnding {
    /// True when Slurm may have caused the ending, so that the watcher asks it once: a
    /// signal came from outside csa (`SIGCONT` included: Slurm sends it first when it ends
    /// a job, and a shell's `wait` may return on it, ending the job before the SIGTERM
    /// that follows), or the kernel killed a process of the job for lack of memory.
    pub fn needs_slurm(&self) -> bool {
        self.oom_kills > 0 || !self.outside_signals.is_empty()
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Reads `slurm.toml`; `None` before the job was submitted.
pub fn read_job(session: &SessionDir) -> Result<Option<JobRecord>> {
    record::read(&session.file(JOB_TOML))
}

/// Reads `node.toml`; `None` while the job has not started (or a malformed one).
pub fn read_node(session: &SessionDir) -> Option<NodeRecord> {
    record::read(&session.file(NODE_TOML)).ok().flatten()
}

/// Reads `ending.toml`; `None` while the node has recorded no ending. A malformed one
/// counts as none (Slurm's record is used instead).
pub fn read_ending(session: &SessionDir) -> Option<NodeEnding> {
    record::read(&session.file(ENDING_TOML)).ok().flatten()
}

/// Records a submitted job: marks the session `queued` (until `csa __node` starts the job,
/// or the job ends, when the watcher removes the mark: [`not_queued`]) and writes
/// `slurm.toml`, last — `csa __node` waits for it. Errors: `slurm.toml` cannot be written.
pub fn record_job(session: &SessionDir, job: &JobRecord) -> Result<()> {
    let _ = crate::store::files::Options::write()
        .create()
        .open(&session.file(crate::store::session::QUEUED));
    record::write_atomic(&session.path, JOB_TOML, job, false).map(drop)
}

/// Removes the session's `queued` mark: its job started, or ended without starting.
pub fn not_queued(session: &SessionDir) {
    let _ = crate::store::files::remove_file(&session.file(crate::store::session::QUEUED));
}

/// This machine's host name (`/proc/sys/kernel/hostname`), empty when unknown.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ending_reads_back_with_its_notes() {
        let result = ResultRecord::new(
            "01JD0000000000000000000000".into(),
            (crate::store::record::Status::Success, 0, None),
            std::time::SystemTime::UNIX_EPOCH,
            std::time::SystemTime::UNIX_EPOCH,
        );
        let ending = NodeEnding {
            result: result.clone(),
            outside_signals: vec![18, 15],
            oom_kills: 0,
        };
        let text = toml::to_string(&ending).unwrap();
        assert!(text.contains("outside_signals = [18, 15]"), "{text}");
        assert!(!text.contains("oom_kills"), "{text}");
        let back: NodeEnding = toml::from_str(&text).unwrap();
        assert_eq!(back, ending);
        assert!(back.needs_slurm());
        // A plain result (an older node's ending) reads as one without notes.
        let plain: NodeEnding = toml::from_str(&toml::to_string(&result).unwrap()).unwrap();
        assert!(plain.outside_signals.is_empty() && !plain.needs_slurm());
        // And the ending reads as a result (a newer node's ending, read by an older csa).
        let read: ResultRecord = toml::from_str(&text).unwrap();
        assert_eq!(read, result);
    }
}
