//! `csa session list --json`: an array of [`ListEntry`], newest first.

use std::io::{self, BufWriter, Write as _};

use super::Row;
use crate::admission::waiting_for as whereabouts;
use crate::cmd::view::{ListEntry, ResultView};
use crate::queue::snapshot::Snapshots;

use crate::store::session::StateRoot;

/// Prints `rows` as a JSON array on stdout.
pub(super) fn print(rows: &[Row]) -> io::Result<()> {
    let mut snapshots = Snapshots::default();
    let entries: Vec<ListEntry> = rows.iter().map(|row| entry(row, &mut snapshots)).collect();
    let mut out = BufWriter::new(io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, &entries)?;
    writeln!(out)?;
    out.flush()
}

fn entry(row: &Row, snapshots: &mut Snapshots) -> ListEntry {
    let record = row.record.as_ref();
    let mut result = match &row.result {
        Some(result) => ResultView::finished(result),
        None if row.queued => {
            let whereabouts = record.map(|record| {
                whereabouts::find(
                    &StateRoot::of_session(&row.session),
                    &row.session.id_string(),
                    record,
                    snapshots,
                )
            });
            ResultView::queued(&row.session, record, whereabouts)
        }
        None => ResultView::running(&row.session, record),
    };
    // Every session's queue and queueing time, ended or not.
    if let Some(record) = record {
        result.queue = result.queue.or_else(|| record.queue.clone());
        if record.waits() {
            result.queued_at = Some(record.created_at.clone());
        }
    }
    let result = result.with_job_id(&row.session, record);
    ListEntry {
        result,
        handle: row.handle.clone(),
        name: record.and_then(|r| r.name.clone()),
        tool: record.map(|r| r.tool.clone()),
        argv: record.map(|r| r.argv.clone()),
        cwd: record.map(|r| r.cwd.clone()),
        created_at: record.map(|r| r.created_at.clone()),
        tags: record.map(|r| r.tags.clone()),
        parent: record.and_then(|r| r.parent.clone()),
        after: record.map(|r| r.after.clone()),
    }
}
