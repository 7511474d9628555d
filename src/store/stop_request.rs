//! Stop requests: `stop.toml` in a session directory says that csa asked the session to
//! stop, so that whoever records the session's result records it as stopped — whatever
//! the job itself returned after the signal (a job that traps SIGTERM and exits 0 must not
//! read `success`), the way `--timeout` records `timeout`.
//!
//! `session kill` (and the stopping of a session tree) writes the request atomically
//! *before* the first signal; the supervisor, or an executor's watcher, reads it once the
//! job has ended and applies it with [`apply`].

use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::exit;
use crate::store::record::{self, ResultRecord, Status};
use crate::store::session::SessionDir;

/// `stop.toml`: a request to stop the session.
pub const STOP_TOML: &str = "stop.toml";

/// Who asked a session to stop, and how (`stop.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopRequest {
    /// The number of the first signal sent to the job's process group (15 for SIGTERM).
    pub signal: i32,
    /// The grace period before SIGKILL, in milliseconds (0: SIGKILL at once).
    pub grace_ms: u64,
    /// When the request was made (RFC 3339, UTC, milliseconds).
    pub requested_at: String,
    /// Who asked, as the result's reason names it: `csa session kill`, or
    /// `csa session kill of parent session <ID>`.
    pub by: String,
}

impl StopRequest {
    /// A request made now by `by`, sending `signal` first and SIGKILL after `grace`.
    pub fn new(signal: i32, grace: Duration, by: String) -> Self {
        Self {
            signal,
            grace_ms: u64::try_from(grace.as_millis()).unwrap_or(u64::MAX),
            requested_at: record::timestamp(SystemTime::now()),
            by,
        }
    }

    /// Records the request in the session directory (atomically; a later request replaces
    /// an earlier one), into the space `csa run` reserved for it, so that a full file
    /// system cannot keep a session from being stopped. Errors name the path.
    ///
    /// A request the session already holds (same signal, grace period and asker — a tree
    /// stop records it before its signals, and the stop of each level records it again) is
    /// kept as it is: rewriting it would need space the reservation no longer has.
    pub fn write(&self, session: &SessionDir) -> Result<()> {
        if requested(session).is_some_and(|held| held.same_as(self)) {
            return Ok(());
        }
        let text = toml::to_string(self).context("cannot serialize a stop request")?;
        record::write_reserved(&session.path, STOP_TOML, text.as_bytes(), false).map(drop)
    }
}

impl StopRequest {
    /// True when `other` asks for the same stop: the same first signal, grace period and
    /// asker (when it was asked does not matter).
    fn same_as(&self, other: &StopRequest) -> bool {
        self.signal == other.signal && self.grace_ms == other.grace_ms && self.by == other.by
    }
}

/// The session's stop request, if one was made. A malformed or unreadable `stop.toml`
/// counts as none: it cannot change how the job ended.
pub fn requested(session: &SessionDir) -> Option<StopRequest> {
    record::read::<StopRequest>(&session.file(STOP_TOML))
        .ok()
        .flatten()
}

/// Records `result` as stopped by `request`: `status = "signal"`, the requested signal
/// (SIGKILL if the job was killed by it), exit code 128 + N (as POSIX shells report), and a
/// reason that names who stopped it and what the job itself returned. A result that is
/// already `timeout` (the time limit struck first) is left alone.
pub fn apply(result: &mut ResultRecord, request: &StopRequest) {
    if result.status == Status::Timeout {
        return;
    }
    let own = match (result.status, result.signal, &result.reason) {
        // Stopped before the job started: the reason already says so.
        (Status::Signal, _, Some(reason)) if reason.contains("never started") => reason.clone(),
        (Status::Signal, Some(n), _) => format!("the job was ended by {}", signal_text(n)),
        (Status::Success | Status::Failure, _, _) => {
            format!("the job itself exited {}", result.exit_code)
        }
        _ => format!("the job ended with status {}", result.status.as_str()),
    };
    let signal = match result.signal {
        Some(9) => 9,
        _ => request.signal,
    };
    result.status = Status::Signal;
    result.signal = Some(signal);
    result.exit_code = exit::from_signal(signal);
    result.reason = Some(format!(
        "killed by {} ({}); {own}",
        request.by,
        signal_text(signal)
    ));
}

/// `SIGTERM`, or `signal N` for an unnamed number.
fn signal_text(signal: i32) -> String {
    signal_hook::low_level::signal_name(signal)
        .map_or_else(|| format!("signal {signal}"), str::to_owned)
}

/// Writes the session's result exactly once, as stopped when a stop was requested
/// (`stop.toml`). Returns what was recorded.
pub fn record_result(session: &SessionDir, result: ResultRecord) -> Result<ResultRecord> {
    let result = as_stopped(session, result);
    crate::store::record::write_result(session, &result)?;
    Ok(result)
}

/// `result`, as stopped when a stop was requested (`stop.toml`).
pub fn as_stopped(session: &SessionDir, mut result: ResultRecord) -> ResultRecord {
    if let Some(request) = requested(session) {
        apply(&mut result, &request);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(status: Status, exit_code: u8, signal: Option<i32>) -> ResultRecord {
        crate::store::record::sample_result(status, exit_code, signal)
    }

    #[test]
    fn a_stopped_job_reads_as_stopped() {
        let request = StopRequest::new(15, Duration::from_secs(5), "csa session kill".into());
        let mut trapped = ended(Status::Success, 0, None);
        apply(&mut trapped, &request);
        assert_eq!(trapped.status, Status::Signal);
        assert_eq!((trapped.exit_code, trapped.signal), (143, Some(15)));
        let reason = trapped.reason.unwrap();
        assert!(
            reason.contains("csa session kill") && reason.contains("exited 0"),
            "{reason}"
        );

        let mut killed = ended(Status::Signal, 137, Some(9));
        apply(&mut killed, &request);
        assert_eq!((killed.exit_code, killed.signal), (137, Some(9)));

        let mut timed_out = ended(Status::Timeout, 124, None);
        apply(&mut timed_out, &request);
        assert_eq!(timed_out.status, Status::Timeout);
    }
}
