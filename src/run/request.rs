//! What `csa run` is asked to start, as plain data the command line fills in.

use crate::store::record::ExecutorName;
use crate::values::Limit;
use std::ffi::OsString;
use std::path::PathBuf;

/// A request to start a session (`csa run`'s arguments).
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Pass csa's standard input through to the job (`--stdin`).
    pub stdin: bool,
    /// The tool that receives the prompt (`sh` by default).
    pub tool: String,
    /// The job's working directory, relative to the current one (`--cd`).
    pub cd: Option<PathBuf>,
    /// Variables added to the job's environment, in order (`--env KEY=VALUE`).
    pub env: Vec<(String, String)>,
    /// The job's time limit (`--timeout`; `none` for no limit); overrides the tool's.
    pub timeout: Option<Limit>,
    /// How long the job may write nothing before it is stopped (`--idle-timeout`; `none`
    /// for no limit); overrides the tool's.
    pub idle_timeout: Option<Limit>,
    /// The session's name (`--name`).
    pub name: Option<String>,
    /// The session's tags (`--tag`), in the order given.
    pub tag: Vec<String>,
    /// Run the job in this process (`--no-daemon`).
    pub no_daemon: bool,
    /// Its queue, dependencies and parent.
    pub fleet: FleetRequest,
    /// The executor asked for (`--executor`), else the configured one.
    pub executor: Option<ExecutorName>,
    /// Options for the executor (`--slurm-arg`: `sbatch` options), in order; an executor
    /// that takes none refuses them ([`crate::executor::Executor::args_option`]).
    pub executor_args: Vec<String>,
    /// The prompt (PROMPT); `None` with a program, or when the prompt is on standard input.
    pub prompt: Option<OsString>,
    /// The program and its arguments (`-- PROGRAM ARGS…`), run without a shell.
    pub program: Vec<OsString>,
    /// The job itself, as an earlier session ran it (`csa rerun`): its argv, tool and
    /// standard input are taken as they are, instead of PROMPT or PROGRAM.
    pub replay: Option<crate::tool::Job>,
    /// How the start is told on stderr (with `--no-daemon`, by [`super::start`] itself).
    pub announce: crate::directive::Announce,
}

/// Where a new session stands in its fleet: its queue, its dependencies, its parent.
#[derive(Debug, Clone, Default)]
pub struct FleetRequest {
    /// The queue to wait in for a slot (`--queue`), else the tool's.
    pub queue: Option<String>,
    /// No queue, even the tool's (`--no-queue`).
    pub no_queue: bool,
    /// The queue's slot count to set (`--slots`, 1 to 1024).
    pub slots: Option<u32>,
    /// Session handles that must end with `success` first (`--after`).
    pub after: Vec<String>,
    /// Do not record the session running this `csa run` as the parent.
    pub detach_from_parent: bool,
}
