//! The results a supervisor records for a job that did not end by itself: one that never
//! started (a stop signal came first, or its prompt could not be opened), and the plain
//! constructor for a job that ends now; and the results csa records on a supervisor's
//! behalf once it is gone (`synthetic = true`): `lost`, or how `kill` ended it. Shared by
//! the supervisor, admission, `run --no-daemon`, the Slurm node, stopping and healing.

use std::time::SystemTime;

use anyhow::{Context as _, Result};

use super::{ResultRecord, SessionRecord, Status};
use crate::exit;
use crate::store::record;
use crate::store::session::{self, SessionDir};

/// The result of a job that cannot start because its standard input, the session's
/// `prompt.txt`, cannot be opened: `failure` with exit code 125 (csa's own state is
/// broken) and the reason; the job is never started without its prompt.
pub fn without_stdin(session: &SessionDir, err: &std::io::Error) -> ResultRecord {
    never_started(
        session,
        (Status::Failure, exit::CSA_ERROR, None),
        format!(
            "cannot open the prompt ({}): {}; the job was not started",
            session::PROMPT_TXT,
            exit::io_why(err)
        ),
    )
}

/// The result of a session stopped by `signal` before its job started, while it waited for
/// `waiting_for`: the job is never started.
pub fn not_started(session: &SessionDir, signal: i32, waiting_for: &str) -> ResultRecord {
    let name = signal_hook::low_level::signal_name(signal)
        .map_or_else(|| format!("signal {signal}"), str::to_owned);
    let reason = if waiting_for.is_empty() {
        format!("{name} arrived before the job started; the job was never started")
    } else {
        format!(
            "{name} arrived while the session waited for {waiting_for}; the job was never started"
        )
    };
    never_started(
        session,
        (Status::Signal, exit::from_signal(signal), Some(signal)),
        reason,
    )
}

/// The result of a session whose job never started, ending now: no `started_at`,
/// `duration_ms` 0 (docs/format.md). `outcome` is (status, exit code, signal number);
/// `reason` says why, and that the job never started.
pub fn never_started(
    session: &SessionDir,
    outcome: (Status, u8, Option<i32>),
    reason: String,
) -> ResultRecord {
    let mut result = ResultRecord::never_started(session.id_string(), outcome, SystemTime::now());
    result.reason = Some(reason);
    result
}

/// A result of a job started at `started` that ends now.
pub fn finished(
    session: &SessionDir,
    started: SystemTime,
    status: Status,
    exit_code: u8,
    signal: Option<i32>,
) -> ResultRecord {
    ResultRecord::new(
        session.id_string(),
        (status, exit_code, signal),
        started,
        SystemTime::now(),
    )
}

/// The reason recorded in a reconstructed `lost` result.
pub const LOST_REASON: &str = "supervisor vanished without a result";

/// The result of a session whose supervisor is gone: `result.toml`, or — when there is none
/// — a synthetic `lost` result written now without clobbering a result that appears
/// meanwhile.
///
/// Call only after the supervisor is known to be gone. Errors: a malformed `result.toml`,
/// or a lost result that cannot be written ([`record::is_unrecorded`]): the session is dead
/// and its result cannot be reconstructed; each command decides what that means for it.
pub fn final_result(session: &SessionDir) -> Result<ResultRecord> {
    final_result_or(session, || lost_result(session))
}

/// Like [`final_result`], with `synthetic()` as the result recorded when there is none
/// (e.g. the `signal` result of a supervisor that `session kill` had to SIGKILL).
pub fn final_result_or(
    session: &SessionDir,
    synthetic: impl FnOnce() -> ResultRecord,
) -> Result<ResultRecord> {
    let path = session.file(session::RESULT_TOML);
    if let Some(result) = record::read::<ResultRecord>(&path)? {
        return Ok(result);
    }
    // A result whose rename a crash undid is still the result (`record::adopt`).
    if let Some(result) = record::adopt_reserved_result(session)? {
        return Ok(result);
    }
    if !crate::store::files::is_dir(&session.path) {
        // Not dead: out of sight. Its job may well still run.
        anyhow::bail!(
            "the session's directory is gone — its state root was deleted or the session removed while it ran; csa can no longer see or record it, and its job may still be running ({})",
            session.path.display()
        );
    }
    let lost = synthetic();
    let written = record::write_result(session, &lost)
        .context("the session is dead and its result cannot be recorded")?;
    if written {
        return Ok(lost);
    }
    // Someone else recorded a result first; theirs stands.
    record::read::<ResultRecord>(&path)?
        .with_context(|| format!("result vanished ({})", path.display()))
}

/// A synthetic `lost` result: started when its job started ([`record::job_started_at`]:
/// absent for a job that never got past its wait), finished now.
pub fn lost_result(session: &SessionDir) -> ResultRecord {
    synthetic_result(
        session,
        Status::Lost,
        exit::LOST,
        None,
        LOST_REASON.to_owned(),
    )
}

/// A result written on the supervisor's behalf (`synthetic = true`), finished now: started
/// when its job started ([`record::job_started_at`]), without `started_at` when the job
/// never got past its wait.
pub fn synthetic_result(
    session: &SessionDir,
    status: Status,
    exit_code: u8,
    signal: Option<i32>,
    reason: String,
) -> ResultRecord {
    let now = SystemTime::now();
    let described = record::read::<SessionRecord>(&session.file(session::SESSION_TOML))
        .ok()
        .flatten();
    let outcome = (status, exit_code, signal);
    let started = record::job_started_at(session, described.as_ref()).map(|at| at.min(now));
    let mut result = ResultRecord::ended(session.id_string(), outcome, started, now);
    result.synthetic = true;
    result.reason = Some(reason);
    result
}

/// When the session was created: `created_at` of its `session.toml`, else its directory's
/// modification time; `None` when neither can be read.
pub fn created_at(session: &SessionDir) -> Option<SystemTime> {
    record::read::<SessionRecord>(&session.file(session::SESSION_TOML))
        .ok()
        .flatten()
        .and_then(|s| record::parse_timestamp(&s.created_at))
        .or_else(|| {
            crate::store::files::metadata(&session.path)
                .and_then(|m| m.modified())
                .ok()
        })
}
