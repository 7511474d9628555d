//! A session's true times (docs/format.md, "Times"): when it was created (and so queued,
//! when its job waits for something), when its job started — after its wait, not when the
//! session was created — and when it ended; how long it waited and how long its job ran.
//! One reading for `session list`, `show` and `result`.

use std::time::{Duration, SystemTime};

use super::{ResultRecord, SessionRecord};
use crate::store::session::SessionDir;

/// When things happened to one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    /// When the session was created: `created_at` of its `session.toml`, else the time in
    /// its ID (millisecond precision).
    pub created: SystemTime,
    /// True when its job waits (or waited) for something before it starts: a queue slot,
    /// dependencies or Slurm ([`SessionRecord::waits`]). It was queued when it was created.
    pub waits: bool,
    /// When its job started; `None` while it waits, and for a job that never started.
    pub started: Option<SystemTime>,
    /// When it ended (its result's `finished_at`); `None` while it has no result.
    pub finished: Option<SystemTime>,
    /// How long its job ran, from its result (`duration_ms`); `None` while it has none.
    pub duration: Option<Duration>,
}

impl Times {
    /// The times of `session`, described by `record` (its `session.toml`, when read) and
    /// `result` (when it has ended). `running`: no result and the job runs (its start is
    /// then read: `started.toml` for a session that waited, else its creation); a session
    /// without a result that is not running waits, and has not started.
    pub fn of(
        session: &SessionDir,
        record: Option<&SessionRecord>,
        result: Option<&ResultRecord>,
        running: bool,
    ) -> Self {
        let created = record
            .and_then(|record| super::parse_timestamp(&record.created_at))
            .unwrap_or_else(|| session.id.datetime());
        let waits = record.is_some_and(SessionRecord::waits);
        let (started, finished, duration) = match result {
            Some(result) => (
                result.started(),
                super::parse_timestamp(&result.finished_at),
                Some(Duration::from_millis(result.duration_ms)),
            ),
            None if running => (super::job_started_at(session, record), None, None),
            None => (None, None, None),
        };
        Self {
            created,
            waits,
            started,
            finished,
            duration,
        }
    }

    /// When it was queued: its creation, for a session whose job waits; else `None`.
    pub fn queued(&self) -> Option<SystemTime> {
        self.waits.then_some(self.created)
    }

    /// How long it waited before its job started — until the start, until its end for a job
    /// that never started, or until `now` while it waits; `None` for a session whose job
    /// waits for nothing.
    pub fn waited(&self, now: SystemTime) -> Option<Duration> {
        if !self.waits {
            return None;
        }
        let until = self.started.or(self.finished).unwrap_or(now);
        Some(until.duration_since(self.created).unwrap_or_default())
    }

    /// How long its job ran (or has been running, up to `now`); `None` when it has not
    /// started (or never did).
    pub fn ran(&self, now: SystemTime) -> Option<Duration> {
        let started = self.started?;
        Some(
            self.duration
                .unwrap_or_else(|| now.duration_since(started).unwrap_or_default()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::record::{Status, sample_result, timestamp};

    fn session() -> SessionDir {
        SessionDir {
            id: ulid::Ulid::from_string("01JD0000000000000000000000").unwrap(),
            path: "/nowhere".into(),
        }
    }

    fn record(created: SystemTime, queue: Option<&str>) -> SessionRecord {
        toml::from_str(&format!(
            "id = \"01JD0000000000000000000000\"\nargv = [\"true\"]\ntool = \"sh\"\ncwd = \"/\"\ncreated_at = \"{}\"\ncsa_version = \"0\"\n{}",
            timestamp(created),
            queue.map_or(String::new(), |q| format!("queue = \"{q}\"\n"))
        ))
        .unwrap()
    }

    #[test]
    fn a_job_that_waited_counts_its_run_from_its_start() {
        let created = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let record = record(created, Some("builds"));
        let mut result = sample_result(Status::Success, 0, None);
        let started = created + Duration::from_secs(8);
        result.started_at = Some(timestamp(started));
        result.finished_at = timestamp(started + Duration::from_secs(3));
        result.duration_ms = 3_000;
        let times = Times::of(&session(), Some(&record), Some(&result), false);
        let now = started + Duration::from_secs(60);
        assert_eq!(times.queued(), Some(created));
        assert_eq!(times.waited(now), Some(Duration::from_secs(8)));
        assert_eq!(times.ran(now), Some(Duration::from_secs(3)));
    }

    #[test]
    fn a_waiting_or_never_started_job_has_no_run() {
        let created = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let record = record(created, Some("builds"));
        let waiting = Times::of(&session(), Some(&record), None, false);
        let now = created + Duration::from_secs(5);
        assert_eq!(waiting.started, None);
        assert_eq!(waiting.waited(now), Some(Duration::from_secs(5)));
        assert_eq!(waiting.ran(now), None);
        let mut skipped = sample_result(Status::Skipped, 1, None);
        skipped.started_at = None;
        skipped.finished_at = timestamp(created + Duration::from_secs(2));
        skipped.duration_ms = 0;
        let ended = Times::of(&session(), Some(&record), Some(&skipped), false);
        assert_eq!(ended.waited(now), Some(Duration::from_secs(2)));
        assert_eq!(ended.ran(now), None);
    }

    #[test]
    fn a_job_that_waits_for_nothing_started_as_it_was_created() {
        let created = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let record = record(created, None);
        let times = Times::of(&session(), Some(&record), None, true);
        let now = created + Duration::from_secs(4);
        assert_eq!(times.started, Some(created));
        assert_eq!(times.waited(now), None);
        assert_eq!(times.ran(now), Some(Duration::from_secs(4)));
    }
}
