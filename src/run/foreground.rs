//! `csa run --no-daemon`: the job runs under this process, which acts as its supervisor,
//! and its output is copied to the terminal as it reaches the spool files.

use std::io::{self, IsTerminal as _};
use std::os::fd::AsFd as _;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;

use super::{Launch, Prepared, set_job_environment, write_daemon_pid};
use crate::store::session;
use crate::tail;

/// `--no-daemon`: supervise the job in this process, copying its output to the terminal as
/// it reaches the spool files, and return its exit code.
pub(super) fn run(launch: &mut Launch<'_>, prepared: Prepared) -> Result<u8> {
    let gate = std::mem::take(&mut launch.fleet.admission);
    let launch = &*launch;
    let Launch { job, session, .. } = launch;
    // What was made of the session goes, its queue entry (taken out of `launch`) with it.
    let abandon = |_: &anyhow::Error| {
        if let Some(ticket) = &gate.ticket {
            ticket.leave();
        }
        super::create::remove(launch);
    };
    // The job gets standard input, output and error only, as under a supervisor.
    crate::sys::close_inherited_fds_on_exec()
        .map_err(|err| {
            crate::exit::io_failure(
                "cannot keep inherited descriptors from the job",
                &err,
                session.id_string(),
            )
        })
        .inspect_err(abandon)?;
    let no_terminal =
        !(io::stdin().is_terminal() || io::stdout().is_terminal() || io::stderr().is_terminal());
    if no_terminal {
        // Lead a process group of our own, so `session kill` reaches exactly this job.
        let _ = rustix::process::setpgid(None, None);
    }
    // Survive a stop before `daemon.pid` makes this process a target, and let the signals in
    // even if the caller had them blocked: `session kill` takes a supervisor that blocks
    // SIGTERM and is not yet `csa __supervise` for one still starting
    // (`crate::stop::target::verify`).
    let received = crate::interrupt::survive();
    let _ = crate::sys::unblock_signals(&crate::interrupt::SURVIVED_SIGNALS);
    let pid = crate::sys::Pid::current();
    write_daemon_pid(session, pid).inspect_err(abandon)?;
    // Standard output belongs to the job here; the ID is in the directive on stderr.
    launch.args.announce.started(session, pid);
    let gated = !gate.is_empty();
    let slot = match admit(session, gate, &received)? {
        Ok(slot) => slot,
        Err(exit_code) => return Ok(exit_code),
    };
    if gated {
        crate::store::record::mark_started(session, std::time::SystemTime::now());
    }

    let stdin = match job.stdin.stdio(session) {
        Ok(stdin) => stdin,
        Err(err) => {
            let result = crate::store::record::endings::without_stdin(session, &err);
            return Ok(crate::store::stop_request::record_result(session, result)?.exit_code);
        }
    };
    let mut command = Command::new(&job.argv[0]);
    command.args(&job.argv[1..]);
    if let Err(err) = set_job_environment(&mut command, launch) {
        let result = never_started(session, &err);
        return Ok(crate::store::stop_request::record_result(session, result)?.exit_code);
    }
    command
        .stdin(stdin)
        .stdout(prepared.stdout)
        .stderr(prepared.stderr);
    let finished = Arc::new(AtomicBool::new(false));
    let follower = {
        let finished = Arc::clone(&finished);
        let session = session.clone();
        std::thread::spawn(move || {
            let (stdout, stderr) = (io::stdout(), io::stderr());
            let (mut out, mut err) = (io::stdout(), io::stderr());
            // Each copy goes on while it can: a terminal that went away for one of them
            // must not stop the other, and never the job.
            let mut sources = [
                tail::Follow::new(session.file(session::STDOUT_LOG), &mut out)
                    .direct(stdout.as_fd())
                    .best_effort(),
                tail::Follow::new(session.file(session::STDERR_LOG), &mut err)
                    .direct(stderr.as_fd())
                    .best_effort(),
            ];
            let _ = tail::follow(&session.path, &mut sources, None, &mut || {
                Ok(if finished.load(Ordering::SeqCst) {
                    tail::Check::Finished
                } else {
                    tail::Check::Running
                })
            });
        })
    };
    let mut result = crate::executor::local::run_job(
        session,
        command,
        crate::executor::Limits::new(job.timeout, job.idle_timeout),
        &received,
        slot,
        crate::tree::stop_for_timeout,
    );
    result.leftover_processes = crate::stop::leftover_processes();
    finished.store(true, Ordering::SeqCst);
    // Renaming `result.toml` into the session directory also wakes the follower.
    let written = crate::store::stop_request::record_result(session, result);
    let _ = follower.join();
    let result = written?;
    drop(prepared.lock);
    Ok(result.exit_code)
}

/// Waits for what the session waits for (`gate`): `Ok(Ok(slot))` to start the job (with its
/// queue slot, if any); `Ok(Err(exit code))` when it ended without starting (stopped,
/// skipped; its result recorded). Errors: the wait failed — its `failure` is recorded too.
fn admit(
    session: &crate::store::session::SessionDir,
    gate: crate::admission::Conditions,
    received: &crate::interrupt::Received,
) -> Result<Result<Option<crate::queue::slot::Slot>, u8>> {
    use crate::admission::Admission;
    use crate::store::stop_request::record_result;
    if gate.is_empty() {
        return Ok(Ok(None));
    }
    let waker = crate::interrupt::Interruptible::new(received.clone())?;
    let result = match crate::admission::admit(session, gate, &waker) {
        Ok(Admission::Admitted(slot)) => return Ok(Ok(slot)),
        Ok(Admission::Stopped(signal, waiting_for)) => {
            crate::store::record::endings::not_started(session, signal, &waiting_for)
        }
        Ok(Admission::Skipped(result)) => result,
        Err(err) => {
            // Recorded, and said on the terminal (exit 125).
            record_result(session, crate::admission::failed(session, &err))?;
            return Err(err);
        }
    };
    Ok(Err(record_result(session, result)?.exit_code))
}

/// The result of a job that cannot be given its working directory: `failure`, 126.
fn never_started(
    session: &crate::store::session::SessionDir,
    err: &anyhow::Error,
) -> crate::store::record::ResultRecord {
    crate::store::record::endings::never_started(
        session,
        (
            crate::store::record::Status::Failure,
            crate::exit::NOT_EXECUTABLE,
            None,
        ),
        format!("{err:#}; the job was never started"),
    )
}
