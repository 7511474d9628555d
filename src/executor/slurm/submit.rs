//! Submitting a session's job with `sbatch`: the options csa sets, the batch script, and the
//! record of the job (`slurm.toml`).
//!
//! The batch script only starts `csa __node` on the node, which reads `session.toml` and
//! runs the job as the local supervisor does. Options, in this order (a later option wins):
//! the request's (`--time` as a backstop above csa's own `--timeout`, [`super::limit`];
//! the configured `[executors.slurm] args`; each `--slurm-arg`), then what csa needs and the
//! user may not change: `--parsable`, `--no-requeue` (a requeued job would run twice and
//! truncate nothing but confuse every record), `--open-mode=append`, `--job-name=NAME`
//! ([`identity::job_name`]), and `--output`/`--error` to `slurm.log` (the job's own output
//! goes to the spool files, written by `csa __node`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::client::{Slurm, Submission};
use super::files::{self, JobRecord};
use super::identity;
use crate::store::record::{self, SessionRecord};
use crate::store::session::SessionDir;

/// What the user asked `sbatch` for: the configured arguments, then `--slurm-arg`s.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Extra `sbatch` options, in order.
    pub args: Vec<OsString>,
    /// The csa binary the node runs (`[executors.slurm] csa`, else this one's path).
    pub csa: OsString,
    /// The job's `--env` pairs, added to the environment `sbatch` hands to the job (empty
    /// for the watcher, whose own environment carries them).
    pub env: Vec<(String, String)>,
    /// The job's working directory, where `sbatch` runs (`None`: the current one).
    pub cwd: Option<PathBuf>,
    /// The session's `--name`, shown in the job's name ([`identity::job_name`]).
    pub name: Option<String>,
}

impl Request {
    /// The supervisor's options that carry the request (`csa __supervise --executor slurm
    /// --slurm-arg=… --node-csa=…`).
    pub fn supervisor_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["--executor".into(), "slurm".into()];
        for arg in &self.args {
            let mut pair = OsString::from("--slurm-arg=");
            pair.push(arg);
            args.push(pair);
        }
        let mut csa = OsString::from("--node-csa=");
        csa.push(&self.csa);
        args.push(csa);
        args
    }
}

/// The `sbatch` options for `session` (see the module documentation).
pub fn sbatch_args(session: &SessionDir, request: &Request) -> Vec<OsString> {
    let mut args: Vec<OsString> = request.args.clone();
    let log = session.file(files::SLURM_LOG);
    let mut output = OsString::from("--output=");
    output.push(&log);
    let mut error = OsString::from("--error=");
    error.push(&log);
    args.extend([
        "--parsable".into(),
        "--no-requeue".into(),
        "--open-mode=append".into(),
        format!(
            "--job-name={}",
            identity::job_name(session, request.name.as_deref())
        )
        .into(),
        output,
        error,
    ]);
    args
}

/// The batch script: `exec csa __node …` (paths quoted for `sh`).
pub fn batch_script(session: &SessionDir, csa: &OsString) -> String {
    format!(
        "#!/bin/sh\n# csa session {id}: csa runs the job of session.toml on this node.\nexec {csa} __node --session-dir {dir} --session-id {id}\n",
        id = session.id_string(),
        csa = sh_quote(Path::new(csa)),
        dir = sh_quote(&session.path),
    )
}

/// A submission under way: `sbatch` runs while `csa run` finishes the session's files.
#[derive(Debug)]
pub struct Pending {
    submission: Submission,
    args: Vec<OsString>,
    script: String,
    slurm: Slurm,
    job_name: String,
    request: Request,
}

impl Pending {
    /// Waits for `sbatch`: the job's record (not yet written), or Slurm's message.
    ///
    /// A broken connection to the controller (an overloaded one drops them) is not a
    /// refusal: the job may have been taken before it broke, so csa first looks for it by
    /// its name (`squeue --name=csa-<ID>`, the name being the session's own) and adopts
    /// it, and only otherwise submits again — at most [`ATTEMPTS`] times in all, so a job is
    /// never submitted twice.
    pub fn answer(self) -> anyhow::Result<JobRecord> {
        let Self {
            mut submission,
            args,
            script,
            slurm,
            job_name,
            request,
        } = self;
        let record = |job_id: String, cluster: Option<String>| JobRecord {
            job_id,
            job_name: job_name.clone(),
            cluster,
            slurm_conf: slurm.conf(),
            submitted_at: record::timestamp(SystemTime::now()),
        };
        let mut attempt = 1;
        loop {
            let refusal = match submission.answer() {
                Ok((job_id, cluster)) => return Ok(record(job_id, cluster)),
                Err(refusal) => refusal,
            };
            if !refusal.transient || attempt >= ATTEMPTS {
                return Err(anyhow::anyhow!(refusal.message));
            }
            std::thread::sleep(RETRY_PAUSE * attempt);
            if let Ok(ids) = slurm.jobs_named(&job_name)
                && let Some(job_id) = ids.into_iter().next()
            {
                return Ok(record(job_id, None));
            }
            attempt += 1;
            submission =
                slurm.start_submission(&args, &script, &request.env, request.cwd.as_deref())?;
        }
    }
}

/// How many times `sbatch` is run for one job when the connection to the controller breaks.
const ATTEMPTS: u32 = 3;
/// The pause before the next attempt, times the attempt's number.
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);

/// Starts submitting the session's job without waiting for Slurm's answer. Errors:
/// `sbatch` cannot be run.
pub fn start(session: &SessionDir, request: &Request, slurm: &Slurm) -> anyhow::Result<Pending> {
    let args = sbatch_args(session, request);
    let script = batch_script(session, &request.csa);
    Ok(Pending {
        submission: slurm.start_submission(&args, &script, &request.env, request.cwd.as_deref())?,
        args,
        script,
        slurm: slurm.clone(),
        job_name: identity::job_name(session, request.name.as_deref()),
        request: request.clone(),
    })
}

/// Submits the session's job and waits for Slurm's answer. Returns its record (not yet
/// written), or Slurm's message.
pub fn submit(
    session: &SessionDir,
    record: &SessionRecord,
    request: &Request,
    slurm: &Slurm,
) -> anyhow::Result<JobRecord> {
    let request = Request {
        name: record.name.clone(),
        ..request.clone()
    };
    start(session, &request, slurm)?.answer()
}

/// `path` in single quotes for `sh`, with `'` written as `'\''`.
fn sh_quote(path: &Path) -> String {
    format!("'{}'", path.to_string_lossy().replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> SessionDir {
        SessionDir::sample("/state/it's/sessions/X")
    }

    #[test]
    fn script_quotes_paths() {
        let script = batch_script(&session(), &OsString::from("/opt/csa bin/csa"));
        assert!(
            script.contains(
                "exec '/opt/csa bin/csa' __node --session-dir '/state/it'\\''s/sessions/X'"
            ),
            "{script}"
        );
    }

    #[test]
    fn csa_options_come_last() {
        let request = Request {
            args: vec!["--partition=gpu".into(), "--job-name=mine".into()],
            csa: "/bin/csa".into(),
            env: Vec::new(),
            cwd: None,
            name: None,
        };
        let args: Vec<String> = sbatch_args(&session(), &request)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(args[0], "--partition=gpu");
        let name = args
            .iter()
            .rposition(|a| a.starts_with("--job-name="))
            .unwrap();
        assert!(args[name].starts_with("--job-name=csa-"));
        assert!(name > 2);
        assert!(args.contains(&"--no-requeue".to_owned()));
    }
}
