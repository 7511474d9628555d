//! Choosing the executor of a new session (`csa run --executor`, the configuration), and
//! what the supervisor is told about it.

use anyhow::Result;

use super::{Executor, HandOver, by_kind};
use crate::exit::{Failure, USAGE};
use crate::store::record::ExecutorKind;

/// What the user asked of the executor (`csa run --executor … --slurm-arg …`), and the
/// options that depend on it.
#[derive(Debug, Clone, Copy)]
pub struct Choice<'a> {
    /// `--executor`, if given.
    pub executor: Option<ExecutorKind>,
    /// `--slurm-arg` options, in order.
    pub slurm_args: &'a [String],
    /// `--no-daemon`: the job runs in the foreground, on this machine.
    pub no_daemon: bool,
    /// `--stdin`: the caller's standard input goes to the job.
    pub stdin: bool,
    /// The job's time limit (`--timeout`, or its tool's).
    pub timeout: Option<std::time::Duration>,
}

/// What the supervisor is told runs its job (`csa __supervise --executor … [--resume]`).
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The executor.
    pub executor: ExecutorKind,
    /// Take over the job of a supervisor that died (an executor whose jobs outlive their
    /// supervisor: [`Executor::outlives_supervisor`]); nothing is submitted again.
    pub resume: bool,
}

/// The executor `csa run` uses, and its part in creating the session.
pub struct Chosen {
    /// `--executor`, else the configured `executor`, else `local`.
    pub executor: &'static dyn Executor,
    /// What its plan decided, and its steps while `run` creates the session.
    pub hand_over: Box<dyn HandOver>,
}

impl std::fmt::Debug for Chosen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Chosen({:?})", self.executor)
    }
}

/// Chooses the executor of a new session from the command line and the configuration of
/// the job's directory, and has it check the options that depend on it
/// ([`Executor::plan`]). Errors: 2 for options that do not fit the executor, 125 for an
/// unreadable configuration.
pub fn plan(args: &Choice<'_>, config: &crate::tool::config::Lazy<'_>) -> Result<Chosen> {
    let settings = &config.get()?.executor;
    let executor = by_kind(
        args.executor
            .or(settings.executor)
            .unwrap_or(ExecutorKind::Local),
    );
    Ok(Chosen {
        executor,
        hand_over: executor.plan(args, settings)?,
    })
}

/// A usage error (exit 2) of `csa run`'s options.
pub fn usage(message: &str) -> anyhow::Error {
    Failure::new(USAGE, format!("{message} (csa run)")).into()
}
