//! What `list` and `result` show about a session. One shape for both, documented in
//! `docs/format.md`: the fields of `result.toml` under the same names (`status = "running"`
//! while the supervisor lives, and the fields that only an ended job has left out), plus —
//! in `list` — the fields of `session.toml` that say what the session runs.

use std::time::SystemTime;

use anyhow::Result;
use serde::Serialize;

use crate::liveness::Observed;
use crate::store::record::{self, ResultRecord, SessionRecord, State};
use crate::store::session::{self, SessionDir};

/// A session's result as `result` and `list` print it (TOML or JSON).
#[derive(Debug, Clone, Serialize)]
pub struct ResultView {
    /// The session ID.
    pub id: String,
    /// `running` or `queued` while there is no result, else `status` from `result.toml`.
    pub status: State,
    /// The job's exit code (absent while running).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<u8>,
    /// The signal number, only when the job was ended by a signal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// When the session was queued (RFC 3339, UTC): its `created_at`, for a session whose
    /// job waits for a queue slot, dependencies or Slurm. Not in `result` of an ended
    /// session (which prints `result.toml` as it is); `list` has it for every such session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued_at: Option<String>,
    /// When the job started (RFC 3339, UTC): after its wait, if it waited; absent while it
    /// waits, and for a job that never started.
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
    /// How many processes of the job's process group outlived the job, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leftover_processes: Option<u32>,
    /// The session's queue, if it has one (`result` shows it while the session runs or
    /// waits; `list` always).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// While `queued`: its 1-based place among the sessions waiting for a slot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
    /// While `queued`: what it waits for, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
    /// The executor's own ID of the job: a Slurm session's Slurm job ID, as `squeue` and
    /// `sacct` show it, once submitted; absent for a local session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

impl ResultView {
    /// The view of a running session described by `record` (its `session.toml`, if read):
    /// `started_at` is when its job started ([`record::job_started_at`]), `queued_at` and
    /// `queue` are set when it waited in one.
    pub fn running(session: &SessionDir, record: Option<&SessionRecord>) -> Self {
        let started_at = record::job_started_at(session, record).map(record::timestamp);
        let mut view = Self::live(session, record);
        view.started_at = started_at;
        view
    }

    /// A view with status `running`, `queued_at` and `queue`, no times otherwise.
    fn live(session: &SessionDir, record: Option<&SessionRecord>) -> Self {
        Self {
            id: session.id_string(),
            status: State::Running,
            exit_code: None,
            signal: None,
            queued_at: record
                .filter(|record| record.waits())
                .map(|record| record.created_at.clone()),
            started_at: None,
            finished_at: None,
            duration_ms: None,
            synthetic: None,
            reason: None,
            leftover_processes: None,
            queue: record.and_then(|record| record.queue.clone()),
            position: None,
            waiting_for: None,
            job_id: None,
        }
    }

    /// The view of a queued session: status `queued`, no `started_at` (its job has not
    /// started), and where it stands.
    pub fn queued(
        session: &SessionDir,
        record: Option<&SessionRecord>,
        whereabouts: Option<crate::admission::waiting_for::Whereabouts>,
    ) -> Self {
        let mut view = Self::live(session, record);
        view.status = State::Queued;
        if let Some(found) = whereabouts {
            view.queue = found.queue.or(view.queue);
            view.position = found.position;
            view.waiting_for = Some(found.waiting_for);
        }
        view
    }

    /// The view of an ended session: `result.toml` field for field.
    pub fn finished(result: &ResultRecord) -> Self {
        Self {
            id: result.id.clone(),
            status: result.status.into(),
            exit_code: Some(result.exit_code),
            signal: result.signal,
            queued_at: None,
            started_at: result.started_at.clone(),
            finished_at: Some(result.finished_at.clone()),
            duration_ms: Some(result.duration_ms),
            synthetic: Some(result.synthetic),
            reason: result.reason.clone(),
            leftover_processes: result.leftover_processes,
            queue: None,
            position: None,
            waiting_for: None,
            job_id: None,
        }
    }

    /// The view with the executor's ID of the session's job, when it has one.
    #[must_use]
    pub fn with_job_id(mut self, session: &SessionDir, record: Option<&SessionRecord>) -> Self {
        self.job_id = record
            .and_then(|record| crate::executor::find(record.executor.as_str()))
            .and_then(|executor| executor.job_id(session));
        self
    }
}

/// A row of `csa session list --json`: [`ResultView`] plus what the session runs.
#[derive(Debug, Clone, Serialize)]
pub struct ListEntry {
    /// The fields `result` shows.
    #[serde(flatten)]
    pub result: ResultView,
    /// The session's short handle: the shortest end of its ID that names it alone among
    /// the sessions of the store (what the ID column of the table shows).
    pub handle: String,
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
    /// The session whose job started this one, if any (`parent` in `session.toml`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The sessions that must succeed before its job starts (`--after`, full IDs); `[]` when
    /// it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Vec<String>>,
}

/// What a look at a session found.
#[derive(Debug, Clone)]
pub enum Seen {
    /// The job runs.
    Running,
    /// The job has not started: the session waits for a queue slot or its dependencies.
    Queued,
    /// The session has ended.
    Finished(ResultRecord),
}

/// A session's result, or whether it runs or waits. A session whose supervisor is gone
/// without a result is reconstructed as `lost` (written to disk, as `wait` does; when it
/// cannot be written, shown as lost anyway with a warning on stderr).
/// Never blocks; never changes a live session.
pub fn look(session: &SessionDir) -> Result<Seen> {
    match crate::heal::observe(session)? {
        Observed::Running => Ok(Seen::Running),
        Observed::Queued => Ok(Seen::Queued),
        Observed::Finished(result) => Ok(Seen::Finished(result)),
        Observed::Gone => match crate::store::record::endings::final_result(session) {
            // `result` exits 0 or 125 (docs/exit-codes.md): a lost result that cannot be recorded
            // (a read-only store) is still shown as lost, as `list` shows it.
            Err(err) if record::is_unrecorded(&err) => {
                crate::note!("warning: {err:#}");
                Ok(Seen::Finished(crate::store::record::endings::lost_result(
                    session,
                )))
            }
            other => other.map(Seen::Finished),
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
