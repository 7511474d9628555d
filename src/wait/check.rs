//! One look at a session: has it ended, is its lock held, or is `csa run` still setting
//! it up?

use std::time::{Duration, SystemTime};

use anyhow::Result;

use crate::executor::Settled;
use crate::liveness;
use crate::store::files;
use crate::store::record::{self, ResultRecord};
use crate::store::session::{self, SessionDir};

/// What one look at a session found.
pub(super) enum Checked {
    /// It has ended (or its result cannot be known).
    Ended(Result<ResultRecord>),
    /// Its lock is held: the supervisor lives.
    Held,
    /// An executor started a new watcher, which holds the lock now (Slurm,
    /// [`Settled::Resumed`]); a `flock` thread waits for it, in case its close is not seen.
    Resumed,
    /// `csa run` is still setting it up: no lock yet.
    Starting,
}

/// How long after its creation a session directory without `lock` counts as being set up
/// by `csa run`. `run` creates `lock` first, already locked, within microseconds of the
/// directory; a directory still without one after this is what a `run` killed during
/// set-up left behind, and is recorded `lost`.
pub const SETUP_GRACE: Duration = Duration::from_secs(2);

/// True while the session is younger than [`SETUP_GRACE`] (by the time in its ULID; a
/// time in the future, after the clock went back, counts as young).
fn young(session: &SessionDir) -> bool {
    SystemTime::now()
        .duration_since(session.id.datetime())
        .map_or(true, |age| age < SETUP_GRACE)
}

/// Looks at a session once, without blocking; see [`Checked`].
///
/// A `result.toml` ends the session at once: it is written exactly once, atomically, after
/// the job ended, just before the supervisor exits (the session is `Finished` for
/// [`liveness::observe`] too). Otherwise the lock decides. `csa run` creates `lock` before
/// anything else in the directory, already locked (it renames it into place), so a `lock`
/// that exists and is free means its holder is gone. Its existence is checked *before* the
/// lock is tried: a lock that appears in between is found held.
pub(super) fn check(session: &SessionDir) -> Checked {
    match record::read::<ResultRecord>(&session.file(session::RESULT_TOML)) {
        Ok(Some(result)) => return Checked::Ended(Ok(result)),
        Ok(None) => {}
        Err(err) => return Checked::Ended(Err(err)),
    }
    let had_lock = files::exists(&session.file(session::LOCK));
    match liveness::supervisor_alive(session) {
        Ok(true) => Checked::Held,
        Ok(false) if !had_lock && young(session) && files::is_dir(&session.path) => {
            Checked::Starting
        }
        Ok(false) => match crate::heal::settle(session) {
            Ok(Settled::Finished(result)) => Checked::Ended(Ok(result)),
            Ok(Settled::Resumed) => Checked::Resumed,
            Err(err) => Checked::Ended(Err(err)),
        },
        Err(err) => Checked::Ended(Err(err)),
    }
}
