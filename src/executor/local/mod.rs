//! The local executor: the job runs as a child of its supervisor on this machine, in the
//! supervisor's process group ([`run_job`]), and is stopped by signalling that group once
//! the supervisor's identity is proven ([`stop`]).

mod job;
mod leftovers;
mod stop;

use std::process::Command;

use anyhow::Result;

pub use job::{TIMEOUT_GRACE, run_job};
pub use leftovers::stop_finished;

use super::{Executor, Settled, Start, StopOrder};
use crate::store::record::endings::{final_result, without_stdin};
use crate::store::record::{ExecutorKind, ResultRecord};
use crate::store::session::SessionDir;

/// The local executor (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub struct LocalExecutor;

impl Executor for LocalExecutor {
    fn kind(&self) -> ExecutorKind {
        ExecutorKind::Local
    }

    /// Runs the job under the supervisor ([`run_job`]) with its standard input; a prompt
    /// that cannot be opened is a `failure` result, and the job never starts without it.
    fn start(&self, job: Start<'_>) -> Result<ResultRecord> {
        let stdin = match job.stdin_from.stdio(job.session) {
            Ok(stdin) => stdin,
            Err(err) => return Ok(without_stdin(job.session, &err)),
        };
        let Some((program, args)) = job.argv.split_first() else {
            return Err(anyhow::anyhow!(
                "the job has no program ({})",
                job.session.id_string()
            ));
        };
        let mut command = Command::new(program);
        command.args(args).stdin(stdin);
        let mut result = run_job(
            job.session,
            command,
            job.limits,
            job.received,
            job.slot,
            job.stop_descendants,
        );
        result.leftover_processes = crate::stop::leftover_processes();
        Ok(result)
    }

    /// A local job waits for nothing once it is admitted.
    fn look(&self, _session: &SessionDir) -> Option<String> {
        None
    }

    fn stop(&self, sessions: &[SessionDir], order: &StopOrder<'_>) -> Result<()> {
        stop::stop(sessions, order)
    }

    /// The job ended with its supervisor: the recorded result, or a `lost` one written now.
    fn resume(&self, session: &SessionDir) -> Result<Settled> {
        final_result(session).map(Settled::Finished)
    }

    fn outlives_supervisor(&self) -> bool {
        false
    }
}
