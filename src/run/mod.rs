//! Starting a session, the domain side of `csa run` ([`start`]): plan, create, hand over —
//! each step once, in that order. The command ([`crate::cmd::run`]) turns the arguments into
//! a [`Request`] and announces the session it gets back.
//!
//! **Liveness invariant** (docs/format.md, "Reading sessions from another program"): from the moment the ID is printed, `lock` is held
//! by a live csa process. `run` creates `lock` and takes the exclusive lock itself *before*
//! starting the supervisor, and hands the locked descriptor to it: a `flock` lock belongs to
//! the open file description, which the supervisor inherits, so the lock never passes
//! through a free state. When `run` exits, the supervisor's copy keeps it held. No
//! handshake is needed, and `run` does not wait for the supervisor at all: it forks it and
//! goes on (`daemon`), and a session appears in the store whole, in one rename (`create`).

use std::ffi::OsString;
use std::fs::File;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, Result};

use crate::exit::{Failure, USAGE};
use crate::store::record::StdinSource;
use crate::store::session::{SessionDir, StateRoot};
use crate::tool::{self, Job};

mod create;
mod daemon;
mod fleet;
mod foreground;
mod plan;
mod request;

pub use create::STAGING_PREFIX;
use daemon::spawn_supervisor;
use daemon::write_daemon_pid;
use plan::{job_cwd, plan_job};
pub use request::{FleetRequest, Request};

/// The largest prompt accepted on standard input (bytes): 10 MiB.
pub const MAX_STDIN_PROMPT: u64 = 10 * 1024 * 1024;

/// How a session was started.
#[derive(Debug)]
pub enum Started {
    /// Its supervisor runs detached (the executor's watcher, for a job that runs
    /// elsewhere): the caller announces it.
    Detached {
        /// The new session.
        session: SessionDir,
        /// Its supervisor, which is also its job's process group.
        pid: crate::sys::Pid,
    },
    /// `--no-daemon`: the job ran in this process and ended with this exit code.
    Foreground(u8),
}

/// Starts a session, top to bottom: **plan** (the job's working directory, its command
/// line from the tool, the executor, the checks that the program can run; the queue,
/// dependencies and parent), **create** the session (its directory, records and lock),
/// and **hand it over** — to a detached supervisor and the session's executor
/// ([`crate::executor::HandOver`]: its steps before, while and after the session's files
/// are written), or to this process with `--no-daemon`. Announcing it is the caller's.
///
/// Errors: 127/126 when the program cannot be run (before any session is created), 2 for
/// a bad prompt or options that do not fit together, 1 when Slurm refused the job, 125
/// when csa itself fails.
pub fn start(args: &Request) -> Result<Started> {
    // 1. Plan: nothing is written before every check has passed.
    let cwd = job_cwd(args.cd.as_deref())?;
    let config = tool::config::Lazy::new(&cwd);
    let mut job = plan_job(args, &config)?;
    if let Some(limit) = args.timeout {
        job.timeout = limit.0;
    }
    if let Some(limit) = args.idle_timeout {
        job.idle_timeout = limit.0;
    }
    if args.stdin {
        if job.stdin != StdinSource::Null {
            return Err(Failure::new(
                USAGE,
                "cannot use --stdin: the prompt itself goes to the job on standard input (standard input)",
            )
            .into());
        }
        job.stdin = StdinSource::Inherit;
    }
    let path_var = args
        .env
        .iter()
        .rev()
        .find(|(key, _)| key == "PATH")
        .map(|(_, value)| OsString::from(value))
        .or_else(|| std::env::var_os("PATH"));
    let chosen = crate::executor::plan(
        &crate::executor::Choice {
            executor: args.executor.as_ref(),
            executor_args: &args.executor_args,
            no_daemon: args.no_daemon,
            stdin: args.stdin,
            timeout: job.timeout,
        },
        &config.get()?.executor,
    )?;
    if chosen.hand_over.runs_here() {
        tool::check_job(&job, &cwd, path_var.as_deref())?;
    }

    let root = StateRoot::from_env()?;
    let fleet = fleet::plan(args, &job, &root, &config)?;

    // 2. Create the session: its directory, records, lock and spool files.
    // Staged (see `create`) unless the session is set up in place for a mode that needs its
    // directory under its ID from the start.
    let staged = !args.no_daemon && !chosen.hand_over.in_place();
    let (session, staging) = create::create_session_dir(&root, staged)?;
    let mut hand_over = chosen.hand_over;
    let mut launch = Launch {
        args,
        job,
        session,
        staging,
        cwd,
        fleet,
        executor: chosen.executor,
    };
    let job_environment = job_environment(&launch);
    // The executor's slow part overlaps with writing the session's files (Slurm submits
    // the job meanwhile; it cannot start before they are written).
    if !args.no_daemon {
        hand_over.begin(&launch.new_session(&job_environment));
    }
    let files = launch.files();
    let prepared = create::prepare(&launch)
        .and_then(|prepared| {
            fleet::join(&mut launch.fleet, args, &root, &files)?;
            Ok(prepared)
        })
        .inspect_err(|_| create::remove(&launch))?;
    // 3. Hand it over: to this process, or to a detached supervisor and the executor.
    if args.no_daemon {
        return foreground::run(&mut launch, prepared).map(Started::Foreground);
    }
    let new = launch.new_session(&job_environment);
    let output = hand_over
        .prepare(&new)
        .inspect_err(|_| create::remove(&launch))?;
    let prepared = match output {
        Some(output) => Prepared {
            stdout: output.stdout,
            stderr: output.stderr,
            ..prepared
        },
        None => prepared,
    };
    // On failure the hand-over, dropped, undoes what it started (Slurm cancels the job).
    let pid = spawn_supervisor(
        &launch,
        prepared,
        &supervisor_args(launch.executor),
        &job_environment,
    )
    .inspect_err(|_| create::remove(&launch))?;
    hand_over.finish(&new)?;
    Ok(Started::Detached {
        session: launch.session,
        pid,
    })
}

/// The supervisor's options that name its executor: `--executor NAME`, none for the
/// default (`local`).
fn supervisor_args(executor: &dyn crate::executor::Executor) -> Vec<OsString> {
    let name = executor.name();
    if name == crate::store::record::ExecutorName::LOCAL {
        Vec::new()
    } else {
        vec!["--executor".into(), name.into()]
    }
}

/// What `csa run` starts: the parsed command line, the job, its new session, its working
/// directory and its place in the fleet.
pub(in crate::run) struct Launch<'a> {
    pub(in crate::run) args: &'a Request,
    pub(in crate::run) job: Job,
    /// The session, under its ID.
    pub(in crate::run) session: SessionDir,
    /// The hidden directory its files are written in until [`create::publish`], when it is
    /// staged.
    pub(in crate::run) staging: Option<PathBuf>,
    pub(in crate::run) cwd: PathBuf,
    pub(in crate::run) fleet: fleet::Fleet,
    /// The executor.
    pub(in crate::run) executor: &'static dyn crate::executor::Executor,
}

impl Launch<'_> {
    /// The session as its executor sees it; `job_environment` is [`job_environment`]'s.
    pub(in crate::run) fn new_session<'a>(
        &'a self,
        job_environment: &'a [(OsString, OsString)],
    ) -> crate::executor::NewSession<'a> {
        crate::executor::NewSession {
            session: &self.session,
            env: &self.args.env,
            cwd: &self.cwd,
            name: self.args.name.as_deref(),
            waits: !self.fleet.admission.is_empty(),
            slots_default: self.fleet.admission.slots_default,
            job_environment,
        }
    }

    /// Where the session's files are written now: its staged directory, or its own.
    pub(in crate::run) fn files(&self) -> SessionDir {
        SessionDir {
            id: self.session.id,
            path: self
                .staging
                .clone()
                .unwrap_or_else(|| self.session.path.clone()),
        }
    }
}

/// What [`create::prepare`] leaves open for starting the job.
pub(in crate::run) struct Prepared {
    /// `lock`, exclusively locked by this process.
    pub(in crate::run) lock: File,
    /// `stdout.log`, opened for append.
    pub(in crate::run) stdout: File,
    /// `stderr.log`, opened for append.
    pub(in crate::run) stderr: File,
}

/// Gives `command` the job's working directory ([`crate::sys::enter_on_exec`]: a failure
/// is one of `chdir`) and environment: csa's own, the `--env` pairs, `CSA_SESSION_ID` and
/// `CSA_SESSION_DIR`. Errors: the directory's name holds a NUL byte.
pub(in crate::run) fn set_job_environment(
    command: &mut Command,
    launch: &Launch<'_>,
) -> Result<()> {
    crate::sys::enter_on_exec(command, &launch.cwd)
        .with_context(|| format!("cannot use --cd ({})", launch.cwd.display()))?;
    command.envs(job_environment(launch));
    Ok(())
}

/// The variables the job's environment adds to csa's own, in order (a later one wins):
/// `PWD`; `CSA_STATE_DIR` made absolute, when it is set; the `--env` pairs;
/// `CSA_SESSION_ID` and `CSA_SESSION_DIR`.
pub(in crate::run) fn job_environment(launch: &Launch<'_>) -> Vec<(OsString, OsString)> {
    let Launch {
        args, session, cwd, ..
    } = launch;
    // Programs that trust `PWD` over getcwd(3) (opencode does) must see the job's
    // directory, not the caller's, as a shell would after `cd`.
    let mut vars = vec![(OsString::from("PWD"), cwd.as_os_str().to_owned())];
    // A `csa run` inside the job, in another working directory (`--cd`), must land in this
    // store: a relative root would name another one there, and its sessions would escape
    // their parent's stop.
    if std::env::var_os("CSA_STATE_DIR").is_some_and(|dir| !dir.is_empty()) {
        vars.push((
            "CSA_STATE_DIR".into(),
            StateRoot::of_session(session).path().as_os_str().to_owned(),
        ));
    }
    vars.extend(
        args.env
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v))),
    );
    vars.push(("CSA_SESSION_ID".into(), session.id_string().into()));
    vars.push((
        "CSA_SESSION_DIR".into(),
        session.path.as_os_str().to_owned(),
    ));
    vars
}

#[cfg(test)]
mod tests {
    /// The supervisor is told its executor by name, except the default.
    #[test]
    fn the_supervisor_is_told_its_executor_by_name() {
        let args = |name| super::supervisor_args(crate::executor::find(name).unwrap());
        assert!(args("local").is_empty());
        assert_eq!(args("slurm"), ["--executor", "slurm"]);
    }
}
