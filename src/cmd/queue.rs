//! `csa queue slots`, `list`, `pause`, `resume` and `rm`: set and look at queues' slot
//! counts, hold a queue's waiting sessions back, remove a queue.
//!
//! **`queue list` tidies** ([`crate::heal::queue`]): entries left by waiters that died are
//! removed; `queue slots` writes the slot count.

use std::fmt::Write as _;

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::cmd::args::{QueueListArgs, QueueNameArgs, QueueSlotsArgs};
use crate::queue::{self, Queue};
use crate::store::session::StateRoot;
use crate::tool::config::Config;

/// One row of `csa queue list`.
#[derive(Debug, Serialize)]
struct Row {
    /// The queue's name.
    name: String,
    /// Its slot count: set, or the default.
    slots: u32,
    /// True when set with `csa queue slots` / `run --slots`; else the configured default.
    slots_set: bool,
    /// True while the queue is paused (`csa queue pause`).
    paused: bool,
    /// Sessions of the queue whose job runs (slots held).
    running: usize,
    /// Their IDs (oldest first), as the slot files name them.
    running_ids: Vec<String>,
    /// Sessions waiting for a slot.
    queued: usize,
    /// Their IDs, in the order they will start.
    waiting: Vec<String>,
}

/// Runs `csa queue slots NAME [N]`: sets the slot count (persisted under the state root,
/// taking effect at once for waiting sessions), or prints it. Exit 0; 125 when the state
/// root cannot be written.
pub fn slots(args: &QueueSlotsArgs) -> Result<u8> {
    let queue = Queue::new(&StateRoot::from_env()?, &args.name);
    let text = match args.slots {
        Some(slots) => {
            queue.store_slots(slots)?;
            crate::note!(
                "queue {} now has {}",
                queue.name,
                crate::term::count(u64::from(slots), "slot", "slots")
            );
            return Ok(0);
        }
        None => format!("{}\n", effective_slots(&queue, &config()?)?.0),
    };
    crate::exit::write_stdout(text.as_bytes(), "the slot count")?;
    Ok(0)
}

/// The queue's slot count and whether it was set (else the configured default applies).
fn effective_slots(queue: &Queue, config: &Config) -> Result<(u32, bool)> {
    Ok(match queue.set_slots()? {
        Some(slots) => (slots, true),
        None => (config.default_slots(&queue.name), false),
    })
}

/// The configuration of the current directory, for the default slot counts.
pub fn config() -> Result<Config> {
    let cwd = std::env::current_dir().context("cannot find the current directory")?;
    crate::tool::config::load(&cwd)
}

/// Runs `csa queue list [--json]`: one row per queue. A queue whose slot count file is
/// malformed is skipped with a warning on stderr, as are its files that are (a symbolic
/// link, a FIFO, another user's…). Exit 0.
pub fn list(args: &QueueListArgs) -> Result<u8> {
    let root = StateRoot::from_env()?;
    let config = config()?;
    let mut rows = Vec::new();
    let now = std::time::SystemTime::now();
    for queue in queue::all(&root) {
        let snapshot = crate::heal::queue(&queue);
        for what in &snapshot.malformed {
            crate::note!("queue {}: malformed state file: {what}", queue.name);
        }
        let (slots, slots_set) = match effective_slots(&queue, &config) {
            Ok(found) => found,
            Err(err) => {
                crate::note!("skipping queue {}: {err:#}", queue.name);
                continue;
            }
        };
        let paused = queue.is_paused();
        let idle = snapshot.running == 0 && snapshot.waiting.is_empty() && !paused;
        if idle && !args.all && unused_since(&queue, now).is_some_and(|age| age >= UNUSED) {
            continue;
        }
        rows.push(Row {
            name: queue.name,
            slots,
            slots_set,
            paused,
            running: snapshot.running,
            running_ids: snapshot.running_ids,
            queued: snapshot.waiting.len(),
            waiting: snapshot.waiting,
        });
    }
    let text = if args.json {
        let mut text = serde_json::to_string_pretty(&rows).context("cannot format the queues")?;
        text.push('\n');
        text
    } else {
        let width = rows
            .iter()
            .map(|row| row.name.len())
            .max()
            .unwrap_or(0)
            .max(4);
        let mut text = format!(
            "{:<width$}  {:>5}  {:>7}  {:>6}",
            "NAME", "SLOTS", "RUNNING", "QUEUED"
        );
        text.push_str(if rows.iter().any(|row| row.paused) {
            "  STATE\n"
        } else {
            "\n"
        });
        for row in &rows {
            let slots = if row.slots_set {
                row.slots.to_string()
            } else {
                format!("{}*", row.slots)
            };
            let _ = write!(
                text,
                "{:<width$}  {:>5}  {:>7}  {:>6}",
                row.name, slots, row.running, row.queued
            );
            text.push_str(if row.paused { "  paused\n" } else { "\n" });
        }
        if rows.iter().any(|row| !row.slots_set) {
            text.push_str("* the default; set it with `csa queue slots NAME N`\n");
        }
        text
    };
    crate::exit::write_stdout(text.as_bytes(), "the queue list")?;
    Ok(0)
}

/// How long a queue stays listed after its last use when nothing runs or waits in it (the
/// age `session clean` removes ended sessions at, by default).
const UNUSED: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// How long ago `queue` was last used: its directory changes when a session joins it (its
/// ticket counter is replaced), its slot count is set, or it is paused or resumed. `None`
/// when that cannot be told.
fn unused_since(queue: &Queue, now: std::time::SystemTime) -> Option<std::time::Duration> {
    let modified = crate::store::files::metadata(&queue.path)
        .ok()?
        .modified()
        .ok()?;
    now.duration_since(modified).ok()
}

/// Runs `csa queue pause NAME`. A queue that does not exist yet (nothing used it or set
/// its slots, and no configuration names it) is made, paused, and that is said: pausing a
/// queue before its first session is a way to fill it, but a mistyped name would otherwise
/// pass unseen. Exit 0; 125 when the state root cannot be written.
pub fn pause(args: &QueueNameArgs) -> Result<u8> {
    let queue = Queue::new(&StateRoot::from_env()?, &args.name);
    let exists = crate::store::files::metadata(&queue.path).is_ok_and(|m| m.is_dir())
        || config().is_ok_and(|c| c.queues.iter().any(|q| q.name == queue.name));
    if !exists {
        crate::note!(
            "there was no queue {name}: made it, paused (not the one you meant? `csa queue list` lists the queues, `csa queue rm {name}` removes this one)",
            name = queue.name
        );
    }
    queue::control::pause(&queue)?;
    let waiting = queue::snapshot::take(&queue).waiting.len() as u64;
    crate::note!(
        "queue {} is paused: {} keep their places and start no job until `csa queue resume {}`; running jobs go on",
        queue.name,
        crate::term::count(waiting, "waiting session", "waiting sessions"),
        queue.name
    );
    Ok(0)
}

/// Runs `csa queue resume NAME`. Exit 0 (also when it was not paused, which is said); 125
/// when the state root cannot be written.
pub fn resume(args: &QueueNameArgs) -> Result<u8> {
    let queue = Queue::new(&StateRoot::from_env()?, &args.name);
    if queue::control::resume(&queue)? {
        crate::note!("queue {} is resumed", queue.name);
    } else {
        crate::note!("queue {} was not paused", queue.name);
    }
    Ok(0)
}

/// Runs `csa queue rm NAME`. Exit 0 when removed; 1 when a session runs in it or waits for
/// it (said, with what to do); 125 for no such queue or a state root that cannot be
/// written.
pub fn remove(args: &QueueNameArgs) -> Result<u8> {
    use queue::control::Removal;
    let queue = Queue::new(&StateRoot::from_env()?, &args.name);
    match queue::control::remove(&queue)? {
        Removal::Removed => {
            crate::note!("removed queue {}", queue.name);
            Ok(0)
        }
        Removal::Missing => Err(crate::exit::Failure::new(
            crate::exit::CSA_ERROR,
            format!(
                "no queue {}: `csa queue list --all` lists them ({})",
                queue.name,
                queue.path.display()
            ),
        )
        .into()),
        Removal::Live { running, waiting } => {
            let waiting = if waiting.is_empty() {
                "none waiting".to_owned()
            } else {
                format!("{} waiting ({})", waiting.len(), waiting.join(", "))
            };
            crate::note!(
                "not removing queue {}: {} running, {waiting}; let them end or stop them (`csa session kill`) first",
                queue.name,
                crate::term::count(running as u64, "session", "sessions"),
            );
            Ok(crate::exit::QUEUE_BUSY)
        }
    }
}
