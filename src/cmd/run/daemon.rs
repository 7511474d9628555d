//! Starting the supervisor detached: `csa run` re-executes its own binary as
//! `csa __supervise` in a new session.

use std::os::fd::AsRawFd as _;
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result};

use super::{Launch, Prepared, fleet, set_job_environment};
use crate::record::{self, StdinSource};
use crate::session::{self, SessionDir};
use crate::supervise;
use crate::sys;

/// Re-executes this binary as `csa __supervise` in a new session, with the spool files as
/// stdout/stderr and the locked `lock` descriptor inherited, then records `daemon.pid`.
/// Returns the supervisor's PID.
pub(super) fn spawn_supervisor(launch: &Launch<'_>, prepared: Prepared) -> Result<u32> {
    let Launch { job, session, .. } = launch;
    let exe = std::env::current_exe().context("cannot find the csa executable")?;
    sys::set_close_on_exec(&prepared.lock, false).context("cannot pass the session lock on")?;
    let mut command = Command::new(&exe);
    command
        .arg("__supervise")
        .arg("--session-id")
        .arg(session.id_string())
        .arg("--session-dir")
        .arg(&session.path)
        .arg("--lock-fd")
        .arg(prepared.lock.as_raw_fd().to_string());
    if let Some(timeout) = job.timeout {
        command
            .arg("--timeout-ms")
            .arg(timeout.as_millis().to_string());
    }
    let stdin_from = match job.stdin {
        StdinSource::Null => "null",
        StdinSource::Inherit => "inherit",
        StdinSource::Prompt => "prompt",
    };
    command.arg("--stdin-from").arg(stdin_from);
    fleet::pass_on(&launch.fleet, &mut command)?;
    if let Some(request) = &launch.plan.slurm {
        command.args(request.supervisor_args());
    }
    command.arg("--").args(&job.argv);
    set_job_environment(&mut command, launch);
    command
        .stdin(if job.stdin == StdinSource::Inherit {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stdout(prepared.stdout)
        .stderr(prepared.stderr);
    sys::start_in_new_session(&mut command);
    sys::block_signals(&mut command, &supervise::SURVIVED_SIGNALS);
    let child = command
        .spawn()
        .with_context(|| format!("cannot start the supervisor {}", exe.display()))?;
    drop(prepared.lock);
    let pid = child.id();
    if let Err(err) = write_daemon_pid(session, pid) {
        if let Some(pid) = rustix::process::Pid::from_raw(i32::try_from(pid).unwrap_or(-1)) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        return Err(err);
    }
    Ok(pid)
}

/// The space reserved for `daemon.pid` (bytes): two decimal numbers of at most 20 digits.
pub(super) const DAEMON_PID_BYTES: u64 = 64;

/// The space reserved for `stop.toml` (bytes), several times a request's length.
pub(super) const STOP_TOML_BYTES: u64 = 512;

/// Writes `daemon.pid`: `"<pid> <starttime>\n"`, the start time being field 22 of
/// `/proc/<pid>/stat`, into the space [`super::prepare`] reserved for it.
pub(in crate::cmd) fn write_daemon_pid(session: &SessionDir, pid: u32) -> Result<()> {
    let raw = i32::try_from(pid).context("PID out of range")?;
    let start = sys::ProcStat::read(raw)
        .with_context(|| format!("cannot read the start time of process {pid}"))?
        .start_time;
    record::write_reserved(
        &session.path,
        session::DAEMON_PID,
        format!("{pid} {start}\n").as_bytes(),
        false,
    )?;
    Ok(())
}
