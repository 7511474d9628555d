//! `csa __node`: the Slurm batch script's one command, on the compute node. It runs the
//! session's job exactly as the local supervisor does — the job in this process's own
//! process group, its output appended to the spool files, csa's own `--timeout` (SIGTERM,
//! 5 s grace, SIGKILL), the true exit code or signal — and records the ending in
//! `ending.toml`, atomically and exactly once, for the watcher on the submitting machine.
//!
//! While it lives it holds `node.lock` (the watcher blocks on it), and it writes `node.toml`
//! once the job is about to start. It survives the signals Slurm and `scancel` send and
//! relays them to the job as a batch shell would get them ([`super::relay`]), so that it
//! can record how the job ended; it exits with the job's exit code, so Slurm's own record
//! agrees where it can.
//!
//! Refused (exit 125) outside the Slurm job that `slurm.toml` names.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result};

use crate::store::files as store_files;
use ulid::Ulid;

use super::NEVER_STARTED;
use super::files::{self, NodeEnding, NodeRecord};
use super::relay::Relay;
use crate::backoff::{self, Backoff};
use crate::exit::{self, CSA_ERROR, Failure};
use crate::store::record::endings::never_started;
use crate::store::record::{self, SessionRecord, Status, StdinSource};
use crate::store::session::{self, SessionDir};
use crate::store::stop_request as request;

/// How long the node waits for the submitting side to record the job (`slurm.toml`).
const SUBMITTED_LIMIT: Duration = Duration::from_secs(120);

/// The space reserved for `ending.toml` (bytes), several times a record's length.
const ENDING_BYTES: u64 = 4096;

/// Runs `csa __node` for the session `session_id` in `session_dir`: the job, as the local
/// executor runs it (`stop_descendants` stops the session's descendants when its
/// `--timeout` strikes). Returns the job's exit code.
pub fn run(session_dir: &Path, session_id: &str, stop_descendants: fn(&SessionDir)) -> Result<u8> {
    let id = Ulid::from_string(session_id).map_err(|_| refused("bad session ID"))?;
    let session = SessionDir {
        id,
        path: session_dir.to_path_buf(),
    };
    let job_id = std::env::var("SLURM_JOB_ID").map_err(|_| refused("not in a Slurm job"))?;
    crate::store::session::StateRoot::of_session(&session).check()?;
    // Lead a process group of our own, with the job in it, as the local supervisor does
    // (Slurm starts the batch shell as a group leader already).
    let _ = rustix::process::setsid();
    // From now on a signal is relayed to the job (or, before it starts, keeps it from
    // starting) instead of ending this process without an ending.
    let relay = Relay::start(&session);
    wait_until_submitted(&session, &job_id)?;
    let record: SessionRecord =
        record::read(&session.file(session::SESSION_TOML))?.with_context(|| {
            format!(
                "session.toml is missing: is the state root on a filesystem this node shares? ({})",
                session.path.display()
            )
        })?;
    let elsewhere = elsewhere();
    let _lock = if elsewhere {
        None
    } else {
        Some(lock_node(&session)?)
    };
    if files::read_ending(&session).is_some() {
        crate::note!(
            "session {}: the ending is already recorded",
            session.id_string()
        );
        return Ok(exit::SUCCESS);
    }
    // Room for the ending, taken now: a job that fills the file system cannot keep it from
    // being recorded.
    let _ = record::reserve(&session.path, files::ENDING_TOML, ENDING_BYTES);
    let node = NodeRecord {
        host: if elsewhere {
            ELSEWHERE.to_owned()
        } else {
            files::host_name()
        },
        node: std::env::var("SLURMD_NODENAME").ok(),
        pid: std::process::id(),
        job_id,
        started_at: record::timestamp(SystemTime::now()),
    };
    record::write_atomic(&session.path, files::NODE_TOML, &node, false)?;
    // Out-of-memory kills are counted from here: those of the job's memory cgroup.
    let oom_before = crate::sys::cgroup::oom_kills();

    let result = if request::requested(&session).is_some() {
        let signal = request::requested(&session).map_or(15, |request| request.signal);
        never_started(
            &session,
            (Status::Signal, exit::from_signal(signal), Some(signal)),
            format!("stopped as it reached the node; {NEVER_STARTED}"),
        )
    } else {
        match command(&session, &record) {
            Ok(command) => crate::executor::local::run_job(
                &session,
                command,
                crate::executor::Limits::from_ms(record.timeout_ms, record.idle_timeout_ms),
                relay.received(),
                None,
                stop_descendants,
            ),
            Err(why) => never_started(&session, (Status::Failure, 1, None), format!("{why:#}")),
        }
    };
    let exit_code = result.exit_code;
    let ending = NodeEnding {
        result,
        outside_signals: relay.outside(),
        oom_kills: oom_after(oom_before),
    };
    let text = toml::to_string(&ending).context("cannot serialize the ending")?;
    record::write_reserved(&session.path, files::ENDING_TOML, text.as_bytes(), true)?;
    Ok(exit_code)
}

/// Waits until the submitting side has recorded this job in `slurm.toml` — written once
/// every other file of the session is (`csa run` submits while it writes them) — and
/// checks that it names this job. Polls with a pause growing from 10 ms to 250 ms, for at
/// most [`SUBMITTED_LIMIT`] (a network filesystem may show the file late).
///
/// Errors: no record in time (the submitting side died before it finished), or a record of
/// another job (this one must not run the session).
fn wait_until_submitted(session: &SessionDir, job_id: &str) -> Result<()> {
    let pauses = Backoff::new(Duration::from_millis(10), Duration::from_millis(250));
    match backoff::poll(SUBMITTED_LIMIT, pauses, || {
        files::read_job(session).ok().flatten()
    }) {
        Some(job) if job.job_id == job_id => Ok(()),
        Some(job) => Err(refused(&format!(
            "slurm.toml names Slurm job {}, not this job {job_id}",
            job.job_id
        ))
        .into()),
        None => Err(Failure::new(
            CSA_ERROR,
            format!(
                "session {} never recorded this Slurm job {job_id} in slurm.toml within {} s: is the state root on a filesystem this node shares? ({})",
                session.id_string(),
                SUBMITTED_LIMIT.as_secs(),
                session.path.display()
            ),
        )
        .into()),
    }
}

/// Test hook: with `CSA_TEST_NODE_ELSEWHERE=1` in the job's environment, the node acts as
/// one on another host whose filesystem does not carry locks across hosts: it records the
/// host `elsewhere.invalid` and leaves `node.lock` unlocked, so that the suite can exercise
/// the watcher's remote path on a one-node cluster. Not part of the user-facing interface.
fn elsewhere() -> bool {
    std::env::var_os("CSA_TEST_NODE_ELSEWHERE").is_some_and(|v| v == "1")
}

/// The host [`elsewhere`] records.
const ELSEWHERE: &str = "elsewhere.invalid";

fn refused(why: &str) -> Failure {
    Failure::new(
        CSA_ERROR,
        format!("refusing to run: `csa __node` is internal to Slurm sessions ({why})"),
    )
}

/// Creates and locks `node.lock` for the life of this process (the descriptor is
/// close-on-exec: the job does not hold it).
fn lock_node(session: &SessionDir) -> Result<File> {
    let path = session.file(files::NODE_LOCK);
    let lock = store_files::Options::write()
        .create()
        .open(&path)
        .map_err(|err| store_files::failure("cannot create", &err, &path))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(TryLockError::WouldBlock) => Err(Failure::new(
            CSA_ERROR,
            format!("another csa __node runs this session ({})", path.display()),
        )
        .into()),
        Err(TryLockError::Error(err)) => Err(exit::io_failure("cannot lock", &err, path.display())),
    }
}

/// The job's command: argv, working directory, environment, standard input and the spool
/// files. Errors: why the job cannot be started here (a reason for the result).
fn command(session: &SessionDir, record: &SessionRecord) -> Result<Command> {
    let Some((program, args)) = record.argv.split_first() else {
        anyhow::bail!("session.toml has an empty argv");
    };
    let cwd = Path::new(&record.cwd);
    if !cwd.is_dir() {
        return Err(anyhow::anyhow!(
            "the working directory {} does not exist on node {}",
            cwd.display(),
            files::host_name()
        ));
    }
    let spool = |name: &str| {
        let path = session.file(name);
        store_files::Options::append()
            .create()
            .blocking()
            .open(&path)
            .map_err(|err| {
                anyhow::anyhow!("cannot open {}: {}", path.display(), exit::io_why(&err))
            })
    };
    let stdin = match record.stdin {
        StdinSource::Prompt => {
            let path = session.file(session::PROMPT_TXT);
            Stdio::from(
                store_files::Options::read()
                    .blocking()
                    .open(&path)
                    .map_err(|err| {
                        anyhow::anyhow!("cannot open {}: {}", path.display(), exit::io_why(&err))
                    })?,
            )
        }
        StdinSource::Null | StdinSource::Inherit => Stdio::null(),
    };
    let mut command = Command::new(program);
    command.args(args);
    crate::sys::enter_on_exec(&mut command, cwd)
        .map_err(|err| anyhow::anyhow!("cannot use the working directory: {err}"))?;
    // Whatever `sbatch` exported (`--export=NONE` included).
    super::env::apply(&mut command, session, cwd)?;
    command
        .stdin(stdin)
        .stdout(spool(session::STDOUT_LOG)?)
        .stderr(spool(session::STDERR_LOG)?);
    Ok(command)
}

/// How many processes the kernel killed for lack of memory in the job's memory cgroup
/// since `before` (0 when the node has no memory cgroup).
fn oom_after(before: Option<u64>) -> u64 {
    match (before, crate::sys::cgroup::oom_kills()) {
        (Some(before), Some(now)) => now.saturating_sub(before),
        (None, Some(now)) => now,
        _ => 0,
    }
}
