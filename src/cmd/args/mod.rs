//! The arguments of each subcommand, declared with clap's derive API: what `csa run`,
//! `csa session …`, `csa queue …` and the others accept. The command line's top
//! ([`crate::cli`]) puts them together; each command's module turns them into what the
//! domain takes.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Args;

pub mod choices;
pub mod fleet;
pub mod run;
pub mod session;
pub mod view;

pub use fleet::{
    AdmissionArgs, FleetArgs, QueueCommand, QueueListArgs, QueueNameArgs, QueueSlotsArgs,
};
pub use run::RunArgs;
pub use session::{
    AttachArgs, CleanArgs, KillArgs, ListArgs, LogsArgs, RerunArgs, ResultArgs, RmArgs,
    SessionCommand, ShowArgs, WaitArgs,
};
pub use view::{StatusArgs, TopArgs};

/// Arguments of the hidden node entry (`csa __node`), the command an executor runs where
/// it placed a job (a Slurm job's batch script).
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// The absolute path of the session directory
    #[arg(long)]
    pub session_dir: PathBuf,
    /// The session ID
    #[arg(long)]
    pub session_id: String,
}

/// Arguments of `csa tools`.
#[derive(Debug, Args)]
pub struct ToolsArgs {
    /// Print a JSON array, one object per tool: `name`, `argv`, `stdin`, `stdin_argv`,
    /// `timeout_ms`, `idle_timeout_ms`, `queue`, `source`, `path`
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `csa completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `csa man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write csa.1 and one page per subcommand (csa-session-wait.1, …) into DIR (created if
    /// missing) instead of printing csa.1
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub dir: Option<PathBuf>,
}

/// Arguments of the hidden supervisor entry point (`csa __supervise`).
#[derive(Debug, Args)]
pub struct SuperviseArgs {
    /// The session ID
    #[arg(long)]
    pub session_id: String,
    /// The absolute path of the session directory
    #[arg(long)]
    pub session_dir: PathBuf,
    /// The inherited descriptor that holds the exclusive lock on `lock`
    #[arg(long)]
    pub lock_fd: i32,
    /// The job's time limit in milliseconds
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// The job's idle timeout in milliseconds
    #[arg(long)]
    pub idle_timeout_ms: Option<u64>,
    /// Where the job's standard input comes from
    #[arg(long, value_parser = choices::parser(choices::STDIN_SOURCES), default_value = "null")]
    pub stdin_from: crate::store::record::StdinSource,
    /// What the job waits for before it starts
    #[command(flatten)]
    pub admission: AdmissionArgs,
    /// What runs the job
    #[command(flatten)]
    pub executor: ExecutorArgs,
    /// A descriptor holding the job's argv (NUL-terminated arguments), so that the command
    /// line — a prompt, a script — is not in this process's own argv for every user to read
    #[arg(long)]
    pub argv_fd: Option<i32>,
    /// The job's argv, when not on a descriptor (`--argv-fd`)
    #[arg(last = true)]
    pub argv: Vec<OsString>,
}

/// How the supervisor runs the job: itself (`local`), or as the watcher of a job another
/// executor runs.
#[derive(Debug, Args)]
pub struct ExecutorArgs {
    /// What runs the job
    #[arg(long, value_parser = choices::executors(), default_value = "local")]
    pub executor: crate::store::record::ExecutorName,
    /// Take over the job of a supervisor that died (nothing is submitted again)
    #[arg(long)]
    pub resume: bool,
}
