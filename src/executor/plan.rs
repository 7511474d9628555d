//! Choosing the executor of a new session (`csa run --executor`, the configuration), and
//! what the supervisor is told about it.

use anyhow::{Context as _, Result};

use super::slurm;
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

/// What the supervisor is told runs its job (`csa __supervise --executor …`).
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The executor.
    pub executor: ExecutorKind,
    /// Slurm: take over the job of a watcher that died (nothing is submitted).
    pub resume: bool,
    /// Slurm: `sbatch` options, in order.
    pub slurm_args: Vec<std::ffi::OsString>,
    /// Slurm: the csa binary the compute node runs.
    pub node_csa: Option<std::ffi::OsString>,
}

/// The executor `csa run` uses, and for Slurm what to submit.
#[derive(Debug, Clone)]
pub struct Chosen {
    /// `--executor`, else the configured `executor`, else `local`.
    pub executor: ExecutorKind,
    /// For [`ExecutorKind::Slurm`]: the `sbatch` options and csa's path on the nodes.
    pub slurm: Option<slurm::submit::Request>,
}

/// Chooses the executor of a new session from the command line and the configuration of
/// the job's directory. Errors: 2 for options that do not fit the executor (`--slurm-arg`
/// without Slurm; `--no-daemon` or `--stdin` with it; an `sbatch` option that would break
/// one session, one job, or that `sbatch` does not have: [`slurm::options`]), 125 for an
/// unreadable configuration.
pub fn plan(args: &Choice<'_>, config: &crate::tool::config::Lazy<'_>) -> Result<Chosen> {
    let settings = config.get()?.executor.clone();
    let executor = args
        .executor
        .or(settings.executor)
        .unwrap_or(ExecutorKind::Local);
    if executor == ExecutorKind::Local {
        if !args.slurm_args.is_empty() {
            return Err(usage("--slurm-arg needs --executor slurm"));
        }
        return Ok(Chosen {
            executor,
            slurm: None,
        });
    }
    if args.no_daemon {
        return Err(usage(
            "--no-daemon runs the job on this machine; it cannot be combined with the Slurm executor (use --executor local)",
        ));
    }
    if args.stdin {
        return Err(usage(
            "--stdin passes this terminal's input to the job; a Slurm job runs elsewhere (put the input in a file, or use --executor local)",
        ));
    }
    let csa = match settings.slurm_csa {
        Some(path) => path.into_os_string(),
        None => std::env::current_exe()
            .context("cannot find the csa executable (set [executors.slurm] csa)")?
            .into_os_string(),
    };
    let mut extra: Vec<std::ffi::OsString> =
        settings.slurm_args.into_iter().map(Into::into).collect();
    let configured = extra.len();
    extra.extend(args.slurm_args.iter().map(Into::into));
    let cluster = slurm::client::Slurm::from_env();
    let given = slurm::options::check(&extra, configured, &cluster)?;
    // First: a configured or given `--time` comes later and wins.
    if let Some(timeout) = args.timeout
        && let Some(time) = slurm::limit::backstop(timeout, &given, &cluster)?
    {
        extra.insert(0, time);
    }
    Ok(Chosen {
        executor,
        slurm: Some(slurm::submit::Request {
            args: extra,
            csa,
            env: Vec::new(),
            cwd: None,
            name: None,
        }),
    })
}

fn usage(message: &str) -> anyhow::Error {
    Failure::new(USAGE, format!("{message} (csa run)")).into()
}
