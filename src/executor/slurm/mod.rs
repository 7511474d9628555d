//! The Slurm executor: a session's job runs as a Slurm batch job, with the same contract as
//! a local session (docs/slurm.md).
//!
//! - **Submitting side.** `csa run --executor slurm` starts the supervisor as for a local
//!   session; it holds the session's `lock` exactly as today (the liveness invariant is
//!   unchanged), but instead of running the job it is the job's *watcher*: it submits the
//!   job ([`submit`]), records its ID in `slurm.toml`, waits for its end ([`watch`]) and
//!   writes `result.toml` ([`outcome`]).
//! - **Node side.** The batch script runs `csa __node` ([`crate::cmd::node`]), which runs the
//!   job exactly as the local supervisor does and records its true ending in `ending.toml`.
//! - **The job outlives its watcher.** When a look finds the lock free and no result, it
//!   calls [`settle`] ([`resume`]), which takes the lock and starts a new watcher.
//! - **`session kill`** goes through Slurm ([`stop`]).

pub mod client;
pub mod files;
mod outcome;
pub mod resume;
pub mod stop;
pub mod stopping;
pub mod submit;
mod watch;

use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context as _, Result};

use self::client::{Cancel, Slurm};
use self::files::JobRecord;
use self::outcome::Ending;
use crate::cli::SuperviseArgs;
use crate::exit;
use crate::record::{self, ResultRecord, SessionRecord, Status};
use crate::session::{self, SessionDir};

pub use resume::settle;

/// What the watcher tells `csa run` on its standard output (a pipe `run` reads to the end):
/// `submitted <job ID>` once `slurm.toml` is written, or `refused` once a `failure` result
/// is. Nothing (end of file) when the watcher died first.
pub const SUBMITTED: &str = "submitted";
/// See [`SUBMITTED`].
pub const REFUSED: &str = "refused";

/// The watcher (`csa __supervise --executor slurm`): submits the session's job (unless
/// `--resume`), waits for its end, records
/// the result. `received` is the supervisor's last termination signal: one that arrives
/// before submission means the job is never submitted; later ones are ignored (the job is
/// stopped through `session kill`, not by signalling its watcher). Returns the job's exit
/// code. Errors: `session.toml` unreadable, or the result cannot be written.
pub fn supervise(session: &SessionDir, args: &SuperviseArgs, received: &AtomicUsize) -> Result<u8> {
    let resume = args.resume;
    let request = &submit::Request {
        args: args.slurm_args.clone(),
        csa: args
            .node_csa
            .clone()
            .unwrap_or_else(|| std::env::current_exe().map_or_else(|_| "csa".into(), Into::into)),
    };
    let record: SessionRecord = record::read(&session.file(session::SESSION_TOML))?
        .with_context(|| format!("session.toml is missing ({})", session.path.display()))?;
    let (job, ending) = if resume {
        resume::job(session)
    } else {
        submit_job(session, &record, request, received)
    };
    let ending = match (ending, &job) {
        (Some(ending), _) => ending,
        (None, Some(job)) => {
            let slurm = Slurm::recorded(job.slurm_conf.as_deref(), job.cluster.as_deref());
            watch::until_end(session, job, &slurm, resume)
        }
        (None, None) => Ending::Unknown("no Slurm job was recorded".to_owned()),
    };
    let result = outcome::result(session, job.as_ref(), ending);
    write_result(session, &result)
}

/// Writes `result.toml` (exactly once) and returns the exit code recorded — the one
/// already there if another process recorded a result first.
pub fn write_result(session: &SessionDir, result: &ResultRecord) -> Result<u8> {
    if record::write_atomic(&session.path, session::RESULT_TOML, result, true)? {
        return Ok(result.exit_code);
    }
    let existing: Option<ResultRecord> = record::read(&session.file(session::RESULT_TOML))?;
    Ok(existing.map_or(result.exit_code, |r| r.exit_code))
}

/// Submits the job and records it, telling `csa run` the outcome. Returns the job (none
/// when it was not submitted) and the ending when it is already known.
fn submit_job(
    session: &SessionDir,
    record: &SessionRecord,
    request: &submit::Request,
    received: &AtomicUsize,
) -> (Option<JobRecord>, Option<Ending>) {
    let stopped = || stopping::requested(session).is_some() || received.load(Ordering::SeqCst) > 0;
    if stopped() {
        tell_run(REFUSED);
        let (signal, by) = stopping::requested(session).map_or_else(
            || (15, "a termination signal".to_owned()),
            |request| (request.signal, request.by),
        );
        let mut result = crate::liveness::synthetic_result(
            session,
            Status::Signal,
            exit::from_signal(signal),
            Some(signal),
            format!(
                "stopped by {by} before it was submitted to Slurm; {}",
                outcome::NOT_STARTED
            ),
        );
        result.synthetic = false;
        return (None, Some(Ending::Node(result)));
    }
    let slurm = Slurm::from_env();
    let job = match submit::submit(session, record, request, &slurm) {
        Ok(job) => job,
        Err(message) => {
            let mut result = crate::liveness::synthetic_result(
                session,
                Status::Failure,
                1,
                None,
                format!("sbatch refused the job: {message}"),
            );
            result.synthetic = false;
            // `run` reads the result once told.
            let _ = write_result(session, &result);
            tell_run(REFUSED);
            return (None, Some(Ending::Node(result)));
        }
    };
    if let Err(err) = record::write_atomic(&session.path, files::JOB_TOML, &job, false) {
        // Without the record nobody could find the job again: take it back.
        let _ = slurm.cancel(&job.job_id, Cancel::Plain);
        let mut result = crate::liveness::synthetic_result(
            session,
            Status::Failure,
            1,
            None,
            format!(
                "cannot record Slurm job {} ({err:#}); the job was cancelled",
                job.job_id
            ),
        );
        result.synthetic = false;
        let _ = write_result(session, &result);
        tell_run(REFUSED);
        return (Some(job), Some(Ending::Node(result)));
    }
    tell_run(&format!("{SUBMITTED} {}", job.job_id));
    if stopped() {
        // A stop that raced the submission: `session kill` may not have seen the job yet.
        let _ = slurm.cancel(&job.job_id, Cancel::Plain);
    }
    (Some(job), None)
}

/// Writes `word` to standard output (the pipe `csa run` reads) and then points standard
/// output at /dev/null, so that `run` sees the end of file at once.
fn tell_run(word: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{word}").and_then(|()| stdout.flush());
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = rustix::stdio::dup2_stdout(&null);
    }
}
