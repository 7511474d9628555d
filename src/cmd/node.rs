//! `csa __node`: the Slurm batch script's one command, on the compute node. It runs the
//! session's job exactly as the local supervisor does — the job in this process's own
//! process group, its output appended to the spool files, csa's own `--timeout` (SIGTERM,
//! 5 s grace, SIGKILL), the true exit code or signal — and records the ending in
//! `ending.toml`, atomically and exactly once, for the watcher on the submitting machine.
//!
//! While it lives it holds `node.lock` (the watcher blocks on it), and it writes `node.toml`
//! once the job is about to start. It survives SIGTERM and the other signals `scancel`
//! sends, so that it can record how the job ended; it exits with the job's exit code, so
//! Slurm's own record agrees where it can.
//!
//! Refused (exit 125) outside a Slurm job named after the session.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result};
use ulid::Ulid;

use crate::backoff::{self, Backoff};
use crate::cmd::args::NodeArgs;
use crate::executor::slurm::NEVER_STARTED;
use crate::executor::slurm::files::{self, NodeRecord};
use crate::exit::{self, CSA_ERROR, Failure};
use crate::stop::Scope;
use crate::store::record::{self, ResultRecord, SessionRecord, Status, StdinSource};
use crate::store::session::{self, SessionDir};
use crate::store::stop_request as request;

/// How long the node waits for the submitting side to record the job (`slurm.toml`).
const SUBMITTED_LIMIT: Duration = Duration::from_secs(120);

/// The space reserved for `ending.toml` (bytes), several times a record's length.
const ENDING_BYTES: u64 = 4096;

/// How long the node keeps sending SIGKILL to a stopped job's processes (they may fork meanwhile).
const KILL_LIMIT: Duration = Duration::from_secs(10);

/// Runs `csa __node`. Returns the job's exit code.
pub fn exec(args: &NodeArgs) -> Result<u8> {
    let id = Ulid::from_string(&args.session_id).map_err(|_| refused("bad session ID"))?;
    let session = SessionDir {
        id,
        path: args.session_dir.clone(),
    };
    let job_id = std::env::var("SLURM_JOB_ID").map_err(|_| refused("not in a Slurm job"))?;
    if std::env::var("SLURM_JOB_NAME").ok().as_deref() != Some(files::job_name(&session).as_str()) {
        return Err(refused("the Slurm job is not named after the session").into());
    }
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
    // Lead a process group of our own, with the job in it, as the local supervisor does.
    let _ = rustix::process::setsid();
    let received = crate::interrupt::survive();
    escalate_stops(&session, &received);
    let node = NodeRecord {
        host: if elsewhere {
            ELSEWHERE.to_owned()
        } else {
            files::host_name()
        },
        pid: std::process::id(),
        job_id,
        started_at: record::timestamp(SystemTime::now()),
    };
    record::write_atomic(&session.path, files::NODE_TOML, &node, false)?;

    let result = if request::requested(&session).is_some() {
        let signal = request::requested(&session).map_or(15, |request| request.signal);
        not_started(
            &session,
            Status::Signal,
            exit::from_signal(signal),
            Some(signal),
            format!("stopped as it reached the node; {NEVER_STARTED}"),
        )
    } else {
        match command(&session, &record) {
            Ok(command) => crate::executor::local::run_job(
                &session,
                command,
                record.timeout_ms.map(Duration::from_millis),
                &received,
                None,
                crate::tree::stop_for_timeout,
            ),
            Err(why) => not_started(&session, Status::Failure, 1, None, format!("{why:#}")),
        }
    };
    let text = toml::to_string(&result).context("cannot serialize the ending")?;
    record::write_reserved(&session.path, files::ENDING_TOML, text.as_bytes(), true)?;
    Ok(result.exit_code)
}

/// `session kill` sends its first signal to every process of the job through Slurm
/// (`scancel --signal=SIG --full`), this one included; but Slurm has no immediate SIGKILL
/// (`scancel --signal=KILL` waits the cluster's `KillWait` after a SIGTERM). So csa's own
/// grace period and SIGKILL are applied here, where the processes are: on a signal, when
/// `stop.toml` exists, the job's process group gets the grace period it names (none for a
/// SIGKILL request), then SIGKILL — every member but this process, which records the
/// ending. Signals without a stop request (Slurm's time limit, a plain `scancel`) are left
/// to Slurm.
///
/// The signals come through csa's own handler ([`crate::interrupt`]), the one the job's
/// run already relies on: no second handler on the same signals.
fn escalate_stops(session: &SessionDir, received: &crate::interrupt::Received) {
    let Ok(waker) = crate::interrupt::Interruptible::new(received.clone()) else {
        return;
    };
    let session = session.clone();
    thread::spawn(move || {
        while waker.next_signal().is_ok() {
            let Some(request) = request::requested(&session) else {
                continue;
            };
            let grace = if request.signal == libc::SIGKILL {
                Duration::ZERO
            } else {
                Duration::from_millis(request.grace_ms)
            };
            let me = crate::sys::Pid::current();
            let scope = Scope::of_current_process();
            if !scope.wait_until_empty(Some(me), grace) {
                scope.kill_all(Some(me), KILL_LIMIT);
            }
            return;
        }
    });
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
    let lock = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|err| exit::io_failure("cannot create", &err, path.display()))?;
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
        OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .map_err(|err| {
                anyhow::anyhow!("cannot open {}: {}", path.display(), exit::io_why(&err))
            })
    };
    let stdin = match record.stdin {
        StdinSource::Prompt => {
            let path = session.file(session::PROMPT_TXT);
            Stdio::from(File::open(&path).map_err(|err| {
                anyhow::anyhow!("cannot open {}: {}", path.display(), exit::io_why(&err))
            })?)
        }
        StdinSource::Null | StdinSource::Inherit => Stdio::null(),
    };
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(cwd)
        .env("CSA_SESSION_ID", session.id_string())
        .env("CSA_SESSION_DIR", &session.path)
        .stdin(stdin)
        .stdout(spool(session::STDOUT_LOG)?)
        .stderr(spool(session::STDERR_LOG)?);
    Ok(command)
}

/// The ending of a job that was not started.
fn not_started(
    session: &SessionDir,
    status: Status,
    exit_code: u8,
    signal: Option<i32>,
    reason: String,
) -> ResultRecord {
    let mut result = crate::store::record::endings::finished(
        session,
        SystemTime::now(),
        status,
        exit_code,
        signal,
    );
    result.reason = Some(reason);
    result
}
