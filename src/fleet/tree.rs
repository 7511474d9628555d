//! Session trees (`parent` in `session.toml`): each session's children among the
//! sessions, and a roll-up of how a tree fares ("3/7 done, 1 failed, 1 running, 2 queued").

use std::collections::HashMap;

use ulid::Ulid;

use super::Session;
use crate::store::record::{State, Status};

/// How the sessions under one session fare: its descendants, all generations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rollup {
    /// Descendants.
    pub total: usize,
    /// Those that ended, whatever their status.
    pub done: usize,
    /// Those that ended without `success`.
    pub failed: usize,
    /// Those whose job runs.
    pub running: usize,
    /// Those whose job has not started: waiting for a queue slot or their dependencies.
    pub queued: usize,
}

/// The children of each session (positions in the display order), oldest first.
#[derive(Debug, Default)]
pub(super) struct Tree {
    children: Vec<Vec<usize>>,
    has_parent: Vec<bool>,
    rollups: Vec<Option<Rollup>>,
}

impl Tree {
    /// The tree of `sessions` (in display order; `index` maps IDs to positions).
    pub(super) fn build(sessions: &[Session], index: &HashMap<Ulid, usize>) -> Self {
        let mut children = vec![Vec::new(); sessions.len()];
        let mut has_parent = vec![false; sessions.len()];
        for (at, session) in sessions.iter().enumerate() {
            // A parent is older than its children (it ran `csa run` for them): a file that
            // says otherwise is not followed, so the trees have no cycles.
            if let Some(parent_id) = session.parent().filter(|&id| id < session.id())
                && let Some(&parent) = index.get(&parent_id)
            {
                children[parent].push(at);
                has_parent[at] = true;
            }
        }
        // Children in the order they were started (by ID), as `session list --tree` shows
        // them.
        for list in &mut children {
            list.sort_unstable_by_key(|&at| sessions[at].id());
        }
        let mut tree = Self {
            children,
            has_parent,
            rollups: vec![None; sessions.len()],
        };
        for at in 0..sessions.len() {
            if !tree.has_parent[at] && !tree.children[at].is_empty() {
                tree.roll_up(at, sessions);
            }
        }
        tree
    }

    /// Computes the roll-ups of `top` and of every session under it, without recursion (a
    /// tree may be deep).
    fn roll_up(&mut self, top: usize, sessions: &[Session]) {
        let mut order = vec![top];
        let mut at = 0;
        while at < order.len() {
            order.extend_from_slice(&self.children[order[at]]);
            at += 1;
        }
        // Children before parents: each roll-up adds up its children's.
        for &node in order.iter().rev() {
            if self.children[node].is_empty() {
                continue;
            }
            let mut rollup = Rollup::default();
            for &child in &self.children[node] {
                let below = self.rollups[child].unwrap_or_default();
                rollup.total += 1 + below.total;
                rollup.done += below.done;
                rollup.failed += below.failed;
                rollup.running += below.running;
                rollup.queued += below.queued;
                match sessions[child].state {
                    State::Running => rollup.running += 1,
                    State::Queued => rollup.queued += 1,
                    State::Ended(Status::Success) => rollup.done += 1,
                    State::Ended(_) => {
                        rollup.done += 1;
                        rollup.failed += 1;
                    }
                }
            }
            self.rollups[node] = Some(rollup);
        }
    }

    pub(super) fn children(&self, at: usize) -> &[usize] {
        self.children.get(at).map_or(&[], Vec::as_slice)
    }

    pub(super) fn is_root(&self, at: usize) -> bool {
        !self.has_parent.get(at).copied().unwrap_or(false)
    }

    pub(super) fn rollup(&self, at: usize) -> Option<Rollup> {
        self.rollups.get(at).copied().flatten()
    }
}
