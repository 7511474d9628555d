//! `csa session list` (`csa ls`): one row per session, newest first.
//!
//! Fast with thousands of sessions: the creation time is in the ULID, so sessions are
//! ordered by their directory names alone, `--limit` is applied before any file is read,
//! and each row reads only `result.toml` (and, while it has none, the lock) plus
//! `session.toml` for the QUEUE, TAGS and NAME/COMMAND columns; a running session that
//! waited also `started.toml` (when its job started). With `--tag`, `session.toml` is read
//! first, and a session without the tags is left at that. The short handles are computed
//! from the directory names alone ([`session::short_handles`]).
//!
//! **Looks and heals** ([`crate::heal::observe`]): a session whose supervisor is gone without
//! a result gets its `lost` result written (or, on Slurm, a new watcher); queues are only read.

mod describe;
mod json;
mod table;
mod tree;

use std::collections::HashMap;

use anyhow::Result;
use ulid::Ulid;

use crate::cmd::args::ListArgs;
use crate::liveness::Observed;
use crate::store::record::{self, ResultRecord, SessionRecord, State, Status, Times};
use crate::store::session::{self, SessionDir, StateRoot};
use crate::store::tags;
use crate::term::Colour;

/// One listed session.
struct Row {
    session: SessionDir,
    result: Option<ResultRecord>,
    record: Option<SessionRecord>,
    /// Its job waits for a queue slot or its dependencies.
    queued: bool,
    /// What comes before its NAME/COMMAND cell in the tree shown by `--tree`: the lines and
    /// glyph (`│  ├─ `) of its place under its parent; empty otherwise.
    branch: String,
    /// Its short handle (empty until [`exec`] sets it).
    handle: String,
}

impl Row {
    fn status(&self) -> State {
        match &self.result {
            Some(result) => result.status.into(),
            None if self.queued => State::Queued,
            None => State::Running,
        }
    }

    /// Its true times (docs/format.md, "Times").
    fn times(&self) -> Times {
        let running = self.result.is_none() && !self.queued;
        Times::of(
            &self.session,
            self.record.as_ref(),
            self.result.as_ref(),
            running,
        )
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
    // Unique among every session of the store, not only the listed ones.
    let handles: HashMap<Ulid, String> = ids
        .iter()
        .copied()
        .zip(session::short_handles(&ids))
        .collect();
    for row in &mut rows {
        row.handle = handles.get(&row.session.id).cloned().unwrap_or_default();
    }
    let written = if args.json {
        json::print(&rows)
    } else {
        table::print(&rows, args.long, &handles)
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
        branch: String::new(),
        handle: String::new(),
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

/// The colour of a status word in `list` and `status`.
pub fn status_colour(status: State) -> Colour {
    match status {
        State::Running => Colour::Cyan,
        State::Queued | State::Ended(Status::Skipped) => Colour::Dim,
        State::Ended(Status::Success) => Colour::Green,
        State::Ended(Status::Failure) => Colour::Red,
        State::Ended(Status::Signal | Status::Timeout) => Colour::Yellow,
        State::Ended(Status::Lost) => Colour::Magenta,
    }
}

pub use describe::describe;
