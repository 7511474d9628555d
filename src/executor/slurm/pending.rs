//! Why a submitted job has not started: Slurm's pending reason, as the watcher last heard
//! it (`pending.toml`, written on each of its calls while the job pends: 10 s after
//! submission, then every 60 s — no call of its own), and said in words for `list`,
//! `result` and `wait`'s `KV_WARM` line.

use serde::{Deserialize, Serialize};

use super::files::JobRecord;
use crate::store::record;
use crate::store::session::SessionDir;

/// `pending.toml`: Slurm's reason for a pending job.
pub const PENDING_TOML: &str = "pending.toml";

/// The content of `pending.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRecord {
    /// Slurm's `Reason` (`Resources`, `Priority`, `PartitionTimeLimit`, …).
    pub reason: String,
    /// When the watcher heard it (RFC 3339, UTC).
    pub seen_at: String,
}

/// Records Slurm's pending `reason` (when it changed). Best effort: a reason that cannot be
/// written only leaves the look without it.
pub fn record(session: &SessionDir, reason: &str) {
    if read(session).is_some_and(|seen| seen.reason == reason) {
        return;
    }
    let record = PendingRecord {
        reason: reason.to_owned(),
        seen_at: record::timestamp(std::time::SystemTime::now()),
    };
    let _ = record::write_atomic(&session.path, PENDING_TOML, &record, false);
}

/// `pending.toml`, if any.
pub fn read(session: &SessionDir) -> Option<PendingRecord> {
    record::read(&session.file(PENDING_TOML)).ok().flatten()
}

/// What a submitted job waits for, in words: `Slurm to start job 42 (pending: Resources —
/// the resources it asks for are in use)`.
pub fn waiting_for(session: &SessionDir, job: &JobRecord) -> String {
    let start = format!("Slurm to start job {}", job.job_id);
    match read(session) {
        Some(pending) if pending.reason != "None" && !pending.reason.is_empty() => {
            match explain(&pending.reason) {
                Some(why) => format!("{start} (pending: {} — {why})", pending.reason),
                None => format!("{start} (pending: {})", pending.reason),
            }
        }
        _ => start,
    }
}

/// A few words on Slurm's commonest pending reasons; those that never resolve by
/// themselves say what to do.
fn explain(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "Resources" => "the resources it asks for are in use",
        "Priority" => "jobs of higher priority go first",
        "Dependency" => "its --dependency has not been met",
        "BeginTime" => "its --begin time has not come",
        "JobHeldUser" | "JobHeldAdmin" => "held: scontrol release releases it",
        "PartitionTimeLimit" => {
            "its --time exceeds the partition's time limit, so it never starts: cancel it (csa session kill) and give a shorter --time or --timeout"
        }
        "PartitionNodeLimit" => {
            "it asks for more nodes than the partition allows, so it never starts: cancel it and ask for fewer"
        }
        "ReqNodeNotAvail" => "a node it asks for is unavailable",
        "PartitionDown" | "PartitionInactive" => "its partition is down",
        "AssocGrpCpuLimit" | "AssocMaxJobsLimit" | "QOSMaxJobsPerUserLimit" => {
            "a limit of its account or QOS holds it"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_said_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let session = SessionDir::sample(dir.path());
        let job = JobRecord {
            job_id: "42".into(),
            job_name: "csa-X".into(),
            cluster: None,
            slurm_conf: None,
            submitted_at: String::new(),
        };
        assert_eq!(waiting_for(&session, &job), "Slurm to start job 42");
        record(&session, "PartitionTimeLimit");
        let said = waiting_for(&session, &job);
        assert!(
            said.starts_with("Slurm to start job 42 (pending: PartitionTimeLimit — ")
                && said.contains("never starts"),
            "{said}"
        );
        record(&session, "SomethingNew");
        assert_eq!(
            waiting_for(&session, &job),
            "Slurm to start job 42 (pending: SomethingNew)"
        );
    }
}
