//! The NAME/COMMAND column of `csa session list`.

use std::collections::HashMap;

use ulid::Ulid;

use super::Row;
use crate::admission::waiting_for as whereabouts;
use crate::queue::snapshot::Snapshots;
use crate::store::record::{SessionRecord, StdinSource};
use crate::store::session::StateRoot;

/// The NAME/COMMAND cell of `row`: its branch of the tree with `--tree` (`├─ `), then
/// where a queued session stands (`[queue builds #2]`, `[waiting for 4XKQ to succeed]`: the
/// dependencies by the short `handles` given, else by full ID), then [`describe`].
pub(super) fn row(
    row: &Row,
    snapshots: &mut Snapshots,
    handles: Option<&HashMap<Ulid, String>>,
) -> String {
    let text = describe(row.record.as_ref());
    let (true, Some(record)) = (row.queued, row.record.as_ref()) else {
        return format!("{}{text}", row.branch);
    };
    let found = whereabouts::find(
        &StateRoot::of_session(&row.session),
        &row.session.id_string(),
        record,
        snapshots,
    );
    let place = if let (Some(name), Some(position)) = (&found.queue, found.position) {
        format!("queue {name} #{position}")
    } else {
        let mut waiting_for = found.waiting_for;
        for dependency in handles.map_or(&[][..], |_| &record.after[..]) {
            let handle = Ulid::from_string(dependency)
                .ok()
                .and_then(|id| handles?.get(&id));
            if let Some(handle) = handle {
                waiting_for = waiting_for.replace(dependency.as_str(), handle);
            }
        }
        format!("waiting for {waiting_for}")
    };
    format!("{}[{place}] {text}", row.branch)
}

/// The NAME/COMMAND cell: the session's name, else the script of an `sh` session, else its
/// argv (arguments with spaces or quotes in single quotes), with `< prompt.txt` when the
/// prompt went to the job on standard input.
pub fn describe(record: Option<&SessionRecord>) -> String {
    let Some(record) = record else {
        return "?".to_owned();
    };
    if let Some(name) = &record.name {
        return name.clone();
    }
    if let [sh, dash_c, script] = record.argv.as_slice()
        && record.tool == "sh"
        && sh == "/bin/sh"
        && dash_c == "-c"
    {
        return script.clone();
    }
    let mut text = record
        .argv
        .iter()
        .map(|arg| crate::term::quote(arg))
        .collect::<Vec<_>>()
        .join(" ");
    if record.stdin == StdinSource::Prompt {
        text.push_str(" < prompt.txt");
    }
    text
}
