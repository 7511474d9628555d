//! What a look may repair, in one place. Looking at a session ([`crate::liveness`]) only
//! reads; the commands that may change what they look at call these steps by name:
//!
//! - [`settle`]: a session whose supervisor is gone gets its result — a `lost` one
//!   reconstructed and written now when it has none — or, when its job outlives its
//!   supervisor (Slurm), a new watcher that takes the lock over;
//! - [`observe`]: a look that settles such a session rather than report it gone;
//! - [`queue`]: a look at a queue that removes the entries dead waiters left.
//!
//! Which command does which is said in each command's module documentation: `list`,
//! `result`, `wait`, `attach`, `kill` and `clean` look and heal (the contract's "a session
//! whose supervisor is gone without a result is reconstructed on first look"); `queue
//! list` tidies the queues it shows; `logs` heals nothing; `list` and `result` read queues
//! without tidying them.

use anyhow::Result;

use crate::executor::{self, Settled};
use crate::liveness::{self, Observed};
use crate::queue::Queue;
use crate::queue::snapshot::Snapshot;
use crate::store::session::SessionDir;

/// Settles a session whose lock was found free: its result (reconstructing a `lost` one
/// when there is none), or [`Settled::Resumed`] when its job still runs and a new watcher
/// took the lock over — the session's executor decides ([`executor::Executor::resume`]).
/// Waiters loop on `Resumed`.
///
/// Errors: the lock cannot be checked, the result cannot be written
/// ([`crate::store::record::is_unrecorded`]), or a watcher cannot be started.
pub fn settle(session: &SessionDir) -> Result<Settled> {
    executor::of(session)?.resume(session)
}

/// Looks at a session as [`liveness::observe`] does, except that a session whose job may
/// outlive its supervisor (Slurm) is settled rather than reported [`Observed::Gone`]: it
/// reads as running again once a new watcher took it over, never as gone while its job
/// may still run. A local session found gone is left for the caller to reconstruct.
///
/// Errors: as [`liveness::observe`] and [`settle`].
pub fn observe(session: &SessionDir) -> Result<Observed> {
    let observed = liveness::observe(session)?;
    if !matches!(observed, Observed::Gone) {
        return Ok(observed);
    }
    let executor = executor::of(session)?;
    if !executor.outlives_supervisor() {
        return Ok(observed);
    }
    match executor.resume(session)? {
        // A new watcher holds the lock: running, or still queued at the executor.
        Settled::Resumed => Ok(match liveness::observe(session)? {
            Observed::Gone => Observed::Running,
            seen => seen,
        }),
        finished @ Settled::Finished(_) => Ok(finished.observed()),
    }
}

/// True while the session runs or waits, as [`observe`] finds it (so a Slurm session whose
/// watcher died is settled first).
pub fn is_live(session: &SessionDir) -> Result<bool> {
    Ok(matches!(
        observe(session)?,
        Observed::Running | Observed::Queued
    ))
}

/// Looks at `queue` and removes the entries that waiters which died left there
/// ([`crate::queue::snapshot::take_and_tidy`]); returns what it found.
pub fn queue(queue: &Queue) -> Snapshot {
    crate::queue::snapshot::take_and_tidy(queue)
}
