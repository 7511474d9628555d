//! The cells of a session's row and of a queue's line, as `csa status` prints them and
//! `csa top` draws them: one wording for both.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use crate::term::clock;

use super::rows::Line;
use crate::fleet::output::Spools;
use crate::fleet::{Fleet, QueueFigures, Session};
use crate::store::record::{State, Status};

/// The headers of the sessions table.
pub const HEADERS: [&str; 8] = [
    "HANDLE",
    "NAME/COMMAND",
    "QUEUE",
    "STATE",
    "WAITED",
    "RAN",
    "QUIET",
    "LAST OUTPUT / REASON",
];

/// How long a running job may go without output before its QUIET cell stands out: 5
/// minutes.
pub const QUIET_AFTER: Duration = Duration::from_secs(300);

/// The cells of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cells {
    /// The short handle (the shortest unique end of the ID).
    pub handle: String,
    /// The name (or command), indented by its depth, with its tree's roll-up.
    pub name: String,
    /// The queue, `-` for none.
    pub queue: String,
    /// The state (coloured by the caller).
    pub state: State,
    /// Whether it runs or has ended cannot be told ([`crate::fleet::Session::unknown`]):
    /// the STATE cell reads `unknown`.
    pub unknown: bool,
    /// How long it waited before its job started (`-`: it waited for nothing).
    pub waited: String,
    /// How long its job ran, or runs (`-`: not started).
    pub ran: String,
    /// Empty unless the job runs.
    pub quiet: String,
    /// The job has been quiet for [`QUIET_AFTER`] or more.
    pub hushed: bool,
    /// A running job's last line of output; else what it waits for, or why it ended.
    pub detail: String,
}

/// The cells of `line` at `now`; the activity of a running job comes from `spools`.
pub fn cells(fleet: &Fleet, line: &Line, spools: &mut Spools, now: SystemTime) -> Cells {
    let session = &fleet.sessions()[line.at];
    let mut name = line.branch();
    name.push_str(&crate::term::one_line(&title(session), None));
    if let Some(rollup) = line.rollup {
        let mark = if line.open { '▾' } else { '▸' };
        let _ = write!(name, " {mark} {}/{} done", rollup.done, rollup.total);
        if rollup.failed > 0 {
            let _ = write!(name, ", {} failed", rollup.failed);
        }
        if rollup.running > 0 {
            let _ = write!(name, ", {} running", rollup.running);
        }
        if rollup.queued > 0 {
            let _ = write!(name, ", {} queued", rollup.queued);
        }
    }
    let mut cells = Cells {
        handle: session.handle.clone(),
        name,
        queue: session.queue().unwrap_or("-").to_owned(),
        state: session.state,
        unknown: session.unknown,
        waited: if session.is_gated() || session.state == State::Queued {
            clock(session.waited(now))
        } else {
            "-".to_owned()
        },
        ran: session.ran(now).map_or_else(|| "-".to_owned(), clock),
        quiet: String::new(),
        hushed: false,
        detail: String::new(),
    };
    cells.detail = match session.state {
        State::Running if !session.unrecorded && !session.unknown => {
            let activity = spools.activity(&session.dir);
            let since = activity.last_output.max(session.started).unwrap_or(now);
            let quiet = now.duration_since(since).unwrap_or_default();
            cells.quiet = clock(quiet);
            cells.hushed = quiet >= QUIET_AFTER;
            activity.last_line.clone()
        }
        State::Queued => waiting_for(fleet, line.at),
        _ => ended(session),
    };
    if let Some(problem) = &session.problem {
        cells.detail = format!("cannot be read: {problem}");
    }
    cells
}

impl Cells {
    /// The STATE cell: `unknown`, or the state's name.
    pub fn state_name(&self) -> &'static str {
        if self.unknown {
            "unknown"
        } else {
            self.state.as_str()
        }
    }
}

/// What a row calls the session: its `--name`, else its command.
pub fn title(session: &Session) -> String {
    match session.name() {
        Some(name) => name.to_owned(),
        None => crate::cmd::list::describe(session.record.as_ref()),
    }
}

/// What a queued session waits for: `after 4XKQ, 9ZT1` (dependencies that have not
/// succeeded, by handle), `#3 in builds`, or `a slot of builds`.
fn waiting_for(fleet: &Fleet, at: usize) -> String {
    let session = &fleet.sessions()[at];
    let Some(record) = &session.record else {
        return String::new();
    };
    let pending: Vec<String> = record
        .after
        .iter()
        .filter_map(|id| {
            let found = ulid::Ulid::from_string(id)
                .ok()
                .and_then(|id| fleet.find(id));
            match found.map(|dep| &fleet.sessions()[dep]) {
                Some(dep) if dep.state == State::Ended(Status::Success) => None,
                Some(dep) => Some(dep.handle.clone()),
                None => Some(id.clone()),
            }
        })
        .collect();
    if !pending.is_empty() {
        return format!("after {}", pending.join(", "));
    }
    match (&record.queue, fleet.queue_position(at)) {
        (Some(queue), Some(place)) => format!("#{place} in {queue}"),
        (Some(queue), None) => format!("a slot of {queue}"),
        (None, _) => crate::executor::find(record.executor.as_str())
            .and_then(crate::executor::Executor::awaits)
            .unwrap_or_default()
            .to_owned(),
    }
}

/// Why an ended session ended: the first line of its reason, else its exit code when it
/// is not 0.
fn ended(session: &Session) -> String {
    if let Some(reason) = session.reason.as_deref().and_then(|r| r.lines().next()) {
        return reason.to_owned();
    }
    match session.exit_code {
        Some(code) if code != 0 => format!("exit {code}"),
        _ => String::new(),
    }
}

/// The cells of a queue's line: NAME, SLOTS (`*` when the default), RUNNING, WAITING,
/// DONE, FAILED, OLDEST WAIT, THROUGHPUT.
pub fn queue_cells(queue: &QueueFigures) -> [String; 8] {
    let slots = if queue.slots_set {
        queue.slots.to_string()
    } else {
        format!("{}*", queue.slots)
    };
    [
        queue.name.clone(),
        slots,
        queue.running.to_string(),
        queue.waiting.to_string(),
        queue.done.to_string(),
        queue.failed.to_string(),
        queue.oldest_wait().map_or_else(|| "-".to_owned(), clock),
        format!("{:.1}/min", queue.per_minute()),
    ]
}

/// The USE cell of a queue's line: its use bar ([`use_bar`]; `blocks`: block characters),
/// after `paused` while the queue is paused (first, so that a narrow terminal, which cuts
/// the last column, cuts the bar, not the word).
pub fn use_cell(queue: &QueueFigures, blocks: bool) -> String {
    let bar = super::text::use_bar(queue.utilisation(), blocks);
    if queue.paused {
        format!("paused {bar}")
    } else {
        bar
    }
}

/// The headers of the queues table (then the use bar).
pub const QUEUE_HEADERS: [&str; 9] = [
    "QUEUE",
    "SLOTS",
    "RUNNING",
    "WAITING",
    "DONE",
    "FAILED",
    "OLDEST WAIT",
    "THROUGHPUT",
    "USE",
];

/// The counts line: `300 sessions: 25 running, 262 queued, 10 succeeded, 2 failed,
/// 0 skipped, 1 lost`, and `, 1 unknown` when a session's state cannot be told.
pub fn counts_line(counts: &crate::fleet::Counts) -> String {
    let noun = if counts.total == 1 {
        "session"
    } else {
        "sessions"
    };
    let mut line = format!(
        "{} {noun}: {} running, {} queued, {} succeeded, {} failed, {} skipped, {} lost",
        counts.total,
        counts.running,
        counts.queued,
        counts.succeeded,
        counts.failed,
        counts.skipped,
        counts.lost
    );
    if counts.unknown > 0 {
        let _ = write!(line, ", {} unknown", counts.unknown);
    }
    line
}
