//! Choosing the executor of a new session (`csa run --executor`, the configuration), and
//! what the supervisor is told about it.

use anyhow::Result;

use super::{ALL, Executor, HandOver, Settings, named};
use crate::exit::{Failure, USAGE};
use crate::store::record::ExecutorName;

/// What the user asked of the executor (`csa run --executor … --slurm-arg …`), and the
/// options that depend on it.
#[derive(Debug, Clone, Copy)]
pub struct Choice<'a> {
    /// `--executor`, if given.
    pub executor: Option<&'a ExecutorName>,
    /// Options for the executor, in order, given with its option
    /// ([`Executor::args_option`]: `--slurm-arg`).
    pub executor_args: &'a [String],
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
    pub executor: ExecutorName,
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

/// Chooses the executor of a new session from the command line and the configuration's
/// executor `settings` (of the job's directory), and has it check the options that depend
/// on it ([`Executor::plan`]).
///
/// Errors: 2 for options that do not fit the executor (options for another executor
/// among them), 125 for an executor this csa does not have (`csa rerun` of a session
/// another csa created).
pub fn plan(choice: &Choice<'_>, settings: &Settings) -> Result<Chosen> {
    let executor = match choice.executor.or(settings.default.as_ref()) {
        Some(name) => named(name)?,
        None => ALL[0],
    };
    if !choice.executor_args.is_empty() && executor.args_option().is_none() {
        // Options for another executor: say which one takes them.
        let takes = ALL
            .iter()
            .find_map(|other| other.args_option().map(|option| (option, other.name())));
        let message = match takes {
            Some((option, name)) => format!("{option} needs --executor {name}"),
            None => format!("the executor `{}` takes no options", executor.name()),
        };
        return Err(usage(&message));
    }
    Ok(Chosen {
        executor,
        hand_over: executor.plan(choice, settings.of(executor))?,
    })
}

/// A usage error (exit 2) of `csa run`'s options.
pub fn usage(message: &str) -> anyhow::Error {
    Failure::new(USAGE, format!("{message} (csa run)")).into()
}
