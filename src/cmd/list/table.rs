//! The table of `csa session list`: ID (the short handle; the full ID with `--long`),
//! STATUS, EXIT, STARTED (how long ago the job started), WAITED (how long the session waited
//! for a queue slot, dependencies or Slurm), RAN (how long its job ran, or has been running),
//! QUEUE, TAGS and NAME/COMMAND. A cell that does not apply is `-`.

use std::collections::HashMap;
use std::io::{self, BufWriter, Write as _};
use std::time::SystemTime;

use ulid::Ulid;

use super::{Row, describe, status_colour};
use crate::queue::snapshot::Snapshots;
use crate::store::session;
use crate::term;

const HEADERS: [&str; 9] = [
    "ID",
    "STATUS",
    "EXIT",
    "STARTED",
    "WAITED",
    "RAN",
    "QUEUE",
    "TAGS",
    "NAME/COMMAND",
];

/// The widest TAGS cell; longer tag lists end in `…`.
const TAGS_WIDTH: usize = 24;

/// The cells computed per row (every column but ID, STATUS and NAME/COMMAND).
struct Cells {
    exit: String,
    started: String,
    waited: String,
    ran: String,
    queue: String,
    tags: String,
}

fn cells(row: &Row, now: SystemTime) -> Cells {
    let times = row.times();
    let or_dash = |cell: Option<String>| cell.unwrap_or_else(|| "-".to_owned());
    let record = row.record.as_ref();
    let tags = match record.map(|record| record.tags.join(",")) {
        Some(tags) if !tags.is_empty() => term::one_line(&tags, Some(TAGS_WIDTH)).into_owned(),
        _ => "-".to_owned(),
    };
    Cells {
        exit: or_dash(row.result.as_ref().map(|r| r.exit_code.to_string())),
        started: or_dash(
            times
                .started
                .map(|at| term::age(now.duration_since(at).unwrap_or_default())),
        ),
        waited: or_dash(times.waited(now).map(term::duration)),
        ran: or_dash(times.ran(now).map(term::duration)),
        queue: or_dash(record.and_then(|record| record.queue.clone())),
        tags,
    }
}

/// Prints the table of `rows` on stdout (colours on a terminal, the last column cut to its
/// width). `long`: full session IDs instead of short handles, in the ID column and in what a
/// queued session waits for; else `handles` (every session's short handle) gives those.
pub(super) fn print(rows: &[Row], long: bool, handles: &HashMap<Ulid, String>) -> io::Result<()> {
    let now = SystemTime::now();
    let cells: Vec<Cells> = rows.iter().map(|row| cells(row, now)).collect();
    let id = |row: &Row| {
        if long || row.handle.is_empty() {
            row.session.id_string()
        } else {
            row.handle.clone()
        }
    };
    let mut widths = HEADERS.map(str::len);
    for (row, cells) in rows.iter().zip(&cells) {
        widths[0] = widths[0].max(if long || row.handle.is_empty() {
            session::ID_LEN
        } else {
            row.handle.len()
        });
        widths[1] = widths[1].max(row.status().as_str().len());
        for (width, cell) in widths[2..8].iter_mut().zip([
            &cells.exit,
            &cells.started,
            &cells.waited,
            &cells.ran,
            &cells.queue,
            &cells.tags,
        ]) {
            *width = (*width).max(cell.chars().count());
        }
    }
    // The last column takes what is left of the terminal, but at least 12 columns.
    let fixed: usize = widths[..8].iter().map(|w| w + 2).sum();
    let last = term::stdout_width().map(|w| w.saturating_sub(fixed).max(12));
    let colour = term::stdout_colour();
    let mut snapshots = Snapshots::default();
    let mut out = BufWriter::new(io::stdout().lock());
    for (h, w) in HEADERS[..8].iter().zip(&widths) {
        write!(out, "{h:<w$}  ")?;
    }
    writeln!(out, "{}", HEADERS[8])?;
    for (row, cells) in rows.iter().zip(&cells) {
        let status = row.status().as_str();
        write!(out, "{:<w$}  ", id(row), w = widths[0])?;
        let padded = format!("{status:<w$}", w = widths[1]);
        write!(
            out,
            "{}",
            term::paint(&padded, status_colour(row.status()), colour)
        )?;
        // Padded by characters (a tag may be any label character; `…` is one).
        let pad = |cell: &str, width: usize| {
            let fill = width.saturating_sub(cell.chars().count());
            format!("{cell}{}", " ".repeat(fill))
        };
        writeln!(
            out,
            "  {:>w2$}  {}  {:>w4$}  {:>w5$}  {}  {}  {}",
            cells.exit,
            pad(&cells.started, widths[3]),
            cells.waited,
            cells.ran,
            pad(&cells.queue, widths[6]),
            pad(&cells.tags, widths[7]),
            term::one_line(
                &describe::row(row, &mut snapshots, (!long).then_some(handles)),
                last
            ),
            w2 = widths[2],
            w4 = widths[4],
            w5 = widths[5],
        )?;
    }
    out.flush()
}
