//! Starting the supervisor detached: `csa run` re-executes its own binary as
//! `csa __supervise` in a new session — without waiting for that `exec`.
//!
//! `run` forks ([`sys::spawn`]); the child becomes the leader of a new session at once and
//! waits at a gate. Meanwhile `run` reads the child's start time from `/proc/<pid>/stat`
//! (fixed at the fork), writes `daemon.pid`, waits for the child's word that it leads its
//! session (one byte on a pipe right after `setsid`, its first step), publishes the session
//! directory, and opens the gate; the child then execs the supervisor. So when the ID is
//! printed:
//! - the PID of `daemon.pid` is the job's process group ID and session ID;
//! - the lock is held by a live process (the child inherited `run`'s locked descriptor at
//!   the fork, and keeps it through `exec`);
//! - `daemon.pid` names that process, verifiable at once (PID, start time, lock open);
//! - signals sent to the caller's process group do not reach it: it starts with the
//!   signals it survives blocked, leads its own session first of all, then drops those
//!   that arrived before (`sys::spawn`), as a supervisor `run` waited for never got them;
//! - a signal sent to it after that stays pending until its handlers are in place and is
//!   acted upon before any job starts;
//! - `session kill` finds it running `csa __supervise`, or waits the moment it takes to get
//!   there ([`crate::stop::target::verify`]).
//!
//! If the `exec` fails, the child records the session's result itself (`failure`, exit
//! code 125, the error number in the reason) and exits.

use std::ffi::OsString;
use std::os::fd::{AsFd as _, AsRawFd as _};

use anyhow::{Context as _, Result};
use rustix::process::Signal;

use super::{Launch, Prepared, create, fleet};
use crate::exit::{CSA_ERROR, Failure};
use crate::liveness::Identity;
use crate::store::record::{self, ResultRecord, Status, StdinSource};
use crate::store::session::{self, SessionDir};
use crate::supervise;
use crate::sys;

/// Starts `csa __supervise` detached with `prepared`'s files as stdout/stderr (the spool
/// files, or the executor's) and the locked `lock` descriptor inherited, records
/// `daemon.pid` and publishes a staged session. `executor_args` name the executor
/// (`--executor NAME`, none for `local`); `job_environment` is
/// [`super::job_environment`]'s. Returns the supervisor's PID.
///
/// Errors (exit 125) when the arguments cannot be passed (too long for `execve`), the
/// process cannot be forked, or `daemon.pid` or the directory cannot be written; the
/// child, if any, is killed first.
pub(super) fn spawn_supervisor(
    launch: &Launch<'_>,
    prepared: Prepared,
    executor_args: &[OsString],
    job_environment: &[(OsString, OsString)],
) -> Result<sys::Pid> {
    let Launch { job, session, .. } = launch;
    let exe = std::env::current_exe().context("cannot find the csa executable")?;
    // Linux names a replaced executable `<path> (deleted)`; the child then falls back to
    // `/proc/self/exe`.
    let program = exe
        .to_str()
        .and_then(|text| text.strip_suffix(" (deleted)"))
        .map_or(exe.clone(), Into::into);
    sys::set_close_on_exec(&prepared.lock, false).context("cannot pass the session lock on")?;
    let mut argv: Vec<OsString> = vec![
        exe.into_os_string(),
        "__supervise".into(),
        "--session-id".into(),
        session.id_string().into(),
        "--session-dir".into(),
        session.path.as_os_str().to_owned(),
        "--lock-fd".into(),
        prepared.lock.as_raw_fd().to_string().into(),
    ];
    if let Some(timeout) = job.timeout {
        argv.push("--timeout-ms".into());
        argv.push(crate::executor::millis(timeout).to_string().into());
    }
    if let Some(idle) = job.idle_timeout {
        argv.push("--idle-timeout-ms".into());
        argv.push(crate::executor::millis(idle).to_string().into());
    }
    let stdin_from = match job.stdin {
        StdinSource::Null => "null",
        StdinSource::Inherit => "inherit",
        StdinSource::Prompt => "prompt",
    };
    argv.push("--stdin-from".into());
    argv.push(stdin_from.into());
    fleet::pass_on(&launch.fleet, &mut argv)?;
    argv.extend_from_slice(executor_args);
    // The job's command line goes on a descriptor, not in the supervisor's argv, where
    // every local user could read a prompt or a script (`ps`).
    let job_argv = sys::argv_file(&job.argv).context("cannot pass the job's command line on")?;
    sys::set_close_on_exec(&job_argv, false).context("cannot pass the job's command line on")?;
    argv.push("--argv-fd".into());
    argv.push(job_argv.as_raw_fd().to_string().into());
    let env = environment(job_environment);
    let null = if job.stdin == StdinSource::Inherit {
        None
    } else {
        Some(std::fs::File::open("/dev/null").context("cannot open /dev/null")?)
    };
    let failed = |err: std::io::Error| {
        // EAGAIN from `clone`: a limit on processes (`ulimit -u`, a pids cgroup); EMFILE:
        // no descriptor free to save csa's own standard descriptors across the fork.
        let hint = match err.raw_os_error() {
            Some(libc::EAGAIN) => {
                "; the process limit is reached (ulimit -u, or the pids limit of a control group): end some processes and run again"
            }
            Some(libc::EMFILE | libc::ENFILE) => {
                "; no file descriptor is free (ulimit -n, or the system's limit): raise the limit and run again"
            }
            Some(libc::ENOMEM) => "; out of memory",
            _ => "",
        };
        Failure::new(
            CSA_ERROR,
            format!(
                "cannot start the supervisor: {}{hint}; no session was created ({})",
                crate::exit::io_why(&err),
                session.id_string()
            ),
        )
    };
    let detached = sys::Detached::new(
        &sys::c_path(&program).context("cannot start the supervisor")?,
        &argv,
        &env,
        launch.cwd.as_os_str(),
        [
            null.as_ref().map(|file| file.as_fd()),
            Some(prepared.stdout.as_fd()),
            Some(prepared.stderr.as_fd()),
        ],
        on_exec_failure(session, &launch.cwd)?,
    )
    .map_err(failed)?;
    let (pid, mut gate) =
        sys::spawn(detached, &crate::interrupt::SURVIVED_SIGNALS).map_err(failed)?;
    drop(prepared);
    // Nobody sees the session before the child leads its own session: from the moment the
    // ID is printed, the PID of `daemon.pid` is the job's process group and session.
    let leads = |gate: &mut sys::Gate| gate.until_leader().map_err(|err| failed(err).into());
    let recorded = if launch.staging.is_some() {
        // Written while the child starts; the directory is published once it leads.
        write_daemon_pid_of(launch, pid)
            .and_then(|()| leads(&mut gate))
            .and_then(|()| create::publish(launch))
    } else {
        leads(&mut gate).and_then(|()| write_daemon_pid_of(launch, pid))
    };
    if let Err(err) = recorded {
        // Never let a session nobody can see run: the child is ours and not reaped, so
        // its PID cannot have been reused.
        let _ = sys::signal_process(pid, Signal::KILL);
        drop(gate);
        let _ =
            rustix::process::waitpid(Some(pid.to_rustix()), rustix::process::WaitOptions::empty());
        return Err(err);
    }
    drop(gate);
    Ok(pid)
}

/// The supervisor's environment: csa's own with the job's additions
/// (`job_environment`; a later value of a name wins) and the allocator's tunables
/// ([`supervise::tunables`], which the supervisor takes out again).
fn environment(job_environment: &[(OsString, OsString)]) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let tuned = supervise::tunables::for_supervisor(std::env::var_os("GLIBC_TUNABLES").as_deref());
    for (key, value) in job_environment.iter().cloned().chain(tuned) {
        match env.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => env.push((key, value)),
        }
    }
    env
}

/// What the child records when it cannot exec the supervisor (`failure`, exit code 125) or
/// cannot enter the job's working directory `cwd` (`failure`, exit code 126, as `run`'s own
/// check of `--cd` says): the error number in the reason, started and finished now.
fn on_exec_failure(session: &SessionDir, cwd: &std::path::Path) -> Result<sys::OnExecFailure> {
    const ERRNO: &str = "ERRNO_HERE";
    let now = std::time::SystemTime::now();
    let around = |code: u8, reason: String| -> Result<sys::Around> {
        let mut result: ResultRecord =
            ResultRecord::never_started(session.id_string(), (Status::Failure, code, None), now);
        result.reason = Some(reason);
        let text = toml::to_string(&result).context("cannot serialize a result")?;
        let (before, after) = text.split_once(ERRNO).unwrap_or((&text, ""));
        Ok(sys::Around {
            before: before.as_bytes().to_vec(),
            after: after.as_bytes().to_vec(),
        })
    };
    let c = |path: &std::path::Path| sys::c_path(path).context("cannot start the supervisor");
    Ok(sys::OnExecFailure {
        exec: around(
            CSA_ERROR,
            format!(
                "csa could not start the session's supervisor (error {ERRNO} from exec); the job was never started"
            ),
        )?,
        // The error number first: the directory's name may hold anything.
        chdir: around(
            crate::exit::NOT_EXECUTABLE,
            format!(
                "cannot enter the job's working directory (error {ERRNO} from chdir: {}); the job was never started",
                cwd.display()
            ),
        )?,
        reservation: c(&session.file(&record::reservation_name(session::RESULT_TOML)))?,
        result: c(&session.file(session::RESULT_TOML))?,
        dir: c(&session.path)?,
        stop_reservation: c(&session.file(&record::reservation_name(
            crate::store::stop_request::STOP_TOML,
        )))?,
    })
}

/// Writes `daemon.pid` for process `pid` where the session's files are: directly in a
/// staged directory (no one reads it yet), else atomically ([`write_daemon_pid`]).
fn write_daemon_pid_of(launch: &Launch<'_>, pid: sys::Pid) -> Result<()> {
    let files = launch.files();
    if launch.staging.is_none() {
        return write_daemon_pid(&files, pid);
    }
    let line = Identity::of(pid)?.line();
    create::write_file(&files, session::DAEMON_PID, line.as_bytes(), true)
}

/// Writes `daemon.pid`: `"<pid> <starttime>\n"`, the start time being field 22 of
/// `/proc/<pid>/stat`, atomically (a temporary file and a rename). Not fsynced: it only
/// matters while the machine is up.
pub(in crate::run) fn write_daemon_pid(session: &SessionDir, pid: sys::Pid) -> Result<()> {
    let line = Identity::of(pid)?.line();
    record::write_bytes_atomic(&session.path, session::DAEMON_PID, line.as_bytes(), false)?;
    Ok(())
}
