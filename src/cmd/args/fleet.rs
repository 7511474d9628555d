//! The arguments for fleets of sessions: queues with slots and dependencies (`csa run
//! --queue/--after`, `csa queue …`), and how the supervisor learns them.

use clap::{Args, Subcommand};

use crate::values;

/// The examples under `csa queue --help`.
pub const QUEUE_EXAMPLES: &str = "\
A queue runs at most SLOTS of its sessions at once; the others wait, first in, first out.
Examples:
  csa queue slots builds 2
  for t in unit lint docs; do csa run --queue builds \"make $t\"; done
  csa queue list
  csa queue pause builds && csa queue resume builds";

/// The options of `csa run` that place a session in a fleet.
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// Wait for a slot of queue NAME before starting the job (first in, first out)
    #[arg(long, value_name = "NAME", value_parser = values::parse_label, conflicts_with = "no_queue", add = super::session::queue_completer())]
    pub queue: Option<String>,
    /// Start at once, even for a tool that runs in a queue by default
    #[arg(long)]
    pub no_queue: bool,
    /// Set the queue's slot count (as `csa queue slots NAME N`) when submitting
    #[arg(long, value_name = "N", value_parser = crate::queue::parse_slots)]
    pub slots: Option<u32>,
    /// Start the job only after session ID has ended with `success`; otherwise the session
    /// ends as `skipped` without starting it (repeatable; any handle `--session` takes)
    #[arg(long, value_name = "ID", add = super::session::session_completer())]
    pub after: Vec<String>,
    /// Do not record the session that runs this `csa run` as the new session's parent (its
    /// kill and timeout then leave this one running)
    #[arg(long)]
    pub detach_from_parent: bool,
}

/// `csa queue …`.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Set (or, without N, print) a queue's slot count: how many of its sessions run at once
    Slots(QueueSlotsArgs),
    /// List the queues: NAME, SLOTS, RUNNING, QUEUED, and STATE when a queue is paused
    List(QueueListArgs),
    /// Pause a queue: its waiting sessions keep their places and start no job; running
    /// jobs go on
    Pause(QueueNameArgs),
    /// Resume a paused queue: its waiting sessions start as slots allow
    Resume(QueueNameArgs),
    /// Remove a queue (its slot count and pause with it); refused while a session runs in
    /// it or waits for it
    Rm(QueueNameArgs),
}

/// Arguments of `csa queue pause|resume|rm`.
#[derive(Debug, Args)]
pub struct QueueNameArgs {
    /// The queue
    #[arg(value_name = "NAME", value_parser = values::parse_label, add = super::session::queue_completer())]
    pub name: String,
}

/// Arguments of `csa queue slots`.
#[derive(Debug, Args)]
pub struct QueueSlotsArgs {
    /// The queue
    #[arg(value_name = "NAME", value_parser = values::parse_label, add = super::session::queue_completer())]
    pub name: String,
    /// The new slot count, 1 to 1024; takes effect at once for waiting sessions
    #[arg(value_name = "N", value_parser = crate::queue::parse_slots)]
    pub slots: Option<u32>,
}

/// Arguments of `csa queue list`.
#[derive(Debug, Args)]
pub struct QueueListArgs {
    /// Print a JSON array of objects: `name`, `slots`, `slots_set`, `paused`, `running`,
    /// `running_ids`, `queued`, `waiting`
    #[arg(long)]
    pub json: bool,
    /// Also list the queues that are empty and unused: nothing runs or waits in them, they
    /// are not paused, and nothing joined them or set their slots for 7 days
    #[arg(long)]
    pub all: bool,
}

/// What the supervisor waits for before it starts the job (`csa __supervise`).
#[derive(Debug, Args)]
pub struct AdmissionArgs {
    /// The sessions (full IDs) that must end with `success` first
    #[arg(long)]
    pub after: Vec<String>,
    /// The queue to take a slot of
    #[arg(long, value_parser = values::parse_label)]
    pub queue: Option<String>,
    /// The slot count when none was set with `csa queue slots`
    #[arg(long, default_value_t = 1)]
    pub slots_default: u32,
    /// The inherited descriptor of the session's queue entry, locked by `csa run`
    #[arg(long, requires = "queue_seq")]
    pub queue_fd: Option<i32>,
    /// The ticket number of that entry
    #[arg(long, requires = "queue_fd")]
    pub queue_seq: Option<u64>,
}
