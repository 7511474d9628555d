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
pub mod outcome;
pub mod resume;
pub mod stop;
pub mod submit;
mod watch;

use std::io::Write as _;

use anyhow::{Context as _, Result};

use self::client::{Cancel, Slurm};
use self::files::JobRecord;
use self::outcome::Ending;
use crate::cli::ExecutorArgs;
use crate::exit;
use crate::queue::turn::Slot;
use crate::record::{self, ResultRecord, SessionRecord, Status};
use crate::session::{self, SessionDir};
use crate::stop::request;
use crate::supervise::Received;

pub use outcome::NEVER_STARTED;
pub use resume::settle;

/// What the watcher tells `csa run` on its standard output (a pipe `run` reads to the end):
/// `submitted <job ID>` once `slurm.toml` is written, or `refused` when the job will not
/// run (its `failure` result follows). Nothing (end of file) when the watcher died first.
pub const SUBMITTED: &str = "submitted";
/// See [`SUBMITTED`].
pub const REFUSED: &str = "refused";

/// The watcher (`csa __supervise --executor slurm`, once the session's gate — dependencies,
/// queue slot — is passed): submits the job (unless `--resume`), waits for its end and
/// returns the result to record (the supervisor applies a stop request and writes it).
/// `slot`, the session's queue slot, is held until the job has ended. `received` is the
/// supervisor's last termination signal: one that arrives before submission means the job
/// is never submitted; later ones are ignored (the job is stopped through `session kill`,
/// not by signalling its watcher).
///
/// Errors: `session.toml` unreadable.
pub fn supervise(
    session: &SessionDir,
    args: &ExecutorArgs,
    received: &Received,
    slot: Option<Slot>,
) -> Result<ResultRecord> {
    let request = &submit::Request {
        args: args.slurm_args.clone(),
        csa: args
            .node_csa
            .clone()
            .unwrap_or_else(|| std::env::current_exe().map_or_else(|_| "csa".into(), Into::into)),
    };
    let record: SessionRecord = record::read(&session.file(session::SESSION_TOML))?
        .with_context(|| format!("session.toml is missing ({})", session.path.display()))?;
    let (job, ending) = if args.resume {
        resume::job(session)
    } else {
        submit_job(session, &record, request, received)
    };
    let ending = match (ending, &job) {
        (Some(ending), _) => ending,
        (None, Some(job)) => {
            let slurm = Slurm::recorded(job.slurm_conf.as_deref(), job.cluster.as_deref());
            watch::until_end(session, job, &slurm, args.resume)
        }
        (None, None) => Ending::Unknown("no Slurm job was recorded".to_owned()),
    };
    drop(slot);
    Ok(outcome::result(session, job.as_ref(), ending))
}

/// A result the watcher records itself (`synthetic = false`): the job did not run.
fn not_run(session: &SessionDir, status: Status, signal: Option<i32>, reason: String) -> Ending {
    let exit_code = signal.map_or(1, exit::from_signal);
    let mut result = crate::liveness::synthetic_result(session, status, exit_code, signal, reason);
    result.synthetic = false;
    Ending::Node(result)
}

/// Submits the job and records it, telling `csa run` the outcome. Returns the job (none
/// when it was not submitted) and the ending when it is already known.
fn submit_job(
    session: &SessionDir,
    record: &SessionRecord,
    request: &submit::Request,
    received: &Received,
) -> (Option<JobRecord>, Option<Ending>) {
    let stopped = || request::requested(session).is_some() || received.signal().is_some();
    if stopped() {
        tell_run(REFUSED);
        let signal = request::requested(session)
            .map(|request| request.signal)
            .or_else(|| received.signal())
            .unwrap_or(15);
        let reason = format!(
            "stopped before it was submitted to Slurm; {}",
            outcome::NEVER_STARTED
        );
        return (
            None,
            Some(not_run(session, Status::Signal, Some(signal), reason)),
        );
    }
    let slurm = Slurm::from_env();
    let job = match submit::submit(session, record, request, &slurm) {
        Ok(job) => job,
        Err(message) => {
            tell_run(REFUSED);
            let reason = format!("sbatch refused the job: {message}");
            return (None, Some(not_run(session, Status::Failure, None, reason)));
        }
    };
    if let Err(err) = record::write_atomic(&session.path, files::JOB_TOML, &job, false) {
        // Without the record nobody could find the job again: take it back.
        let _ = slurm.cancel(&job.job_id, Cancel::Plain);
        tell_run(REFUSED);
        let reason = format!(
            "cannot record Slurm job {} ({err:#}); the job was cancelled",
            job.job_id
        );
        return (
            Some(job),
            Some(not_run(session, Status::Failure, None, reason)),
        );
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
