//! `csa queue slots` and `csa queue list`: set and look at queues' slot counts.
//!
//! **`queue list` tidies** ([`crate::heal::queue`]): entries left by waiters that died are
//! removed; `queue slots` writes the slot count.

use std::fmt::Write as _;
use std::io::{self, Write as _};

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::cmd::args::{QueueListArgs, QueueSlotsArgs};
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
    let mut stdout = io::stdout().lock();
    crate::exit::stdout_written(
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush()),
        "the slot count",
    )?;
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
        rows.push(Row {
            name: queue.name,
            slots,
            slots_set,
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
            "{:<width$}  {:>5}  {:>7}  {:>6}\n",
            "NAME", "SLOTS", "RUNNING", "QUEUED"
        );
        for row in &rows {
            let slots = if row.slots_set {
                row.slots.to_string()
            } else {
                format!("{}*", row.slots)
            };
            let _ = writeln!(
                text,
                "{:<width$}  {:>5}  {:>7}  {:>6}",
                row.name, slots, row.running, row.queued
            );
        }
        if rows.iter().any(|row| !row.slots_set) {
            text.push_str("* the default; set it with `csa queue slots NAME N`\n");
        }
        text
    };
    let mut stdout = io::stdout().lock();
    crate::exit::stdout_written(
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush()),
        "the queue list",
    )?;
    Ok(0)
}
