//! The local executor: the job runs as a child of its supervisor on this machine, in the
//! supervisor's process group ([`run_job`]), and is stopped by signalling that group once
//! the supervisor's identity is proven ([`stop`]).

mod job;
mod leftovers;
mod stop;

use std::process::Command;

use anyhow::Result;

pub use job::run_job;
pub use leftovers::stop_finished;

use super::{
    Choice, Executor, HandOver, NewSession, Settled, Start, StopOrder, SupervisorOutput, Table,
};
use crate::store::record::ResultRecord;
use crate::store::record::endings::{final_result, without_stdin};
use crate::store::session::SessionDir;

/// The local executor (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub struct LocalExecutor;

impl Executor for LocalExecutor {
    fn name(&self) -> &'static str {
        crate::store::record::ExecutorName::LOCAL
    }

    fn help(&self) -> &'static str {
        "A child of the supervisor on this machine (the default)"
    }

    /// Nothing to plan: it takes no options and has no settings.
    fn plan(&self, _: &Choice<'_>, _: &Table) -> Result<Box<dyn HandOver>> {
        Ok(Box::new(LocalHandOver))
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

    /// Live, and its supervisor verified ([`crate::stop::target::verify`]).
    fn may_stop(&self, session: &SessionDir) -> Result<bool> {
        stop::live_target(session).map(|target| target.is_some())
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

/// `csa run`'s part of the local executor: none. The job runs here, under the supervisor
/// `run` starts, with the spool files as the supervisor's output; the session is staged.
#[derive(Debug)]
struct LocalHandOver;

impl HandOver for LocalHandOver {
    fn runs_here(&self) -> bool {
        true
    }

    fn in_place(&self) -> bool {
        false
    }

    fn begin(&mut self, _: &NewSession<'_>) {}

    fn prepare(&mut self, _: &NewSession<'_>) -> Result<Option<SupervisorOutput>> {
        Ok(None)
    }

    fn finish(self: Box<Self>, _: &NewSession<'_>) -> Result<()> {
        Ok(())
    }
}
