//! What `list` and `result` show about a session. One shape for both, documented in
//! `docs/format.md`: the fields of `result.toml` under the same names (`status = "running"`
//! while the supervisor lives, and the fields that only an ended job has left out), plus —
//! in `list` — the fields of `session.toml` that say what the session runs.

use std::time::SystemTime;

use anyhow::Result;
use serde::Serialize;

use crate::liveness::{self, Observed};
use crate::record::{self, ResultRecord, SessionRecord};
use crate::session::{self, SessionDir};

/// The status shown for a session whose supervisor is alive.
pub const RUNNING: &str = "running";

/// A session's result as `result` and `list` print it (TOML or JSON).
#[derive(Debug, Clone, Serialize)]
pub struct ResultView {
    /// The session ID.
    pub id: String,
    /// `running`, or `status` from `result.toml`.
    pub status: &'static str,
    /// The job's exit code (absent while running).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<u8>,
    /// The signal number, only when the job was ended by a signal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// When the job started (RFC 3339, UTC); while running, the session's `created_at`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When the job ended (RFC 3339, UTC; absent while running).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// How long the job ran, in milliseconds (absent while running).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// True when csa wrote the result on the supervisor's behalf (absent while running).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synthetic: Option<bool>,
    /// Human-readable detail from `result.toml`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ResultView {
    /// The view of a running session; `started_at` is its `created_at`.
    pub fn running(session: &SessionDir, started_at: Option<String>) -> Self {
        Self {
            id: session.id_string(),
            status: RUNNING,
            exit_code: None,
            signal: None,
            started_at,
            finished_at: None,
            duration_ms: None,
            synthetic: None,
            reason: None,
        }
    }

    /// The view of an ended session: `result.toml` field for field.
    pub fn finished(result: &ResultRecord) -> Self {
        Self {
            id: result.id.clone(),
            status: result.status.as_str(),
            exit_code: Some(result.exit_code),
            signal: result.signal,
            started_at: Some(result.started_at.clone()),
            finished_at: Some(result.finished_at.clone()),
            duration_ms: Some(result.duration_ms),
            synthetic: Some(result.synthetic),
            reason: result.reason.clone(),
        }
    }
}

/// A row of `csa session list --json`: [`ResultView`] plus what the session runs.
#[derive(Debug, Clone, Serialize)]
pub struct ListEntry {
    #[serde(flatten)]
    pub result: ResultView,
    /// The user's label (`--name`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The tool (`sh`, `exec` for `-- PROGRAM`, or a configured tool).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// What is executed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argv: Option<Vec<String>>,
    /// The job's working directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// When the session was created (RFC 3339, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The session's tags (`--tag`), in the order given; `[]` when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// A session's result, or `None` while it runs. A session whose supervisor is gone
/// without a result is reconstructed as `lost` (written to disk, as `wait` does; when it
/// cannot be written, shown as lost anyway with a warning on stderr).
/// Never blocks; never changes a live session.
pub fn look(session: &SessionDir) -> Result<Option<ResultRecord>> {
    match liveness::observe(session)? {
        Observed::Running => Ok(None),
        Observed::Finished(result) => Ok(Some(result)),
        Observed::Gone => match liveness::final_result(session) {
            // `result` exits 0 or 125 (contract §3): a lost result that cannot be recorded
            // (a read-only store) is still shown as lost, as `list` shows it.
            Err(err) if crate::exit::code_of(&err) == crate::exit::TIMEOUT => {
                crate::note!("warning: {err:#}");
                Ok(Some(liveness::lost_result(session)))
            }
            other => other.map(Some),
        },
    }
}

/// Reads `session.toml`. Errors (exit 125) when it is missing or malformed.
pub fn session_record(session: &SessionDir) -> Result<SessionRecord> {
    let path = session.file(session::SESSION_TOML);
    record::read::<SessionRecord>(&path)?.ok_or_else(|| {
        crate::exit::Failure::new(
            crate::exit::CSA_ERROR,
            format!("missing state file ({})", path.display()),
        )
        .into()
    })
}

/// When the session was created: the time in its ULID (millisecond precision).
pub fn created(session: &SessionDir) -> SystemTime {
    session.id.datetime()
}
