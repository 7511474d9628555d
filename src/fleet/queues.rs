//! Per-queue figures: slots, running, waiting, done, failed, oldest wait, throughput.
//!
//! Running and waiting come from the queue itself ([`snapshot::look`], which only looks):
//! slots held, and live waiters' entries. The rest comes from the sessions of the queue.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::Session;
use crate::queue::{self, snapshot};
use crate::store::record::{State, Status};
use crate::store::session::StateRoot;
use crate::tool::config::Config;

/// The window over which [`QueueFigures::per_minute`] counts ended jobs: 10 minutes.
pub const THROUGHPUT_WINDOW: Duration = Duration::from_secs(600);

/// The last look at each queue directory, by name.
#[derive(Debug, Default)]
pub(super) struct Censuses {
    queues: BTreeMap<String, Looked>,
}

#[derive(Debug)]
struct Looked {
    census: snapshot::Snapshot,
    /// The slot count set with `csa queue slots`; `None` when none is set, or it is
    /// malformed.
    slots: Option<u32>,
    /// The queue is paused (`csa queue pause`).
    paused: bool,
}

impl Censuses {
    /// Looks at every queue of `root` again.
    pub(super) fn refresh(&mut self, root: &StateRoot) {
        self.queues = queue::all(root)
            .into_iter()
            .map(|queue| {
                let looked = Looked {
                    census: snapshot::take(&queue),
                    slots: queue.set_slots().ok().flatten(),
                    paused: queue.is_paused(),
                };
                (queue.name, looked)
            })
            .collect();
    }
}

impl Censuses {
    /// The 1-based place of session `id` among the waiters of queue `name`, if it waits.
    pub(super) fn position(&self, name: &str, id: &str) -> Option<usize> {
        self.queues.get(name)?.census.position(id)
    }
}

/// What the view shows of one queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueFigures {
    /// The queue's name.
    pub name: String,
    /// Its slot count: set with `csa queue slots`, else the configured default.
    pub slots: u32,
    /// True when the slot count was set with `csa queue slots` / `run --slots`.
    pub slots_set: bool,
    /// True while the queue is paused (`csa queue pause`): its waiting sessions start no
    /// job until `csa queue resume`.
    pub paused: bool,
    /// Slots held: sessions of the queue whose job runs.
    pub running: usize,
    /// Sessions waiting for a slot (live waiters only).
    pub waiting: usize,
    /// Sessions of the queue that ended with `success`.
    pub done: usize,
    /// Sessions of the queue that ended otherwise (`failure`, `signal`, `timeout`,
    /// `lost`, `skipped`).
    pub failed: usize,
    /// How long the longest-waiting queued session of the queue has waited, in ms.
    pub oldest_wait_ms: Option<u64>,
    /// Jobs of the queue that ended in the last [`THROUGHPUT_WINDOW`].
    pub ended_recently: usize,
}

impl QueueFigures {
    /// Jobs ended per minute, over the last [`THROUGHPUT_WINDOW`].
    pub fn per_minute(&self) -> f64 {
        let minutes = THROUGHPUT_WINDOW.as_secs_f64() / 60.0;
        f64::from(u32::try_from(self.ended_recently).unwrap_or(u32::MAX)) / minutes
    }

    /// Slots held per slot, 0.0 to 1.0 (more than 1.0 right after the slot count was
    /// lowered, while the jobs above it still run).
    pub fn utilisation(&self) -> f64 {
        let running = f64::from(u32::try_from(self.running).unwrap_or(u32::MAX));
        running / f64::from(self.slots.max(1))
    }

    /// How long the oldest waiter has waited.
    pub fn oldest_wait(&self) -> Option<Duration> {
        self.oldest_wait_ms.map(Duration::from_millis)
    }
}

/// The figures of every queue directory of the store and every queue a session names,
/// sorted by name, at `now`.
pub(super) fn figures(
    censuses: &Censuses,
    config: &Config,
    sessions: &[Session],
    now: SystemTime,
) -> Vec<QueueFigures> {
    let mut figures: BTreeMap<&str, QueueFigures> = BTreeMap::new();
    let blank = |name: &str| QueueFigures {
        name: name.to_owned(),
        slots: config.default_slots(name),
        slots_set: false,
        paused: false,
        running: 0,
        waiting: 0,
        done: 0,
        failed: 0,
        oldest_wait_ms: None,
        ended_recently: 0,
    };
    for (name, looked) in &censuses.queues {
        let mut queue = blank(name);
        if let Some(slots) = looked.slots {
            queue.slots = slots;
            queue.slots_set = true;
        }
        queue.paused = looked.paused;
        queue.running = looked.census.running;
        queue.waiting = looked.census.waiting.len();
        figures.insert(name, queue);
    }
    let since = now.checked_sub(THROUGHPUT_WINDOW);
    for session in sessions {
        let Some(name) = session.queue() else {
            continue;
        };
        let queue = figures.entry(name).or_insert_with(|| blank(name));
        match session.state {
            State::Running => {}
            State::Queued => {
                let waited = u64::try_from(session.waited(now).as_millis()).unwrap_or(u64::MAX);
                queue.oldest_wait_ms = queue.oldest_wait_ms.max(Some(waited));
            }
            State::Ended(Status::Success) => queue.done += 1,
            State::Ended(_) => queue.failed += 1,
        }
        let recent = session
            .finished
            .is_some_and(|finished| since.is_none_or(|since| finished >= since));
        if recent && session.started.is_some() {
            queue.ended_recently += 1;
        }
    }
    figures.into_values().collect()
}
