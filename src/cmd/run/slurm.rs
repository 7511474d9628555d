//! `csa run --executor slurm`: the supervisor is started as for a local session (it holds
//! the session's lock from the moment the ID is printed), but it submits the job with
//! `sbatch` and watches it ([`crate::executor::slurm`]). `run` waits for the submission —
//! the watcher's first word on a pipe, `submitted <job ID>` or `refused` — so that a job
//! `sbatch` refuses makes `run` itself fail (exit 1, Slurm's message on stderr; the session
//! keeps the `failure` result). Local sessions do not wait for anything: only this path
//! reads the pipe.

use std::fs::{File, OpenOptions};
use std::io::Read as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::time::Duration;

use anyhow::{Context as _, Result};

use super::{Launch, Prepared, announce, spawn_supervisor};
use crate::executor::slurm::client::Slurm;
use crate::executor::slurm::{SUBMITTED, files};
use crate::exit::{CSA_ERROR, Failure};
use crate::liveness;
use crate::record::{self, ResultRecord};
use crate::session;

/// `run`'s exit code when `sbatch` refused the job.
pub const REFUSED: u8 = 1;

/// tmpfs (`TMPFS_MAGIC` in `linux/magic.h`).
const TMPFS_MAGIC: i64 = 0x0102_1994;
/// ramfs (`RAMFS_MAGIC`).
const RAMFS_MAGIC: i64 = 0x8584_58f6;

/// Starts the watcher, waits until it has submitted the job, and prints the session ID.
pub(super) fn start(launch: &Launch<'_>, prepared: Prepared) -> Result<u8> {
    let Launch { args, session, .. } = launch;
    warn_if_node_local(launch);
    if !launch.fleet.gate.is_empty() {
        // It waits for its dependencies or a queue slot first, and is submitted then: a
        // refusal is recorded in its result (run returns at once, as for a local session).
        let prepared = Prepared {
            lock: prepared.lock,
            stdout: watch_log(session)?,
            stderr: watch_log(session)?,
        };
        let pid = spawn_supervisor(launch, prepared).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&session.path);
        })?;
        announce(args, session, pid)?;
        return Ok(0);
    }
    let (reader, writer) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .context("cannot create a pipe for the watcher")?;
    let log_path = session.file(files::WATCH_LOG);
    let prepared = Prepared {
        lock: prepared.lock,
        stdout: File::from(writer),
        stderr: watch_log(session)?,
    };
    let pid = spawn_supervisor(launch, prepared).inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&session.path);
    })?;
    let mut word = String::new();
    let _ = File::from(reader).take(256).read_to_string(&mut word);
    if word.starts_with(SUBMITTED) {
        announce(args, session, pid)?;
        return Ok(0);
    }
    // Refused, or the watcher died: it records the result before it exits.
    let id = session.id_string();
    let _ = liveness::wait_for_supervisor(session, Some(Duration::from_secs(30)));
    match record::read::<ResultRecord>(&session.file(session::RESULT_TOML)) {
        Ok(Some(result)) => Err(Failure::new(
            REFUSED,
            format!(
                "cannot run session {id} on Slurm: {} (recorded: csa session result --session {id})",
                result.reason.unwrap_or_else(|| result.status.as_str().to_owned())
            ),
        )
        .into()),
        _ => Err(Failure::new(
            CSA_ERROR,
            format!(
                "the watcher of session {id} ended before it submitted the job ({})",
                log_path.display()
            ),
        )
        .into()),
    }
}

/// `watch.log`, opened for append: the watcher's stderr.
fn watch_log(session: &crate::session::SessionDir) -> Result<File> {
    let path = session.file(files::WATCH_LOG);
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .map_err(|err| crate::exit::io_failure("cannot create", &err, path.display()))
}

/// Warns when the state root looks node-local (a tmpfs or ramfs) while the cluster has more
/// than one node: a job placed on another node could not reach its session directory.
fn warn_if_node_local(launch: &Launch<'_>) {
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
