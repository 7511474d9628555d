//! Executors: what runs a session's job. Each is one implementation of [`Executor`] —
//! start, look, stop, resume — in its own folder: `local` (the default: a child of the
//! supervisor, [`local`]) and `slurm` (a Slurm batch job, [`slurm`]). Every command behaves
//! the same for both; docs/slurm.md says what differs.
//!
//! A new executor is a new folder implementing [`Executor`] and one line in [`ALL`]
//! (docs/internals/architecture.md, "Adding an executor"). Nothing else names an
//! executor: a session's record keeps its executor's name ([`ExecutorName`]); callers ask
//! [`of`] a session, or [`find`] a name; `--executor`'s values and their help, and the
//! configuration's `executor` and `[executors.NAME]` keys, come from [`ALL`].

mod handover;
mod limits;
pub mod local;
mod plan;
pub mod settings;
pub mod slurm;

use std::ffi::OsString;
use std::path::Path;

use anyhow::Result;

pub use handover::{HandOver, NewSession, SupervisorOutput, admission_args};
pub use limits::{Limits, Struck, millis};
pub use plan::{Choice, Chosen, Request, plan, usage};
pub use settings::{Settings, Table};

use crate::exit::{CSA_ERROR, Failure};
use crate::interrupt::Received;
use crate::queue::slot::Slot;
use crate::stop::sequence::StopSequence;
use crate::store::record::{ExecutorName, ResultRecord, SessionRecord, StdinSource};
use crate::store::session::{self, SessionDir};

/// Every executor, one line each; the first is the default (`local`).
pub const ALL: [&dyn Executor; 2] = [&local::LocalExecutor, &slurm::SlurmExecutor];

/// What runs a session's job. Implementations are stateless (unit structs in [`ALL`]).
pub trait Executor: Sync {
    /// The executor's name: `session.toml`'s `executor`, `csa run --executor NAME`, the
    /// configuration's `executor = "NAME"` and `[executors.NAME]`. A valid
    /// [`ExecutorName`], unique in [`ALL`].
    fn name(&self) -> &'static str;

    /// What it is, in one line (no full stop), for the list of `--executor`'s values in
    /// `csa run --help` and shell completion.
    fn help(&self) -> &'static str;

    /// The `csa run` option that passes options to it ([`Choice::executor_args`]:
    /// `--slurm-arg`), as the user types it; `None` (the default) when it takes none, and
    /// `csa run` refuses them.
    fn args_option(&self) -> Option<&'static str> {
        None
    }

    /// The keys its `[executors.NAME]` table in the configuration files may have; none
    /// (the default) when it has no table, and a file with one is refused.
    fn settings_keys(&self) -> &'static [&'static str] {
        &[]
    }

    /// Checks the value a configuration file gives `key` (one of [`Self::settings_keys`]),
    /// as the file is read, so that every command reading the configuration refuses it as
    /// `csa run` would. Nothing to check by default.
    ///
    /// Errors: why the value cannot be used (the caller names the file, line and key).
    fn check_setting(&self, _key: &str, _value: &toml::Value) -> Result<()> {
        Ok(())
    }

    /// `csa run`'s part, once the executor is chosen: checks the options that depend on
    /// it (`choice`, and its `[executors.NAME]` keys from the configuration: `settings`,
    /// each checked by [`Self::check_setting`]) and returns its steps for the new session
    /// ([`HandOver`]).
    ///
    /// Errors: 2 for options that do not fit the executor (`--no-daemon` or `--stdin` with
    /// Slurm), 125 when csa itself fails.
    fn plan(&self, choice: &Choice<'_>, settings: &Table) -> Result<Box<dyn HandOver>>;

    /// Runs the job of a supervised session whose admission is passed (dependencies
    /// succeeded, queue slot taken — `job.slot`, held until the job has ended), and returns
    /// the result to record; the supervisor applies a stop request and writes it. Blocks
    /// until the job has ended.
    ///
    /// Errors: the executor cannot even say how the job ended (e.g. its records are
    /// unreadable); a job that fails to start is a result, not an error.
    fn start(&self, job: Start<'_>) -> Result<ResultRecord>;

    /// A look, which changes nothing: what a session whose job has not started waits for
    /// at the executor, in words (`Slurm to start job 42`), or `None`.
    fn look(&self, session: &SessionDir) -> Option<String>;

    /// What a session of this executor waits for once it is admitted, in words, known
    /// without looking (`Slurm to start the job`); `None` (the default) when its job
    /// starts as soon as it is admitted. A look that must not read the executor's files
    /// (`csa status`) shows it; [`Self::look`] says more.
    fn awaits(&self) -> Option<&'static str> {
        None
    }

    /// A look, which changes nothing: the executor's own ID of the session's job, as its
    /// tools show it (Slurm's job ID), once it has one; `None` by default.
    fn job_id(&self, _session: &SessionDir) -> Option<String> {
        None
    }

    /// The file of the session directory where the executor's own messages about the job
    /// go (Slurm's `slurm.log`: a time limit, a cancellation, an out-of-memory kill), shown
    /// beside `stderr.log` when a job did not succeed; `None` by default.
    fn messages_file(&self) -> Option<&'static str> {
        None
    }

    /// Proves, before anything is signalled, that `session` (of this executor's kind) may be
    /// stopped: true when it runs or waits and its identity is proven, false when it has
    /// ended. Nothing is written or signalled: a stop of a tree proves and records every
    /// session's stop request first ([`crate::tree::stop`]), then signals.
    ///
    /// Errors: a live session whose identity cannot be proven (the message says why).
    fn may_stop(&self, session: &SessionDir) -> Result<bool>;

    /// Stops `sessions` (all of this executor's kind) together, as `order` says.
    ///
    /// Errors (exit 125), with [`StopMode::Named`] only: a session that cannot be verified
    /// (nothing signalled), a stop that fails, a result that cannot be recorded.
    fn stop(&self, sessions: &[SessionDir], order: &StopOrder<'_>) -> Result<()>;

    /// Heals a session whose supervisor is gone (its lock found free): returns its result —
    /// recorded now, as `lost` or from what the executor still knows, if it had none — or
    /// [`Settled::Resumed`] when its job still runs and a new supervisor (a watcher) now
    /// holds the lock. May write `result.toml` and start a process.
    ///
    /// Errors: the lock cannot be checked, a result cannot be written, a watcher cannot be
    /// started.
    fn resume(&self, session: &SessionDir) -> Result<Settled>;

    /// True when a job can outlive its supervisor (a Slurm job runs on while its watcher
    /// is gone): a look that finds such a session's lock free must not take it for ended.
    fn outlives_supervisor(&self) -> bool;

    /// The executor's side on the machine where a job runs, when that is not its
    /// supervisor's ([`NodeEntry`]: `csa __node`, the one command of a Slurm job's batch
    /// script); `None` (the default) for an executor whose jobs run under their supervisor.
    fn node(&self) -> Option<NodeEntry> {
        None
    }
}

/// Runs a session's job where the executor placed it and records its ending there:
/// `(session_dir, session_id, stop_descendants)`, `stop_descendants` stopping the session's
/// descendants when its `--timeout` strikes. Returns the job's exit code.
pub type NodeEntry = fn(&Path, &str, fn(&SessionDir)) -> Result<u8>;

/// `csa __node`: the node side of the executor that has one ([`Executor::node`]; Slurm's
/// batch script runs it on the job's node). Returns the job's exit code.
///
/// Errors (exit 125): refused outside a job of that executor; the job's records cannot be
/// read or written.
pub fn on_node(
    session_dir: &Path,
    session_id: &str,
    stop_descendants: fn(&SessionDir),
) -> Result<u8> {
    let entry = ALL
        .iter()
        .find_map(|executor| executor.node())
        .ok_or_else(|| anyhow::anyhow!("no executor runs jobs away from their supervisor"))?;
    entry(session_dir, session_id, stop_descendants)
}

/// What the supervisor hands its executor once the session is admitted.
#[derive(Debug)]
pub struct Start<'a> {
    /// The session.
    pub session: &'a SessionDir,
    /// The job's argv (at least the program).
    pub argv: &'a [OsString],
    /// The job's time limit and idle timeout.
    pub limits: Limits,
    /// Where the job's standard input comes from.
    pub stdin_from: StdinSource,
    /// What `csa run` asked of the executor.
    pub request: &'a Request,
    /// True when the session waited for nothing (no dependencies, no queue): `csa run`
    /// started the executor's part itself (Slurm: it submitted the job).
    pub waits_for_nothing: bool,
    /// The supervisor's last termination signal, as its handler records it.
    pub received: &'a Received,
    /// The session's queue slot, held until the job has ended.
    pub slot: Option<Slot>,
    /// Stops the session's descendant sessions when the job times out (they may run on
    /// any executor: [`crate::tree`] stops them, above the executors).
    pub stop_descendants: fn(&SessionDir),
}

/// How [`Executor::stop`] stops sessions.
pub struct StopOrder<'a> {
    /// The first signal and the grace period before SIGKILL.
    pub sequence: StopSequence,
    /// Who asks, as each session's result's reason will name it.
    pub by: &'a dyn Fn(&SessionDir) -> String,
    /// What a session that cannot be verified, or has ended, means.
    pub mode: StopMode,
    /// True for a session whose stop request this stop recorded before the first signal of
    /// its tree ([`Executor::may_stop`]): one that has ended since did so as stopped, and is
    /// reported as such — not as "already finished".
    pub requested: &'a dyn Fn(&SessionDir) -> bool,
}

/// How [`Executor::stop`] treats sessions it cannot stop as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Sessions the user named (`session kill`): a live one that cannot be verified is an
    /// error; one that has ended has its result reconstructed if needed and the processes
    /// it left stopped; each step is reported on stderr.
    Named,
    /// Descendants of stopped sessions: live ones are stopped, and ended ones have the
    /// processes they left behind (provably theirs) stopped; one that cannot be verified or
    /// stopped is left as it is (with a note on stderr when `notes`).
    Descendants {
        /// Report each step and each session left alone on stderr.
        notes: bool,
    },
}

/// What became of a session whose supervisor was found gone (its lock free).
#[derive(Debug, Clone)]
pub enum Settled {
    /// The session has ended: its result, recorded now if it had none (as `lost`, or from
    /// what the executor still knows).
    Finished(ResultRecord),
    /// The job still runs elsewhere (an executor that outlives its watcher, e.g. Slurm) and
    /// a new watcher now holds the lock: wait for it again.
    Resumed,
}

impl Settled {
    /// What a look reports for a settled session: its result, or running again under a
    /// new watcher.
    pub fn observed(self) -> crate::liveness::Observed {
        match self {
            Self::Finished(result) => crate::liveness::Observed::Finished(result),
            Self::Resumed => crate::liveness::Observed::Running,
        }
    }
}

/// The sessions grouped by executor, each group in the order given, the groups in the
/// order of their first session.
///
/// Errors: as [`of`], for the first session whose executor this csa does not have.
pub fn group(sessions: &[SessionDir]) -> Result<Vec<(&'static dyn Executor, Vec<SessionDir>)>> {
    let mut groups: Vec<(&'static dyn Executor, Vec<SessionDir>)> = Vec::new();
    for session in sessions {
        let executor = of(session)?;
        match groups
            .iter_mut()
            .find(|(known, _)| known.name() == executor.name())
        {
            Some((_, group)) => group.push(session.clone()),
            None => groups.push((executor, vec![session.clone()])),
        }
    }
    Ok(groups)
}

/// The executor named `name`, if this csa has one.
pub fn find(name: &str) -> Option<&'static dyn Executor> {
    ALL.iter().copied().find(|executor| executor.name() == name)
}

/// The names of the executors, in the order of [`ALL`].
pub fn names() -> impl Iterator<Item = &'static str> {
    ALL.iter().map(|executor| executor.name())
}

/// The executor named `name`.
///
/// Errors (exit 125): this csa has no executor of that name.
pub fn named(name: &ExecutorName) -> Result<&'static dyn Executor> {
    find(name.as_str()).ok_or_else(|| {
        Failure::new(
            CSA_ERROR,
            format!(
                "this csa has no executor `{name}` (it has {})",
                names().collect::<Vec<_>>().join(", ")
            ),
        )
        .into()
    })
}

/// The executor `record` (the `session.toml` of `session`) names.
///
/// Errors (exit 125): this csa has no executor of that name (the session was created by
/// another csa); the message names the session and the executor.
pub fn recorded(session: &SessionDir, record: &SessionRecord) -> Result<&'static dyn Executor> {
    find(record.executor.as_str()).ok_or_else(|| {
        Failure::new(
            CSA_ERROR,
            format!(
                "session {} runs on the executor `{}`, which this csa does not have (it has {}); use the csa that created it",
                session.id_string(),
                record.executor,
                names().collect::<Vec<_>>().join(", ")
            ),
        )
        .into()
    })
}

/// The executor of a session, as its `session.toml` records it (`local` when it cannot be
/// read: not written yet, or malformed, which the commands reading it report).
///
/// Errors: as [`recorded`].
pub fn of(session: &SessionDir) -> Result<&'static dyn Executor> {
    match crate::store::record::read::<SessionRecord>(&session.file(session::SESSION_TOML)) {
        Ok(Some(record)) => recorded(session, &record),
        Ok(None) | Err(_) => Ok(ALL[0]),
    }
}

impl std::fmt::Debug for dyn Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Executor({})", self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each executor has a valid name, unique among them, and one line of help; the
    /// first is `local`, the default.
    #[test]
    fn every_executor_has_a_unique_valid_name_and_help() {
        assert_eq!(ALL[0].name(), ExecutorName::LOCAL);
        for (at, executor) in ALL.iter().enumerate() {
            let name = executor.name();
            ExecutorName::new(name).unwrap();
            assert!(
                ALL[..at].iter().all(|earlier| earlier.name() != name),
                "{name} twice"
            );
            let help = executor.help();
            assert!(
                !help.trim().is_empty() && !help.contains('\n') && !help.ends_with('.'),
                "{name}: {help:?}"
            );
            assert_eq!(find(name).map(Executor::help), Some(help));
            for key in executor.settings_keys() {
                assert!(!key.is_empty() && !key.contains('.'), "{name}: {key:?}");
            }
        }
        assert!(find("no-such-executor").is_none());
    }
}
