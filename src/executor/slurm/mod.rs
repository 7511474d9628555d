//! The Slurm executor: a session's job runs as a Slurm batch job, with the same contract as
//! a local session (docs/slurm.md).
//!
//! - **Submitting side.** `csa run --executor slurm` submits the job ([`submit`]) and
//!   records its ID in `slurm.toml` ([`handover`], the executor's part of [`crate::run`]),
//!   starting the supervisor meanwhile as for a local session; it holds the session's `lock` exactly as today (the liveness invariant
//!   is unchanged), but instead of running the job it is the job's *watcher* ([`watcher`]):
//!   it waits for its end ([`watch`]) and returns the result to record ([`outcome`]). A session that
//!   waited for a queue slot or dependencies is submitted by its watcher.
//! - **Node side.** The batch script runs `csa __node` ([`node`]), which runs the
//!   job exactly as the local supervisor does and records its true ending in `ending.toml`.
//! - **The job outlives its watcher.** When a look finds the lock free and no result, it
//!   calls [`resume::settle`] (through [`crate::heal::settle`]), which takes the lock and starts a new watcher.
//! - **`session kill`** goes through Slurm ([`stop`]).

pub mod client;
pub mod deferred;
pub mod env;
pub mod files;
mod handover;
pub mod identity;
pub mod limit;
pub mod node;
pub mod options;
pub mod outcome;
pub mod pending;
mod relay;
pub mod resume;
mod settings;
pub mod sharing;
pub mod stop;
pub mod submit;
mod verdict;
mod watch;
mod watcher;

use anyhow::Result;

use self::client::{Cancel, Slurm};
use self::files::JobRecord;
use super::{Choice, HandOver, NodeEntry, StopMode, StopOrder};
use crate::exit;
use crate::store::record::{ResultRecord, Status};
use crate::store::session::SessionDir;

pub use outcome::NEVER_STARTED;

/// The Slurm executor (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub struct SlurmExecutor;

impl super::Executor for SlurmExecutor {
    fn name(&self) -> &'static str {
        "slurm"
    }

    fn help(&self) -> &'static str {
        "A Slurm batch job, submitted with `sbatch` and watched from this machine"
    }

    /// `--slurm-arg`: an `sbatch` option.
    fn args_option(&self) -> Option<&'static str> {
        Some("--slurm-arg")
    }

    fn settings_keys(&self) -> &'static [&'static str] {
        settings::KEYS
    }

    fn check_setting(&self, key: &str, value: &toml::Value) -> Result<()> {
        settings::check(key, value)
    }

    /// Checks the `sbatch` options and the options Slurm cannot honour
    /// ([`handover::plan`]).
    fn plan(&self, choice: &Choice<'_>, table: &super::Table) -> Result<Box<dyn HandOver>> {
        let settings = settings::SlurmSettings::read(table)?;
        Ok(Box::new(handover::plan(choice, &settings)?))
    }

    /// The watcher: submits the job unless `csa run` did, and waits for its end
    /// ([`watcher::supervise`]).
    fn start(&self, job: super::Start<'_>) -> Result<ResultRecord> {
        watcher::supervise(
            job.session,
            job.request,
            job.waits_for_nothing,
            job.received,
            job.slot,
        )
    }

    /// Slurm's `slurm.log`.
    fn messages_file(&self) -> Option<&'static str> {
        Some(files::SLURM_LOG)
    }

    fn awaits(&self) -> Option<&'static str> {
        Some("Slurm to start the job")
    }

    fn job_id(&self, session: &SessionDir) -> Option<String> {
        files::read_job(session)
            .ok()
            .flatten()
            .map(|job| job.job_id)
    }

    /// A submitted job that Slurm has not started: `Slurm to start job <ID>`, with
    /// Slurm's reason ([`pending::waiting_for`]).
    fn look(&self, session: &SessionDir) -> Option<String> {
        let job = files::read_job(session).ok().flatten()?;
        Some(pending::waiting_for(session, &job))
    }

    /// Live (a dead watcher resumed first), and its job, once submitted, still the one Slurm
    /// knows under its ID ([`stop::may_stop`]).
    fn may_stop(&self, session: &SessionDir) -> Result<bool> {
        stop::may_stop(session)
    }

    /// Each session through Slurm, one after the other ([`stop::stop`]). An ended descendant
    /// has nothing left to stop: Slurm ended its job.
    fn stop(&self, sessions: &[SessionDir], order: &StopOrder<'_>) -> Result<()> {
        let (how, by) = (order.sequence, order.by);
        for session in sessions {
            let requested = (order.requested)(session);
            match order.mode {
                StopMode::Named => stop::stop(session, how, &by(session), true, requested)?,
                StopMode::Descendants { .. } if !requested => {}
                StopMode::Descendants { notes } => {
                    let stopped = stop::stop(session, how, &by(session), notes, requested);
                    if let (Err(err), true) = (stopped, notes) {
                        crate::note!("{err:#}");
                    }
                }
            }
        }
        Ok(())
    }

    /// Takes the lock and records the ending the node left, or starts a new watcher
    /// ([`resume::settle`]).
    fn resume(&self, session: &SessionDir) -> Result<super::Settled> {
        resume::settle(session)
    }

    fn outlives_supervisor(&self) -> bool {
        true
    }

    /// `csa __node` ([`node::run`]).
    fn node(&self) -> Option<NodeEntry> {
        Some(node::run)
    }
}

/// The result of a job `sbatch` refused: `failure`, exit 1, Slurm's message as the reason.
pub fn refused(session: &SessionDir, message: &str) -> ResultRecord {
    not_run(
        session,
        Status::Failure,
        None,
        format!("sbatch refused the job: {message}"),
    )
}

/// Gives up a submitted job that cannot be watched (its record or its watcher could not
/// be made): cancels it and records a `failure` result saying why.
pub fn forsake(session: &SessionDir, job: &JobRecord, slurm: &Slurm, why: &str) {
    let _ = slurm.cancel(&job.job_id, Cancel::Plain);
    let result = not_run(
        session,
        Status::Failure,
        None,
        format!(
            "Slurm job {} was cancelled: csa could not watch it ({why})",
            job.job_id
        ),
    );
    let _ = crate::store::stop_request::record_result(session, result);
}

/// A result the watcher records itself (`synthetic = false`): the job did not run.
fn not_run(
    session: &SessionDir,
    status: Status,
    signal: Option<i32>,
    reason: String,
) -> ResultRecord {
    let exit_code = signal.map_or(1, exit::from_signal);
    let mut result =
        crate::store::record::endings::synthetic_result(session, status, exit_code, signal, reason);
    result.synthetic = false;
    result
}
