//! The job outlives its watcher. When a look (wait, attach, list, result, kill) finds a
//! Slurm session's lock free and no result, [`settle`] takes the lock — exclusively and
//! without blocking, so of several lookers exactly one wins — and, still holding it, either
//! records the node's ending (when `ending.toml` exists: no Slurm call) or starts a new
//! watcher that inherits the locked descriptor, as `csa run` hands its lock to the first
//! one. The lock never passes through a free state once taken, so no waiter can record the
//! session `lost` meanwhile; the others see it held and wait again
//! ([`Settled::Resumed`]). The new watcher asks Slurm at once and records the ending, or
//! keeps watching: `lost` only when neither the node nor Slurm knows the job.

use std::fs::{File, TryLockError};
use std::io;
use std::os::fd::AsRawFd as _;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result};

use super::client::{Slurm, Unreachable};
use super::files::{self, JobRecord};
use super::outcome::{self, Ending};
use crate::executor::Settled;
use crate::store::record::endings;
use crate::store::record::{self, ResultRecord, SessionRecord};
use crate::store::session::{self, SessionDir};
use crate::sys;

/// How long a resumed watcher waits before asking Slurm again when it cannot reach it to
/// find a job that was never recorded.
const RETRY: Duration = Duration::from_secs(60);

/// Settles a Slurm session whose lock was found free (see the module documentation).
///
/// Errors: the lock cannot be opened or checked, the result cannot be written, or the new
/// watcher cannot be started.
pub fn settle(session: &SessionDir) -> Result<Settled> {
    let path = session.file(session::LOCK);
    // Read and write: the new watcher's exit is then seen as a writer's close, like the
    // first one's (a waiter watching with inotify wakes at once).
    let lock = match crate::store::files::Options::read_write().open(&path) {
        Ok(lock) => lock,
        // Never set up (or its lock deleted): as for a local session.
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return endings::final_result(session).map(Settled::Finished);
        }
        Err(err) => return Err(err).with_context(|| format!("cannot open {}", path.display())),
    };
    match lock.try_lock() {
        Ok(()) => {}
        // A watcher holds it (one that another look just started): wait for it.
        Err(TryLockError::WouldBlock) => return Ok(Settled::Resumed),
        Err(TryLockError::Error(err)) => {
            return Err(err).with_context(|| format!("cannot lock {}", path.display()));
        }
    }
    let result_path = session.file(session::RESULT_TOML);
    if let Some(result) = record::read::<ResultRecord>(&result_path)? {
        return Ok(Settled::Finished(result));
    }
    // The node's ending, unless Slurm must be asked about it (the new watcher does).
    if let Some(ending) = files::read_ending(session).filter(|ending| !ending.needs_slurm()) {
        files::not_queued(session);
        let job = files::read_job(session).ok().flatten();
        let result = outcome::result(session, job.as_ref(), Ending::Node(ending));
        crate::store::stop_request::record_result(session, result)?;
        return record::read::<ResultRecord>(&result_path)?
            .map(Settled::Finished)
            .with_context(|| format!("result vanished ({})", result_path.display()));
    }
    start_watcher(session, lock)?;
    Ok(Settled::Resumed)
}

/// Starts `csa __supervise --executor slurm --resume` in a new session, handing it `lock`
/// (exclusively locked), and records it in `daemon.pid`. For a session whose job was not
/// submitted yet ([`super::deferred`]), the new watcher gets what the first one had: the
/// session's dependencies and queue and its environment (the `sbatch` options it reads
/// from `submit.toml` itself).
fn start_watcher(session: &SessionDir, lock: File) -> Result<()> {
    let record: Option<SessionRecord> = record::read(&session.file(session::SESSION_TOML))?;
    let deferred = match files::read_job(session) {
        Ok(None) => super::deferred::read(session),
        _ => None,
    };
    let admission = match (&deferred, &record) {
        (Some(deferred), Some(record)) => crate::executor::admission_args(
            &record.after,
            record.queue.as_deref(),
            deferred.slots_default,
        ),
        _ => Vec::new(),
    };
    let argv = record.map_or_else(|| vec!["?".to_owned()], |r| r.argv);
    let exe = std::env::current_exe().context("cannot find the csa executable")?;
    let log = crate::store::files::Options::append()
        .create()
        .blocking()
        .open(&session.file(files::WATCH_LOG))
        .with_context(|| format!("cannot open {}", session.file(files::WATCH_LOG).display()))?;
    // The gone watcher, for the note of the takeover.
    let before = crate::store::files::read_to_string(&session.file(session::DAEMON_PID), 64)
        .ok()
        .and_then(|line| line.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned());
    let mut note_log = log.try_clone().ok();
    sys::set_close_on_exec(&lock, false).context("cannot pass the session lock on")?;
    // On a descriptor, not in the watcher's argv, where every local user could read it.
    let argv: Vec<std::ffi::OsString> = argv.into_iter().map(Into::into).collect();
    let job_argv = sys::argv_file(&argv).context("cannot pass the job's command line on")?;
    sys::set_close_on_exec(&job_argv, false).context("cannot pass the job's command line on")?;
    let mut command = Command::new(&exe);
    command
        .arg("__supervise")
        .arg("--session-id")
        .arg(session.id_string())
        .arg("--session-dir")
        .arg(&session.path)
        .arg("--lock-fd")
        .arg(lock.as_raw_fd().to_string())
        .arg("--executor")
        .arg("slurm")
        .arg("--resume")
        .args(&admission)
        .arg("--argv-fd")
        .arg(job_argv.as_raw_fd().to_string())
        .current_dir(&session.path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    if let Some(deferred) = &deferred {
        // The environment the job is submitted with: `csa run`'s, not this look's.
        command
            .env_clear()
            .envs(deferred.env.iter().map(|(k, v)| (k, v)));
    }
    sys::start_in_new_session(&mut command);
    sys::block_signals(&mut command, &crate::interrupt::SURVIVED_SIGNALS);
    let child = command
        .spawn()
        .with_context(|| format!("cannot start a new watcher {}", exe.display()))?;
    drop(lock);
    drop(job_argv);
    let pid = sys::Pid::of_child(&child).context("cannot start a new watcher")?;
    let line = crate::liveness::Identity::of(pid)?.line();
    record::write_reserved(&session.path, session::DAEMON_PID, line.as_bytes(), false)?;
    if let Some(log) = note_log.as_mut() {
        use std::io::Write as _;
        let _ = writeln!(
            log,
            "csa: {} the watcher (PID {before}) was gone without a result; a look at the session started watcher {pid}, which takes over",
            record::timestamp(SystemTime::now())
        );
    }
    Ok(())
}

/// For a resumed watcher: the session's job, from `slurm.toml` or — when the watcher that
/// submitted it died before recording it — from Slurm by its name; or the ending when
/// there is no job to watch (`lost` when Slurm has none by that name either). Neither when
/// the job was never submitted and its submission was deferred ([`super::deferred`]): the
/// new watcher submits it.
pub fn job(session: &SessionDir) -> (Option<JobRecord>, Option<Ending>) {
    if let Ok(Some(job)) = files::read_job(session) {
        return (Some(job), None);
    }
    let slurm = Slurm::from_env();
    let record: Option<SessionRecord> = record::read(&session.file(session::SESSION_TOML))
        .ok()
        .flatten();
    let name = super::identity::job_name(session, record.and_then(|r| r.name).as_deref());
    loop {
        if let Some(ending) = files::read_ending(session) {
            return (None, Some(Ending::Node(ending)));
        }
        match slurm.jobs_named(&name) {
            Ok(ids) => {
                let Some(job_id) = ids.into_iter().next() else {
                    if super::deferred::read(session).is_some() {
                        return (None, None);
                    }
                    return (
                        None,
                        Some(Ending::Unknown(format!(
                            "the watcher vanished before it recorded a Slurm job, and Slurm has no job named {name}"
                        ))),
                    );
                };
                let job = JobRecord {
                    job_id,
                    job_name: name,
                    cluster: None,
                    slurm_conf: slurm.conf(),
                    submitted_at: record::timestamp(SystemTime::now()),
                };
                let _ = record::write_atomic(&session.path, files::JOB_TOML, &job, false);
                return (Some(job), None);
            }
            Err(Unreachable(why)) => {
                crate::note!(
                    "cannot ask Slurm for job {name} (retrying in {} s): {why}",
                    RETRY.as_secs()
                );
                thread::sleep(RETRY);
            }
        }
    }
}
