//! `csa session list --tree`: sessions under their parents (`parent` in `session.toml`),
//! drawn as `tree(1)` draws directories: `├─ ` before a session with a younger sibling
//! below it, `└─ ` before the last, and `│  ` down the side of an ancestor's siblings.

use std::collections::HashMap;

use super::Row;

/// `rows` (newest first) reordered as a tree: each session that has no listed parent,
/// newest first, followed by its descendants depth-first, children oldest first (in the
/// order they were started). Sets each row's branch.
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
    // Children oldest first (rows are newest first).
    for list in &mut children {
        list.reverse();
    }
    // Depth-first: (row, the branch drawn before it, the side drawn before its children).
    let mut order: Vec<(usize, String)> = Vec::with_capacity(rows.len());
    let mut stack: Vec<(usize, String, String)> = roots
        .into_iter()
        .rev()
        .map(|at| (at, String::new(), String::new()))
        .collect();
    while let Some((at, branch, side)) = stack.pop() {
        order.push((at, branch));
        let count = children[at].len();
        for (nth, &child) in children[at].iter().enumerate().rev() {
            let last = nth + 1 == count;
            let (glyph, below) = if last {
                ("└─ ", "   ")
            } else {
                ("├─ ", "│  ")
            };
            stack.push((child, format!("{side}{glyph}"), format!("{side}{below}")));
        }
    }
    let mut slots: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|(at, branch)| {
            let mut row = slots[at].take()?;
            row.branch = branch;
            Some(row)
        })
        .collect()
}
