//! Where a queued session stands: what it waits for, and its place in its queue.

use crate::queue::snapshot::Snapshots;
use crate::store::record::{self, ResultRecord, SessionRecord, Status};
use crate::store::session::{self, StateRoot};

/// What a session whose job has not started waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Whereabouts {
    /// Its queue, if it has one.
    pub queue: Option<String>,
    /// Its 1-based place among the sessions waiting for a slot of the queue, once it waits
    /// for one.
    pub position: Option<usize>,
    /// In words: `a slot of queue builds`, or `01J…, 01K… to succeed`.
    pub waiting_for: String,
}

/// Finds where the queued session `id` (described by `record`) stands. `snapshots` keeps
/// one look per queue, for callers that look at many sessions.
pub fn find(
    root: &StateRoot,
    id: &str,
    record: &SessionRecord,
    snapshots: &mut Snapshots,
) -> Whereabouts {
    let position = record
        .queue
        .as_ref()
        .and_then(|name| snapshots.of(root, name).position(id));
    let pending: Vec<&str> = record
        .after
        .iter()
        .filter(|dependency| !succeeded(root, dependency))
        .map(String::as_str)
        .collect();
    // A session past its queue and dependencies may wait for its executor (Slurm: for
    // Slurm to start its job).
    if let Ok(ulid) = ulid::Ulid::from_string(id)
        && let Some(waiting_for) = crate::executor::find(record.executor.as_str())
            .and_then(|executor| executor.look(&root.session(ulid)))
    {
        return Whereabouts {
            queue: None,
            position: None,
            waiting_for,
        };
    }
    let waiting_for = match (&record.queue, position, pending.is_empty()) {
        (_, None, false) => format!("{} to succeed", pending.join(", ")),
        (Some(name), _, _) if crate::queue::Queue::new(root, name).is_paused() => {
            format!("a slot of queue {name}, which is paused (`csa queue resume {name}`)")
        }
        (Some(name), _, _) => format!("a slot of queue {name}"),
        (None, _, _) => "its dependencies".to_owned(),
    };
    Whereabouts {
        queue: record.queue.clone(),
        position,
        waiting_for,
    }
}

/// True when session `id` has a result that says `success`.
fn succeeded(root: &StateRoot, id: &str) -> bool {
    let Ok(id) = ulid::Ulid::from_string(id) else {
        return false;
    };
    let path = root.session(id).file(session::RESULT_TOML);
    matches!(
        record::read::<ResultRecord>(&path),
        Ok(Some(result)) if result.status == Status::Success
    )
}
