//! `csa run --executor slurm`. The session is created as for a local session, and its
//! supervisor — the job's watcher ([`crate::executor::slurm`]) — holds the session's lock
//! from the moment the ID is printed. When the session waits for nothing, `run` itself
//! submits the job with `sbatch` before it starts the watcher, so that a job Slurm refuses
//! makes `run` fail (exit 1, Slurm's message on stderr; the session records the `failure`
//! result). `sbatch` runs while `run` writes the session's files, so `run` costs little
//! more than `sbatch`; the job cannot start early, as `csa __node` waits for `slurm.toml`,
//! written last. With `--queue` or `--after` the watcher submits the job once it may start,
//! and a refusal is recorded in the result.

use std::fs::File;

use anyhow::Result;

use super::{Launch, Prepared, spawn_supervisor};
use crate::executor::slurm::client::{Cancel, Slurm};
use crate::executor::slurm::{self, files, submit};
use crate::exit::{CSA_ERROR, Failure};
use crate::store::session::SessionDir;

/// tmpfs (`TMPFS_MAGIC` in `linux/magic.h`).
const TMPFS_MAGIC: i64 = 0x0102_1994;
/// ramfs (`RAMFS_MAGIC`).
const RAMFS_MAGIC: i64 = 0x8584_58f6;

/// A submission started before the session's files were written. Dropped unanswered (a
/// later step of `run` failed), it cancels the job.
pub(super) struct Early {
    pending: Option<Result<submit::Pending>>,
    slurm: Slurm,
}

impl Drop for Early {
    fn drop(&mut self) {
        if let Some(Ok(pending)) = self.pending.take()
            && let Ok(job) = pending.answer()
        {
            let _ = self.slurm.cancel(&job.job_id, Cancel::Plain);
        }
    }
}

/// Starts `sbatch` for a Slurm session that waits for nothing (after warning when its state
/// root looks node-local); `None` for other sessions.
pub(super) fn submit_early(launch: &Launch<'_>) -> Option<Early> {
    let request = launch.plan.slurm.as_ref()?;
    if !launch.fleet.admission.is_empty() || launch.args.no_daemon {
        return None;
    }
    warn_if_node_local(launch);
    let slurm = Slurm::from_env();
    // `sbatch` hands its environment and directory to the job: the job's own.
    let request = submit::Request {
        env: launch.args.env.clone(),
        cwd: Some(launch.cwd.clone()),
        name: launch.args.name.clone(),
        ..request.clone()
    };
    let pending = submit::start(&launch.session, &request, &slurm);
    Some(Early {
        pending: Some(pending),
        slurm,
    })
}

/// Starts the watcher and — when `run` submits the job itself (`early`) — records the
/// submitted job or Slurm's refusal. Returns the watcher's PID. The watcher starts while
/// `sbatch` runs, and waits for `slurm.toml` (or the refusal's result) before it watches.
pub(super) fn start(
    launch: &Launch<'_>,
    prepared: Prepared,
    early: Option<Early>,
) -> Result<crate::sys::Pid> {
    let Launch { args, session, .. } = launch;
    if early.is_none() {
        warn_if_node_local(launch);
    }
    // Before the job can start (`slurm.toml` comes last): the node sets the `--env` pairs
    // itself, whatever `sbatch` exports; and a watcher that submits the job later can be
    // replaced before it did.
    let written = slurm::env::write(session, &args.env).and_then(|()| match &early {
        Some(_) => Ok(()),
        None => keep_deferred(launch),
    });
    if let Err(err) = written {
        let _ = crate::store::files::remove_dir_all(&session.path);
        return Err(err.context(format!(
            "cannot write the session's files ({})",
            session.path.display()
        )));
    }
    let prepared = Prepared {
        lock: prepared.lock,
        stdout: watch_log(session)?,
        stderr: watch_log(session)?,
    };
    // On failure `early`, dropped, cancels the job it submitted.
    let pid = spawn_supervisor(launch, prepared).inspect_err(|_| {
        let _ = crate::store::files::remove_dir_all(&session.path);
    })?;
    if let Some(early) = early {
        record_submission(launch, early)?;
    }
    Ok(pid)
}

/// Keeps what the watcher needs to submit the job later (`submit.toml`): the `sbatch`
/// options, csa's path on the nodes, the queue's default slot count and the watcher's
/// environment (this one's, with the job's additions).
fn keep_deferred(launch: &Launch<'_>) -> Result<()> {
    let Some(request) = &launch.plan.slurm else {
        return Ok(());
    };
    let mut env: Vec<(std::ffi::OsString, std::ffi::OsString)> = std::env::vars_os().collect();
    for (key, value) in super::job_environment(launch) {
        match env.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => env.push((key, value)),
        }
    }
    let deferred = slurm::deferred::Deferred::new(
        &request.args,
        &request.csa,
        launch.fleet.admission.slots_default,
        env,
    );
    slurm::deferred::write(&launch.session, &deferred)
}

/// Waits for `sbatch` and records the job in `slurm.toml`. Errors: Slurm refused it (exit
/// 1; the `failure` result is recorded), or it cannot be recorded (exit 125; the job is
/// cancelled).
fn record_submission(launch: &Launch<'_>, mut early: Early) -> Result<(files::JobRecord, Slurm)> {
    let session = &launch.session;
    let id = session.id_string();
    let answer = match early.pending.take() {
        Some(Ok(pending)) => pending.answer(),
        Some(Err(why)) => Err(why),
        None => Err(anyhow::anyhow!("no submission was started")),
    };
    let slurm = early.slurm.clone();
    let job = match answer {
        Ok(job) => job,
        Err(message) => {
            let message = format!("{message:#}");
            let result = slurm::refused(session, &message);
            crate::store::stop_request::record_result(session, result)?;
            return Err(Failure::new(
                crate::exit::SLURM_REFUSED,
                format!(
                    "cannot run session {id} on Slurm: sbatch refused the job: {message} (recorded: csa session result --session {id})"
                ),
            )
            .into());
        }
    };
    if let Err(err) = files::record_job(session, &job) {
        slurm::forsake(session, &job, &slurm, &format!("{err:#}"));
        return Err(Failure::new(
            CSA_ERROR,
            format!(
                "cannot record Slurm job {} of session {id}; it was cancelled: {err:#}",
                job.job_id
            ),
        )
        .into());
    }
    Ok((job, slurm))
}

/// `watch.log`, opened for append: the watcher's stdout and stderr.
fn watch_log(session: &SessionDir) -> Result<File> {
    let path = session.file(files::WATCH_LOG);
    crate::store::files::Options::append()
        .create()
        .blocking()
        .open(&path)
        .map_err(|err| crate::store::files::failure("cannot create", &err, &path))
}

/// Warns about each node a job of this state root could not start on, because it does not
/// see the state root ([`slurm::sharing`]); and when the state root looks node-local (a
/// tmpfs or ramfs) while the cluster has more than one node: a job placed on another node
/// could not reach its session directory.
fn warn_if_node_local(launch: &Launch<'_>) {
    let root = crate::store::session::StateRoot::of_session(&launch.session);
    for warning in slurm::sharing::warnings(root.path()) {
        crate::note!("{warning}");
    }
    let Ok(stat) = rustix::fs::statfs(&launch.session.path) else {
        return;
    };
    #[allow(clippy::unnecessary_cast, clippy::cast_lossless)]
    let kind = stat.f_type as i64;
    if kind != TMPFS_MAGIC && kind != RAMFS_MAGIC {
        return;
    }
    match Slurm::from_env().node_count() {
        Some(nodes) if nodes > 1 => crate::note!(
            "warning: the state root is on a tmpfs, which the other {} nodes of the cluster do not see; a job placed there cannot start (set CSA_STATE_DIR to a shared filesystem) ({})",
            nodes - 1,
            launch.session.path.display()
        ),
        _ => {}
    }
}
