//! `csa session list --tree`: sessions under their parents (`parent` in `session.toml`).

use std::collections::HashMap;

use super::Row;

/// `rows` (newest first) reordered as a tree: each session that has no listed parent,
/// newest first, followed by its descendants depth-first, children oldest first (in the
/// order they were started). Sets each row's depth.
pub(super) fn in_tree_order(rows: Vec<Row>) -> Vec<Row> {
    let ids: HashMap<String, usize> = rows
        .iter()
        .enumerate()
        .map(|(at, row)| (row.session.id_string(), at))
        .collect();
    let parent_of = |row: &Row| {
        row.record
            .as_ref()
            .and_then(|record| record.parent.as_ref())
            .and_then(|parent| ids.get(parent).copied())
    };
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); rows.len()];
    let mut roots = Vec::new();
    for (at, row) in rows.iter().enumerate() {
        match parent_of(row) {
            Some(parent) => children[parent].push(at),
            None => roots.push(at),
        }
    }
    let mut order: Vec<(usize, usize)> = Vec::with_capacity(rows.len());
    let mut stack: Vec<(usize, usize)> = roots.into_iter().rev().map(|at| (at, 0)).collect();
    while let Some((at, depth)) = stack.pop() {
        order.push((at, depth));
        // Rows are newest first: pushing them in that order pops the oldest child first.
        stack.extend(children[at].iter().map(|&child| (child, depth + 1)));
    }
    let mut slots: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|(at, depth)| {
            let mut row = slots[at].take()?;
            row.depth = depth;
            Some(row)
        })
        .collect()
}

/// The NAME/COMMAND prefix of a row at `depth`: nothing at the top, else `└─ ` indented.
pub(super) fn indent(depth: usize) -> String {
    match depth {
        0 => String::new(),
        n => format!("{}└─ ", "   ".repeat(n - 1)),
    }
}
