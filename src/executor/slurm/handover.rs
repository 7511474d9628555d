//! `csa run --executor slurm`: the Slurm executor's part in creating a session
//! ([`super::super::HandOver`]). The session is created as for a local session (in place,
//! under its ID), and its supervisor — the job's watcher ([`super::watcher::supervise`]) —
//! holds the session's lock from the moment the ID is printed. When the session waits for
//! nothing, `run` itself submits the job with `sbatch` before it starts the watcher, so that a job
//! Slurm refuses makes `run` fail (exit 1, Slurm's message on stderr; the session records
//! the `failure` result). `sbatch` runs while `run` writes the session's files
//! ([`HandOver::begin`]), so `run` costs little more than `sbatch`; the job cannot start
//! early, as `csa __node` waits for `slurm.toml`, written last ([`HandOver::finish`]). With
//! `--queue` or `--after` the watcher submits the job once it may start, from `submit.toml`
//! ([`super::deferred`]), and a refusal is recorded in the result.

use std::ffi::OsString;
use std::fs::File;

use anyhow::{Context as _, Result};

use super::client::{Cancel, Slurm};
use super::settings::SlurmSettings;
use super::{files, submit};
use crate::executor::{Choice, HandOver, NewSession, SupervisorOutput, usage};
use crate::exit::{CSA_ERROR, Failure};
use crate::store::session::SessionDir;

/// tmpfs (`TMPFS_MAGIC` in `linux/magic.h`).
const TMPFS_MAGIC: i64 = 0x0102_1994;
/// ramfs (`RAMFS_MAGIC`).
const RAMFS_MAGIC: i64 = 0x8584_58f6;

/// Checks the options of a Slurm session and decides what to submit: the configured
/// `sbatch` options, then the `--slurm-arg`s (a backstop `--time` first when the job has a
/// time limit: [`super::limit`]), and csa's path on the nodes. Errors: 2 for `--no-daemon`
/// or `--stdin`, or an `sbatch` option that would break one session, one job, or that
/// `sbatch` does not have ([`super::options`]); 125 when csa's own path cannot be found.
pub(super) fn plan(choice: &Choice<'_>, settings: &SlurmSettings) -> Result<SlurmHandOver> {
    if choice.no_daemon {
        return Err(usage(
            "--no-daemon runs the job on this machine; it cannot be combined with the Slurm executor (use --executor local)",
        ));
    }
    if choice.stdin {
        return Err(usage(
            "--stdin passes this terminal's input to the job; a Slurm job runs elsewhere (put the input in a file, or use --executor local)",
        ));
    }
    let csa = match &settings.csa {
        Some(path) => path.clone().into_os_string(),
        None => std::env::current_exe()
            .context("cannot find the csa executable (set [executors.slurm] csa)")?
            .into_os_string(),
    };
    let mut extra: Vec<OsString> = settings.args.iter().map(Into::into).collect();
    let configured = extra.len();
    extra.extend(choice.executor_args.iter().map(Into::into));
    let cluster = Slurm::from_env();
    let given = super::options::check(&extra, configured, &cluster)?;
    // First: a configured or given `--time` comes later and wins.
    if let Some(timeout) = choice.timeout
        && let Some(time) = super::limit::backstop(timeout, &given, &cluster)?
    {
        extra.insert(0, time);
    }
    Ok(SlurmHandOver {
        request: submit::Request {
            args: extra,
            csa,
            env: Vec::new(),
            cwd: None,
            name: None,
        },
        early: None,
    })
}

/// The Slurm executor's part of `csa run` for one session.
pub(super) struct SlurmHandOver {
    /// What to submit: the `sbatch` options and csa's path on the nodes.
    request: submit::Request,
    /// The submission [`HandOver::begin`] started, if it did.
    early: Option<Early>,
}

/// A submission started before the session's files were written. Dropped unanswered (a
/// later step of `run` failed), it cancels the job.
struct Early {
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

impl HandOver for SlurmHandOver {
    /// The program must exist on the node, not necessarily here.
    fn runs_here(&self) -> bool {
        false
    }

    /// `sbatch` is given the session's own path before the watcher starts.
    fn in_place(&self) -> bool {
        true
    }

    /// Starts `sbatch` for a session that waits for nothing (after warning when its state
    /// root looks node-local).
    fn begin(&mut self, new: &NewSession<'_>) {
        if new.waits {
            return;
        }
        warn_if_node_local(new.session);
        let slurm = Slurm::from_env();
        // `sbatch` hands its environment and directory to the job: the job's own.
        let request = submit::Request {
            env: new.env.to_vec(),
            cwd: Some(new.cwd.to_path_buf()),
            name: new.name.map(str::to_owned),
            ..self.request.clone()
        };
        let pending = submit::start(new.session, &request, &slurm);
        self.early = Some(Early {
            pending: Some(pending),
            slurm,
        });
    }

    /// Before the job can start (`slurm.toml` comes last): writes `env.toml` — the node
    /// sets the `--env` pairs itself, whatever `sbatch` exports — and, when the watcher
    /// submits the job later, `submit.toml`, so that it (or a watcher that replaces it)
    /// can. The watcher writes `watch.log`.
    fn prepare(&mut self, new: &NewSession<'_>) -> Result<Option<SupervisorOutput>> {
        let session = new.session;
        if self.early.is_none() {
            warn_if_node_local(session);
        }
        let written = super::env::write(session, new.env).and_then(|()| match &self.early {
            Some(_) => Ok(()),
            None => self.keep_deferred(new),
        });
        written.with_context(|| {
            format!(
                "cannot write the session's files ({})",
                session.path.display()
            )
        })?;
        Ok(Some(SupervisorOutput {
            stdout: watch_log(session)?,
            stderr: watch_log(session)?,
        }))
    }

    /// When `run` submitted the job itself ([`Self::begin`]): waits for `sbatch` and
    /// records the submitted job, or Slurm's refusal. The watcher started meanwhile, and
    /// waits for `slurm.toml` (or the refusal's result) before it watches.
    fn finish(mut self: Box<Self>, new: &NewSession<'_>) -> Result<()> {
        match self.early.take() {
            Some(early) => record_submission(new.session, early),
            None => Ok(()),
        }
    }
}

impl SlurmHandOver {
    /// Keeps what the watcher needs to submit the job later (`submit.toml`): the `sbatch`
    /// options, csa's path on the nodes, the queue's default slot count and the watcher's
    /// environment (this one's, with the job's additions).
    fn keep_deferred(&self, new: &NewSession<'_>) -> Result<()> {
        let mut env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
        for (key, value) in new.job_environment {
            match env.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1.clone_from(value),
                None => env.push((key.clone(), value.clone())),
            }
        }
        let deferred = super::deferred::Deferred::new(
            &self.request.args,
            &self.request.csa,
            new.slots_default,
            env,
        );
        super::deferred::write(new.session, &deferred)
    }
}

/// Waits for `sbatch` and records the job in `slurm.toml`. Errors: Slurm refused it (exit
/// 1; the `failure` result is recorded), or it cannot be recorded (exit 125; the job is
/// cancelled).
fn record_submission(session: &SessionDir, mut early: Early) -> Result<()> {
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
            let result = super::refused(session, &message);
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
        super::forsake(session, &job, &slurm, &format!("{err:#}"));
        return Err(Failure::new(
            CSA_ERROR,
            format!(
                "cannot record Slurm job {} of session {id}; it was cancelled: {err:#}",
                job.job_id
            ),
        )
        .into());
    }
    Ok(())
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
/// see the state root ([`super::sharing`]); and when the state root looks node-local (a
/// tmpfs or ramfs) while the cluster has more than one node: a job placed on another node
/// could not reach its session directory.
fn warn_if_node_local(session: &SessionDir) {
    let root = crate::store::session::StateRoot::of_session(session);
    for warning in super::sharing::warnings(root.path()) {
        crate::note!("{warning}");
    }
    let Ok(stat) = rustix::fs::statfs(&session.path) else {
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
            session.path.display()
        ),
        _ => {}
    }
}
