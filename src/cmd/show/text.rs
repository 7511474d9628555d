//! `csa show` for people: one `label  value` line per fact, the facts that do not apply left
//! out.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::{Relative, Shown};
use crate::store::record::{self, State};
use crate::term;

/// The width of the label column.
const LABEL: usize = 12;

/// `shown` as lines of text; ages are counted from `now`.
pub(super) fn render(shown: &Shown, now: SystemTime) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(out, "{label:<LABEL$}  {value}");
    };
    let result = &shown.result;
    line("session", &format!("{} ({})", result.id, shown.handle));
    if let Some(name) = &shown.name {
        line("name", name);
    }
    line("status", &status(shown));
    if let Some(reason) = &result.reason {
        line("reason", reason);
    }
    if let Some(waiting) = &result.waiting_for {
        line("waiting", &format!("for {waiting}"));
    }
    if let Some(command) = &shown.command {
        line("command", &term::one_line(command.trim_end(), None));
    }
    if let Some(tool) = &shown.tool {
        line("tool", tool);
    }
    if let Some(cwd) = &shown.cwd {
        line("cwd", cwd);
    }
    for (n, pair) in shown.env.iter().enumerate() {
        line(if n == 0 { "env" } else { "" }, pair);
    }
    if !shown.tags.is_empty() {
        line("tags", &shown.tags.join(", "));
    }
    if let Some(queue) = &result.queue {
        let place = result
            .position
            .map_or(String::new(), |at| format!(" (#{at} of those waiting)"));
        line("queue", &format!("{queue}{place}"));
    }
    if let Some(parent) = &shown.parent {
        line("parent", &relative(parent));
    }
    for (n, child) in shown.children.iter().enumerate() {
        line(if n == 0 { "children" } else { "" }, &relative(child));
    }
    for (n, dependency) in shown.after.iter().enumerate() {
        line(if n == 0 { "after" } else { "" }, &relative(dependency));
    }
    times(shown, now, &mut line);
    if let Some(ms) = shown.timeout_ms {
        line("timeout", &term::duration(Duration::from_millis(ms)));
    }
    let executor = match &result.job_id {
        Some(job) => format!("{} (job {job})", shown.executor),
        None => shown.executor.clone(),
    };
    line("executor", &executor);
    if let Some(pid) = shown.pid {
        line(
            "pid",
            &format!("{pid} (the supervisor; the job's process group)"),
        );
    }
    line("dir", &shown.dir);
    for file in &shown.files {
        line(
            file.name,
            &format!("{} ({})", file.path, term::bytes(file.bytes)),
        );
    }
    out
}

/// `failure, exit 2`, `signal 15, exit 143`, `running`, `queued`.
fn status(shown: &Shown) -> String {
    let result = &shown.result;
    let mut text = result.status.as_str().to_owned();
    if let Some(signal) = result.signal {
        let _ = write!(text, " {signal}");
    }
    if let Some(code) = result.exit_code {
        let _ = write!(text, ", exit {code}");
    }
    if result.synthetic == Some(true) {
        text.push_str(" (recorded by csa on the supervisor's behalf)");
    }
    if result.status == State::Running && result.queue.is_some() {
        text.push_str(" (holds a slot of its queue)");
    }
    text
}

/// The created / started / finished lines, each with what it means now.
fn times(shown: &Shown, now: SystemTime, line: &mut impl FnMut(&str, &str)) {
    let result = &shown.result;
    let at = |text: &Option<String>| text.as_deref().and_then(record::parse_timestamp);
    let ago = |time: SystemTime| term::age(now.duration_since(time).unwrap_or_default());
    if let Some(created) = at(&shown.created_at) {
        let queued = if result.queued_at.is_some() {
            ", queued"
        } else {
            ""
        };
        line(
            "created",
            &format!(
                "{} ({}{queued})",
                stamp(shown.created_at.as_deref()),
                ago(created)
            ),
        );
    }
    let waited = shown
        .waited_ms
        .map(|ms| format!("waited {}", term::duration(Duration::from_millis(ms))));
    match at(&result.started_at) {
        Some(started) => {
            let mut note = ago(started);
            if let Some(waited) = &waited {
                let _ = write!(note, ", {waited}");
            }
            line(
                "started",
                &format!("{} ({note})", stamp(result.started_at.as_deref())),
            );
        }
        None if result.finished_at.is_some() => {
            line(
                "started",
                &format!("never ({})", waited.unwrap_or_default()),
            );
        }
        None => line(
            "started",
            &format!("not yet ({})", waited.as_deref().unwrap_or("waiting")),
        ),
    }
    match (at(&result.finished_at), result.duration_ms) {
        // Ended without starting (a dependency failed, or it was stopped while it waited):
        // nothing ran.
        (Some(finished), _) if result.started_at.is_none() => line(
            "finished",
            &format!(
                "{} ({}, never ran)",
                stamp(result.finished_at.as_deref()),
                ago(finished)
            ),
        ),
        (Some(finished), Some(ms)) => line(
            "finished",
            &format!(
                "{} ({}, ran {})",
                stamp(result.finished_at.as_deref()),
                ago(finished),
                term::duration(Duration::from_millis(ms))
            ),
        ),
        _ => {
            if let Some(started) = at(&result.started_at) {
                let ran = now.duration_since(started).unwrap_or_default();
                line("running", &format!("for {}", term::duration(ran)));
            }
        }
    }
}

/// An RFC 3339 time as `2026-11-21 10:00:00.123 UTC`.
fn stamp(text: Option<&str>) -> String {
    text.map(|text| format!("{} UTC", text.trim_end_matches('Z').replacen('T', " ", 1)))
        .unwrap_or_default()
}

/// `01J… (build, success)`.
fn relative(other: &Relative) -> String {
    match &other.name {
        Some(name) => format!("{} ({name}, {})", other.id, other.status),
        None => format!("{} ({})", other.id, other.status),
    }
}
