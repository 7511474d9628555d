//! `csa session list`: one row per session, newest first.
//!
//! Fast with thousands of sessions: the creation time is in the ULID, so sessions are
//! ordered by their directory names alone, `--limit` is applied before any file is read,
//! and each row reads only `result.toml` (and, while it has none, the lock) plus
//! `session.toml` for the NAME/COMMAND column. With `--tag`, `session.toml` is read first,
//! and a session without the tags is left at that.
//!
//! **Looks and heals** ([`crate::heal::observe`]): a session whose supervisor is gone without
//! a result gets its `lost` result written (or, on Slurm, a new watcher); queues are only read.

mod describe;
mod tree;

use std::io::{self, BufWriter, Write as _};
use std::time::{Duration, SystemTime};

use anyhow::Result;
use ulid::Ulid;

use super::view::{self, ListEntry, ResultView};
use crate::admission::waiting_for as whereabouts;
use crate::cmd::args::ListArgs;
use crate::liveness::Observed;
use crate::queue::snapshot::Snapshots;
use crate::store::record::{self, ResultRecord, SessionRecord, State};
use crate::store::session::{self, SessionDir, StateRoot};
use crate::store::tags;
use crate::term::{self, Colour};

/// One listed session.
struct Row {
    session: SessionDir,
    result: Option<ResultRecord>,
    record: Option<SessionRecord>,
    /// Its job waits for a queue slot or its dependencies.
    queued: bool,
    /// Its depth in the session tree shown by `--tree` (0 otherwise).
    depth: usize,
}

impl Row {
    fn status(&self) -> State {
        match &self.result {
            Some(result) => result.status.into(),
            None if self.queued => State::Queued,
            None => State::Running,
        }
    }
}

/// Runs `csa session list`. Exit 0; a session that cannot be read is skipped with a
/// warning on stderr. Errors only when the session store itself cannot be read.
pub fn exec(args: &ListArgs) -> Result<u8> {
    let root = StateRoot::from_env()?;
    let ids = root.session_ids()?;
    let filter = Filter {
        status: &args.status,
        tags: &args.tag,
    };
    let mut rows = Vec::new();
    let mut read = 0;
    // With `--limit`, read only as many sessions as rows are still wanted, so no session
    // is read that a one-by-one walk would not have reached.
    while read < ids.len() {
        let wanted = args.limit.map_or(ids.len(), |limit| limit - rows.len());
        if wanted == 0 {
            break;
        }
        let batch = &ids[read..ids.len().min(read + wanted)];
        read += batch.len();
        for looked in look_all(&root, batch, &filter) {
            for warning in looked.warnings {
                crate::note!("skipping a session: {warning}");
            }
            rows.extend(looked.row);
        }
    }
    if args.tree {
        rows = tree::in_tree_order(rows);
    }
    let written = if args.json {
        print_json(&rows)
    } else {
        print_table(&rows)
    };
    crate::exit::stdout_written(written, "the list")?;
    Ok(0)
}

/// Which sessions are listed: `--status` (any of) and `--tag` (all of); empty = no filter.
struct Filter<'a> {
    status: &'a [State],
    tags: &'a [String],
}

/// What reading one session gave: its row (none when it is skipped or filtered out) and
/// the warnings to print about it, in order.
struct Looked {
    row: Option<Row>,
    warnings: Vec<String>,
}

/// [`look`] at each of `ids`, results in the order of `ids` (on several threads for many
/// sessions: [`session::parallel`]).
fn look_all(root: &StateRoot, ids: &[Ulid], filter: &Filter<'_>) -> Vec<Looked> {
    session::parallel::read_all(ids, |id| look(root, id, filter))
}

/// Reads one session: its result (reconstructing a `lost` one as `wait` does) and, when
/// its status passes the `--status` filter, its `session.toml` — first, with `--tag`.
fn look(root: &StateRoot, id: Ulid, filter: &Filter<'_>) -> Looked {
    let session = root.session(id);
    let mut warnings = Vec::new();
    let skipped = |warnings| Looked {
        row: None,
        warnings,
    };
    let path = session.file(session::SESSION_TOML);
    let mut record = None;
    if !filter.tags.is_empty() {
        match record::read::<SessionRecord>(&path) {
            Ok(Some(found)) if tags::has_all(&found, filter.tags) => record = Some(found),
            Ok(_) => return skipped(warnings),
            Err(err) => {
                warnings.extend(warning_unless_removed(&session, &err));
                return skipped(warnings);
            }
        }
    }
    let mut queued = false;
    let result = match crate::heal::observe(&session) {
        Ok(Observed::Running) => None,
        Ok(Observed::Queued) => {
            queued = true;
            None
        }
        Ok(Observed::Finished(result)) => Some(result),
        // Reconstructed and recorded as `wait` does; a store that cannot be written
        // (someone else's, read-only) still lists the session as lost.
        Ok(Observed::Gone) => Some(
            crate::store::record::endings::final_result(&session)
                .unwrap_or_else(|_| crate::store::record::endings::lost_result(&session)),
        ),
        Err(err) => {
            warnings.extend(warning_unless_removed(&session, &err));
            return skipped(warnings);
        }
    };
    let mut row = Row {
        record: None,
        result,
        session,
        queued,
        depth: 0,
    };
    if !filter.status.is_empty() && !filter.status.contains(&row.status()) {
        return skipped(warnings);
    }
    // A missing session.toml (a session still being set up) just leaves the column
    // empty; a malformed one is worth a warning.
    row.record = match record {
        Some(found) => Some(found),
        None => record::read::<SessionRecord>(&path).unwrap_or_else(|err| {
            warnings.extend(warning_unless_removed(&row.session, &err));
            None
        }),
    };
    Looked {
        row: Some(row),
        warnings,
    }
}

/// The warning about a session that cannot be read, unless it was removed meanwhile (by
/// `clean`): one line, printed after `csa: skipping a session: `.
fn warning_unless_removed(session: &SessionDir, err: &anyhow::Error) -> Option<String> {
    crate::store::files::is_dir(&session.path).then(|| format!("{err:#}").replace('\n', " "))
}

fn print_json(rows: &[Row]) -> io::Result<()> {
    let mut snapshots = Snapshots::default();
    let entries: Vec<ListEntry> = rows
        .iter()
        .map(|row| {
            let started_at = row.record.as_ref().map(|r| r.created_at.clone());
            let result = match &row.result {
                Some(result) => ResultView::finished(result),
                None if row.queued => {
                    let whereabouts = row.record.as_ref().map(|record| {
                        whereabouts::find(
                            &StateRoot::of_session(&row.session),
                            &row.session.id_string(),
                            record,
                            &mut snapshots,
                        )
                    });
                    ResultView::queued(&row.session, started_at, whereabouts)
                }
                None => ResultView::running(&row.session, started_at),
            };
            let record = row.record.as_ref();
            let result = result.with_job_id(&row.session, record);
            ListEntry {
                result,
                name: record.and_then(|r| r.name.clone()),
                tool: record.map(|r| r.tool.clone()),
                argv: record.map(|r| r.argv.clone()),
                cwd: record.map(|r| r.cwd.clone()),
                created_at: record.map(|r| r.created_at.clone()),
                tags: record.map(|r| r.tags.clone()),
                parent: record.and_then(|r| r.parent.clone()),
            }
        })
        .collect();
    let mut out = BufWriter::new(io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, &entries)?;
    writeln!(out)?;
    out.flush()
}

const HEADERS: [&str; 6] = [
    "ID",
    "STATUS",
    "EXIT",
    "STARTED",
    "DURATION",
    "NAME/COMMAND",
];

fn print_table(rows: &[Row]) -> io::Result<()> {
    let now = SystemTime::now();
    // The cells computed per row (EXIT, STARTED, DURATION); the others are written
    // straight from the row, without a `String` each.
    let cells: Vec<[String; 3]> = rows
        .iter()
        .map(|row| {
            let since = now
                .duration_since(view::created(&row.session))
                .unwrap_or_default();
            match &row.result {
                Some(r) => [
                    r.exit_code.to_string(),
                    term::age(since),
                    term::duration(Duration::from_millis(r.duration_ms)),
                ],
                None => ["-".to_owned(), term::age(since), term::duration(since)],
            }
        })
        .collect();
    let mut widths = HEADERS.map(str::len);
    for (row, cells) in rows.iter().zip(&cells) {
        widths[0] = widths[0].max(session::ID_LEN);
        widths[1] = widths[1].max(row.status().as_str().len());
        // ASCII only: digits, units and `-`.
        for (width, cell) in widths[2..5].iter_mut().zip(cells) {
            *width = (*width).max(cell.len());
        }
    }
    // The last column takes what is left of the terminal, but at least 12 columns.
    let fixed: usize = widths[..5].iter().map(|w| w + 2).sum();
    let last = term::stdout_width().map(|w| w.saturating_sub(fixed).max(12));
    let colour = term::stdout_colour();
    let mut snapshots = Snapshots::default();
    let mut out = BufWriter::new(io::stdout().lock());
    for (h, w) in HEADERS[..5].iter().zip(&widths) {
        write!(out, "{h:<w$}  ")?;
    }
    writeln!(out, "{}", HEADERS[5])?;
    for (row, [exit, age, duration]) in rows.iter().zip(&cells) {
        let status = row.status().as_str();
        write!(out, "{:<w0$}  ", row.session.id, w0 = widths[0])?;
        if colour {
            let padded = format!("{status:<w$}", w = widths[1]);
            write!(
                out,
                "{}",
                term::paint(&padded, status_colour(row.status()), true)
            )?;
        } else {
            write!(out, "{status:<w$}", w = widths[1])?;
        }
        writeln!(
            out,
            "  {exit:>w2$}  {age:<w3$}  {duration:>w4$}  {}",
            term::one_line(&describe::row(row, &mut snapshots), last),
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4],
        )?;
    }
    out.flush()
}

/// The colour of a status word in `list` and `status`.
pub fn status_colour(status: State) -> Colour {
    match status {
        State::Running => Colour::Cyan,
        State::Queued | State::Skipped => Colour::Dim,
        State::Success => Colour::Green,
        State::Failure => Colour::Red,
        State::Signal | State::Timeout => Colour::Yellow,
        State::Lost => Colour::Magenta,
    }
}

pub use describe::describe;
