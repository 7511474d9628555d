//! Executors: what runs a session's job. `local` (the default) is the supervisor's own child
//! ([`crate::supervise`]); `slurm` is a Slurm batch job ([`slurm`]). Every command behaves
//! the same for both; docs/slurm.md says what differs.

pub mod slurm;

use anyhow::{Context as _, Result};

use crate::cmd::args::RunArgs;
use crate::exit::{Failure, USAGE};
use crate::store::record::{Executor, SessionRecord};
use crate::store::session::{self, SessionDir};

/// The executor `csa run` uses, and for Slurm what to submit.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `--executor`, else the configured `executor`, else `local`.
    pub executor: Executor,
    /// For [`Executor::Slurm`]: the `sbatch` options and csa's path on the nodes.
    pub slurm: Option<slurm::submit::Request>,
}

/// Chooses the executor of a new session from the command line and the configuration of
/// the job's directory. Errors: 2 for options that do not fit the executor (`--slurm-arg`
/// without Slurm; `--no-daemon` or `--stdin` with it), 125 for an unreadable configuration.
pub fn plan(args: &RunArgs, config: &crate::tool::config::Lazy<'_>) -> Result<Plan> {
    let settings = config.get()?.executor.clone();
    let executor = args
        .executor
        .or(settings.executor)
        .unwrap_or(Executor::Local);
    if executor == Executor::Local {
        if !args.slurm_args.is_empty() {
            return Err(usage("--slurm-arg needs --executor slurm"));
        }
        return Ok(Plan {
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
    extra.extend(args.slurm_args.iter().map(Into::into));
    Ok(Plan {
        executor,
        slurm: Some(slurm::submit::Request {
            args: extra,
            csa,
            env: Vec::new(),
            cwd: None,
        }),
    })
}

fn usage(message: &str) -> anyhow::Error {
    Failure::new(USAGE, format!("{message} (csa run)")).into()
}

/// The executor recorded in a session's `session.toml` (`local` when it cannot be read).
pub fn of(session: &SessionDir) -> Executor {
    crate::store::record::read::<SessionRecord>(&session.file(session::SESSION_TOML))
        .ok()
        .flatten()
        .map_or(Executor::Local, |record| record.executor)
}
