//! Which Slurm job is the session's: its name in `squeue` and `sacct`, and the proof that
//! a job ID still names it.
//!
//! **The name** is the session's `--name` followed by the end of its ID —
//! `train-resnet-7Q2M4K9X` — so that `squeue` shows what a person recognizes and a handle
//! csa accepts (a unique suffix of the ID); a session without a name is `csa-<ID>`.
//! Characters Slurm's tools would show badly become `_`, and the name part is cut at 64.
//!
//! **The proof.** Slurm hands job IDs out again after its controller lost its state, so an
//! ID alone proves nothing. Before csa trusts or signals job N, Slurm's record of N must be
//! the session's: its name is the one csa gave it; or — a user may rename a job with
//! `scontrol update` — its `StdOut` is the session's `slurm.log`; or — both can be changed —
//! its batch script, which no one can change, runs this session (one more call,
//! `scontrol write batch_script`, made only when the first two disagree). A job `sacct`
//! remembers (the controller forgot it) has only its name to show.

use super::client::{JobInfo, Slurm};
use super::files::{self, JobRecord};
use crate::store::session::SessionDir;

/// How many characters of the session ID end a named job's name.
const ID_SUFFIX: usize = 8;

/// The longest name part of a job name (characters).
const MAX_NAME: usize = 64;

/// The Slurm job name of `session`, whose `--name` is `name` (see the module
/// documentation).
pub fn job_name(session: &SessionDir, name: Option<&str>) -> String {
    let id = session.id_string();
    let Some(name) = name else {
        return format!("{}{id}", files::JOB_NAME_PREFIX);
    };
    let shown: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@') {
                c
            } else {
                '_'
            }
        })
        .take(MAX_NAME)
        .collect();
    let shown = if shown.trim_matches('_').is_empty() {
        "csa"
    } else {
        &shown
    };
    format!("{shown}-{}", &id[id.len() - ID_SUFFIX..])
}

/// True when Slurm's record `info` of `job`'s ID is the session's by its name or by its
/// `StdOut` (no Slurm call).
pub fn named(job: &JobRecord, session: &SessionDir, info: &JobInfo) -> bool {
    info.name == job.job_name
        || (!info.stdout.is_empty()
            && std::path::Path::new(&info.stdout) == session.file(files::SLURM_LOG))
}

/// True when Slurm's record `info` of `job`'s ID is the session's: [`named`], or else its
/// batch script runs this session (one call to Slurm).
pub fn proven(job: &JobRecord, session: &SessionDir, info: &JobInfo, slurm: &Slurm) -> bool {
    named(job, session, info) || script_runs(session, slurm.batch_script(&job.job_id).as_deref())
}

/// True when `script` (a batch script Slurm kept) is csa's for `session`.
fn script_runs(session: &SessionDir, script: Option<&str>) -> bool {
    let Some(script) = script else {
        return false;
    };
    let id = session.id_string();
    script
        .lines()
        .any(|line| line.contains(" __node ") && line.ends_with(&format!("--session-id {id}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> SessionDir {
        SessionDir {
            id: ulid::Ulid::from_string("01JD000000000000007Q2M4K9X").unwrap(),
            path: "/state/sessions/X".into(),
        }
    }

    #[test]
    fn names_show_the_name_and_the_ids_end() {
        let session = session();
        let id = session.id_string();
        assert_eq!(job_name(&session, None), format!("csa-{id}"));
        let named = job_name(&session, Some("train resnet/50 ✓"));
        assert_eq!(named, format!("train_resnet_50__-{}", &id[18..]));
        assert!(job_name(&session, Some("  ")).starts_with("csa-"));
        assert_eq!(job_name(&session, Some(&"x".repeat(300))).len(), 64 + 1 + 8);
    }

    #[test]
    fn a_renamed_job_is_still_the_sessions() {
        let session = session();
        let job = JobRecord {
            job_id: "7".into(),
            job_name: "mine-ABCDEFGH".into(),
            cluster: None,
            slurm_conf: None,
            submitted_at: String::new(),
        };
        let info = |name: &str, stdout: &str| JobInfo {
            name: name.into(),
            state: "PENDING".into(),
            reason: "None".into(),
            exit_code: 0,
            exit_signal: 0,
            nodes: String::new(),
            stdout: stdout.into(),
        };
        assert!(named(&job, &session, &info("mine-ABCDEFGH", "/elsewhere")));
        assert!(named(
            &job,
            &session,
            &info("renamed", "/state/sessions/X/slurm.log")
        ));
        assert!(!named(&job, &session, &info("renamed", "/elsewhere")));
        assert!(!named(&job, &session, &info("renamed", "")));
        let script = format!(
            "#!/bin/sh\nexec '/bin/csa' __node --session-dir '/state/sessions/X' --session-id {}\n",
            session.id_string()
        );
        assert!(script_runs(&session, Some(&script)));
        assert!(!script_runs(&session, Some("#!/bin/sh\nsleep 300\n")));
        assert!(!script_runs(&session, None));
    }
}
