//! Handing a new session to its executor: `csa run`'s part of an executor ([`HandOver`]).
//!
//! `csa run` plans the session, creates its directory and files, and starts its supervisor
//! ([`crate::run`]); the executor the plan chose ([`super::plan`]) takes part at fixed
//! points, the same for every executor: [`HandOver::begin`] before the session's files are
//! written (so that slow work — Slurm's `sbatch` — overlaps with writing them),
//! [`HandOver::prepare`] once they are, and [`HandOver::finish`] once the supervisor runs.
//! For the local executor every step is a no-op.

use std::ffi::OsString;
use std::fs::File;
use std::path::Path;

use anyhow::Result;

use crate::store::session::SessionDir;

/// A session `csa run` is creating, as its executor sees it.
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    /// The session, under its ID (its directory exists, and is where its files are
    /// written when [`HandOver::in_place`]).
    pub session: &'a SessionDir,
    /// The `--env` pairs, in order.
    pub env: &'a [(String, String)],
    /// The job's working directory (absolute).
    pub cwd: &'a Path,
    /// The session's `--name`.
    pub name: Option<&'a str>,
    /// True when the job waits for dependencies or a queue slot before it starts (its
    /// supervisor admits it).
    pub waits: bool,
    /// The slot count of its queue when none was set with `csa queue slots`.
    pub slots_default: u32,
    /// The variables the job's environment adds to csa's own, in order (a later one wins):
    /// `PWD`, the `--env` pairs, `CSA_SESSION_ID`, `CSA_SESSION_DIR`.
    pub job_environment: &'a [(OsString, OsString)],
}

/// Where the supervisor's standard output and error go when not to the session's spool
/// files (Slurm's watcher writes `watch.log`).
#[derive(Debug)]
pub struct SupervisorOutput {
    /// Its standard output, opened for append.
    pub stdout: File,
    /// Its standard error, opened for append.
    pub stderr: File,
}

/// `csa run`'s part of an executor, for one new session: what the executor's plan decided
/// ([`super::Executor::plan`]), and the steps `run` calls once each, in the order of the
/// methods below. Dropped before [`HandOver::finish`] (a later step of `run` failed), it
/// undoes what it started (Slurm: cancels a job it submitted).
pub trait HandOver {
    /// True when the job runs on this machine: `run` checks first that its program can be
    /// run here (a Slurm job's program must exist on the node, not necessarily here).
    fn runs_here(&self) -> bool;

    /// True when the session's directory must be under its ID from the start, its files
    /// each written atomically, rather than staged under a hidden name and published whole
    /// once the supervisor runs ([`crate::run`]'s `create`).
    fn in_place(&self) -> bool;

    /// Before the session's files are written (its directory exists): starts what may
    /// overlap with writing them. Slurm: `sbatch`, for a session that waits for nothing
    /// (the job cannot start early: `csa __node` waits for `slurm.toml`).
    fn begin(&mut self, new: &NewSession<'_>);

    /// The session's files are written; its supervisor starts next. Writes the executor's
    /// own files and returns where the supervisor's output goes, when not to the spool
    /// files.
    ///
    /// Errors: a file cannot be written (`run` removes the session).
    fn prepare(&mut self, new: &NewSession<'_>) -> Result<Option<SupervisorOutput>>;

    /// The supervisor runs (it holds the session's lock). Completes what [`Self::begin`]
    /// started: Slurm waits for `sbatch` and records the job in `slurm.toml`.
    ///
    /// Errors carry their exit code ([`crate::exit::Failure`]): Slurm refused the job (1;
    /// the session records a `failure` result), or it cannot be recorded (125; the job is
    /// cancelled).
    fn finish(self: Box<Self>, new: &NewSession<'_>) -> Result<()>;
}

/// The supervisor's (`csa __supervise`) options for what its job waits for before it
/// starts: `--after ID` for each dependency, then, with a queue, `--queue NAME
/// --slots-default N` (N: the queue's slot count when none was set with `csa queue
/// slots`). Whoever starts a supervisor — `csa run`, or a takeover of a Slurm session —
/// passes them the same way.
pub fn admission_args(after: &[String], queue: Option<&str>, slots_default: u32) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    for id in after {
        args.extend(["--after".into(), id.into()]);
    }
    if let Some(name) = queue {
        args.extend([
            "--queue".into(),
            name.into(),
            "--slots-default".into(),
            slots_default.to_string().into(),
        ]);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_args_are_what_the_supervisor_reads() {
        let after = ["01JD0000000000000000000001".to_owned(), "build".to_owned()];
        let args = admission_args(&after, Some("gpu"), 2);
        assert_eq!(
            args,
            [
                "--after",
                "01JD0000000000000000000001",
                "--after",
                "build",
                "--queue",
                "gpu",
                "--slots-default",
                "2"
            ]
            .map(OsString::from)
        );
        assert!(admission_args(&[], None, 1).is_empty());
    }
}
