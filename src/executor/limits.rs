//! A job's time limits: `--timeout` (how long it may run) and `--idle-timeout` (how long it
//! may write nothing to stdout or stderr), and the watch that says when one of them strikes.
//!
//! The idle timeout is checked without polling: the watch sleeps until the moment the job
//! would have been quiet for the whole limit, then looks at the two spool files once (two
//! `statx`, [`crate::store::session::spool_stamps`]). If either changed, its modification
//! time says when the job last wrote, and the watch sleeps until that moment plus the
//! limit. A job that writes all the time costs two `statx` per limit; one that is quiet is
//! stopped within a few milliseconds of its limit. The spool files are in the session
//! directory, so the same watch works where a Slurm job runs (its node appends to them).

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use crate::store::session::{self, SessionDir, SpoolStamp};

/// The time limits of a job; `None` for no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// How long the job may run (`--timeout`, or its tool's `timeout`).
    pub timeout: Option<Duration>,
    /// How long the job may write nothing to `stdout.log` or `stderr.log`
    /// (`--idle-timeout`, or its tool's `idle_timeout`).
    pub idle: Option<Duration>,
}

impl Limits {
    /// The limits `timeout` and `idle`.
    pub fn new(timeout: Option<Duration>, idle: Option<Duration>) -> Self {
        Self { timeout, idle }
    }

    /// The limits recorded in milliseconds (`timeout_ms`, `idle_timeout_ms` in
    /// `session.toml` and on the supervisor's command line).
    pub fn from_ms(timeout_ms: Option<u64>, idle_timeout_ms: Option<u64>) -> Self {
        Self {
            timeout: timeout_ms.map(Duration::from_millis),
            idle: idle_timeout_ms.map(Duration::from_millis),
        }
    }

    /// True when there is no limit at all.
    pub fn is_none(&self) -> bool {
        self.timeout.is_none() && self.idle.is_none()
    }
}

/// `duration` in whole milliseconds, as `timeout_ms` and `idle_timeout_ms` record it
/// (saturating at `u64::MAX`).
pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Which limit struck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Struck {
    /// The job ran for its whole `--timeout`.
    Timeout(Duration),
    /// The job wrote nothing for `quiet` (at least its `--idle-timeout`).
    Idle {
        /// How long it had been quiet when it was stopped.
        quiet: Duration,
    },
}

impl Struck {
    /// The reason a result gives: `timed out after 30s`, or `idle timeout: no output on
    /// stdout or stderr for 15m`.
    pub fn reason(self) -> String {
        match self {
            Self::Timeout(limit) => {
                format!("timed out after {}", humantime::format_duration(limit))
            }
            Self::Idle { quiet } => format!(
                "idle timeout: no output on stdout or stderr for {}",
                humantime::format_duration(rounded(quiet))
            ),
        }
    }
}

/// `duration` in whole seconds, or whole milliseconds below one second.
fn rounded(duration: Duration) -> Duration {
    if duration >= Duration::from_secs(1) {
        Duration::from_secs(duration.as_secs())
    } else {
        Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(0))
    }
}

/// Waits until the job ends (`done` receives or is disconnected: `None`) or one of
/// `limits` strikes (which one). `started` is when the job started; the session's spool
/// files tell its output.
pub fn watch(
    session: &SessionDir,
    limits: Limits,
    started: Instant,
    done: &Receiver<()>,
) -> Option<Struck> {
    let deadline = limits
        .timeout
        .map(|limit| (started.checked_add(limit), limit));
    let mut quiet = limits.idle.map(|limit| Quiet::new(session, limit, started));
    loop {
        let next = [
            deadline.and_then(|(at, _)| at),
            quiet.as_ref().and_then(Quiet::next_look),
        ]
        .into_iter()
        .flatten()
        .min();
        let ended = match next {
            Some(at) => done.recv_timeout(at.saturating_duration_since(Instant::now())),
            // No limit can strike (or none within what an `Instant` can count).
            None => done.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        if ended != Err(RecvTimeoutError::Timeout) {
            return None;
        }
        if let Some((Some(at), limit)) = deadline
            && Instant::now() >= at
        {
            return Some(Struck::Timeout(limit));
        }
        if let Some(quiet) = quiet.as_mut()
            && let Some(struck) = quiet.look(session)
        {
            return Some(struck);
        }
    }
}

/// The idle timeout's view of the spool files.
struct Quiet {
    limit: Duration,
    /// The spool files as last seen.
    seen: [SpoolStamp; 2],
    /// When the job last wrote, as far as the watch knows.
    last_output: Instant,
    /// When the files were last looked at.
    looked: Instant,
}

impl Quiet {
    fn new(session: &SessionDir, limit: Duration, started: Instant) -> Self {
        Self {
            limit,
            seen: session::spool_stamps(session),
            last_output: started,
            looked: started,
        }
    }

    /// When the job will have been quiet for the whole limit, unless it writes first.
    fn next_look(&self) -> Option<Instant> {
        self.last_output.checked_add(self.limit)
    }

    /// Looks at the spool files: the idle timeout strikes when neither changed and the job
    /// has been quiet for the limit.
    fn look(&mut self, session: &SessionDir) -> Option<Struck> {
        let now = Instant::now();
        let stamps = session::spool_stamps(session);
        if stamps != self.seen {
            // It wrote since the last look: when, its modification time says (kept between
            // the last look and now, whatever the clocks of a network file system say).
            let wall = SystemTime::now();
            let written = stamps
                .iter()
                .flatten()
                .map(|stamp| {
                    let ago = wall.duration_since(stamp.modified).unwrap_or_default();
                    now.checked_sub(ago).unwrap_or(self.looked)
                })
                .max()
                .unwrap_or(now);
            self.last_output = written.clamp(self.looked, now);
            self.seen = stamps;
        }
        self.looked = now;
        let quiet = now.saturating_duration_since(self.last_output);
        (quiet >= self.limit).then_some(Struck::Idle { quiet })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_say_which_limit_and_how_long() {
        let secs = Duration::from_secs;
        assert_eq!(Struck::Timeout(secs(30)).reason(), "timed out after 30s");
        let idle = Struck::Idle {
            quiet: Duration::from_millis(900_004),
        };
        assert_eq!(
            idle.reason(),
            "idle timeout: no output on stdout or stderr for 15m"
        );
        let short = Struck::Idle {
            quiet: Duration::from_micros(250_300),
        };
        assert!(short.reason().ends_with("for 250ms"), "{}", short.reason());
    }

    #[test]
    fn no_limit_waits_for_the_end_only() {
        let dir = tempfile::tempdir().unwrap();
        let session = SessionDir::sample(dir.path());
        let (tx, rx) = std::sync::mpsc::channel();
        drop(tx);
        assert_eq!(
            watch(&session, Limits::default(), Instant::now(), &rx),
            None
        );
    }

    #[test]
    fn a_quiet_job_is_idle_and_a_writing_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let session = SessionDir::sample(dir.path());
        let limits = Limits {
            timeout: None,
            idle: Some(Duration::from_millis(200)),
        };
        let (_tx, rx) = std::sync::mpsc::channel();
        let started = Instant::now();
        let struck = watch(&session, limits, started, &rx);
        assert!(
            matches!(struck, Some(Struck::Idle { quiet }) if quiet >= Duration::from_millis(200)),
            "{struck:?}"
        );
        assert!(started.elapsed() >= Duration::from_millis(200));
        // A file that changes between looks moves the end of the quiet period.
        let mut quiet = Quiet::new(&session, Duration::from_secs(3600), Instant::now());
        std::fs::write(session.file(session::STDOUT_LOG), b"x").unwrap();
        assert_eq!(quiet.look(&session), None);
        assert!(quiet.next_look().unwrap() > Instant::now() + Duration::from_secs(3000));
    }
}
