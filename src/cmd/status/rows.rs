//! Which sessions get a row, in what order, and how deep: flat, or with each session tree
//! as one row (its root's, with a roll-up) that can be opened.

use std::collections::HashSet;

use ulid::Ulid;

use crate::fleet::{Fleet, Rollup};

/// One row of the sessions table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// The session's position in [`Fleet::sessions`].
    pub at: usize,
    /// How deep in its tree the row is drawn (0 at the top).
    pub depth: usize,
    /// How the sessions under it fare, when it has any.
    pub rollup: Option<Rollup>,
    /// True when the sessions under it have rows of their own (an opened tree).
    pub open: bool,
    /// True when it is the last of its siblings (drawn `└─ `, else `├─ `).
    pub last: bool,
    /// Bit `d` set: its ancestor at depth `d` has a younger sibling below, so a `│` runs
    /// down that column (as `tree(1)` draws; depths past 63 draw none).
    pub rails: u64,
}

impl Line {
    /// The glyphs before the row's name: empty at the top, else `│  `/`   ` for each
    /// ancestor below the top, then `├─ ` or `└─ `.
    pub fn branch(&self) -> String {
        let mut glyphs = String::new();
        if self.depth == 0 {
            return glyphs;
        }
        for depth in 1..self.depth {
            let rail = depth < 64 && self.rails & (1 << depth) != 0;
            glyphs.push_str(if rail { "│  " } else { "   " });
        }
        glyphs.push_str(if self.last { "└─ " } else { "├─ " });
        glyphs
    }
}

/// Every session that `keep` keeps, one row each, in display order.
pub fn flat(fleet: &Fleet, keep: impl Fn(usize) -> bool) -> Vec<Line> {
    (0..fleet.sessions().len())
        .filter(|&at| keep(at))
        .map(|at| Line {
            at,
            depth: 0,
            rollup: None,
            open: false,
            last: false,
            rails: 0,
        })
        .collect()
}

/// One row per tree whose root `keep` keeps (a session without parent is a tree of its
/// own), in display order, with its roll-up; under the roots in `open` (and the opened
/// sessions below them), their children, oldest first.
pub fn trees<S: std::hash::BuildHasher>(
    fleet: &Fleet,
    open: &HashSet<Ulid, S>,
    keep: impl Fn(usize) -> bool,
) -> Vec<Line> {
    let sessions = fleet.sessions();
    let mut lines = Vec::new();
    // (position, depth, last of its siblings, rails): see [`Line`].
    let mut stack: Vec<(usize, usize, bool, u64)> = Vec::new();
    for root in (0..sessions.len()).filter(|&at| fleet.is_root(at) && keep(at)) {
        stack.push((root, 0, true, 0));
        while let Some((at, depth, last, rails)) = stack.pop() {
            let rollup = fleet.rollup(at);
            let opened = rollup.is_some() && open.contains(&sessions[at].id());
            lines.push(Line {
                at,
                depth,
                rollup,
                open: opened,
                last,
                rails,
            });
            if opened {
                let rails = if depth > 0 && depth < 64 && !last {
                    rails | (1 << depth)
                } else {
                    rails
                };
                let children = fleet.children(at);
                let youngest = children.len().saturating_sub(1);
                stack.extend(
                    children
                        .iter()
                        .enumerate()
                        .rev()
                        .map(|(nth, &c)| (c, depth + 1, nth == youngest, rails)),
                );
            }
        }
    }
    lines
}
