//! Stop requests as the Slurm executor uses them: `stop.toml` in the session directory,
//! written by `session kill` before the first signal, read by whoever records the result
//! (docs/format.md). The format and the rule are shared with local sessions.

use std::time::{Duration, SystemTime};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::exit;
use crate::record::{self, ResultRecord, Status};
use crate::session::SessionDir;

/// `stop.toml`: a request to stop the session.
pub const STOP_TOML: &str = "stop.toml";

/// Who asked a session to stop, and how (`stop.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopRequest {
    /// The number of the first signal sent (15 for SIGTERM).
    pub signal: i32,
    /// The grace period before SIGKILL, in milliseconds (0: SIGKILL at once).
    pub grace_ms: u64,
    /// When the request was made (RFC 3339, UTC, milliseconds).
    pub requested_at: String,
    /// Who asked, as the result's reason names it: `csa session kill`.
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

    /// Records the request in the session directory, atomically.
    pub fn write(&self, session: &SessionDir) -> Result<()> {
        record::write_atomic(&session.path, STOP_TOML, self, false).map(drop)
    }
}

/// The session's stop request, if one was made; a malformed one counts as none.
pub fn requested(session: &SessionDir) -> Option<StopRequest> {
    record::read::<StopRequest>(&session.file(STOP_TOML))
        .ok()
        .flatten()
}

/// Records `result` as stopped by `request`: `status = "signal"`, the requested signal
/// (SIGKILL if the job was killed by it), exit code 128 + N, and a reason naming who
/// stopped it and what the job itself returned. A `timeout` result is left alone.
pub fn apply(result: &mut ResultRecord, request: &StopRequest) {
    if result.status == Status::Timeout {
        return;
    }
    let own = match (result.status, result.signal) {
        (Status::Signal, Some(n)) => format!("the job was ended by {}", signal_text(n)),
        (Status::Success | Status::Failure, _) => {
            format!("the job itself exited {}", result.exit_code)
        }
        _ => format!("the job ended with status {}", result.status.as_str()),
    };
    let signal = match result.signal {
        Some(9) => 9,
        _ => request.signal,
    };
    let from_slurm = if result.synthetic {
        " (from Slurm's record)"
    } else {
        ""
    };
    result.status = Status::Signal;
    result.signal = Some(signal);
    result.exit_code = exit::from_signal(signal);
    result.reason = Some(format!(
        "killed by {} ({}); {own}{from_slurm}",
        request.by,
        signal_text(signal)
    ));
}

/// `SIGTERM`, or `signal N` for an unnamed number.
fn signal_text(signal: i32) -> String {
    signal_hook::low_level::signal_name(signal)
        .map_or_else(|| format!("signal {signal}"), str::to_owned)
}
