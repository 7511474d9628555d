//! The order [`WaitSet`](super::WaitSet) hands sessions out in: the order they ended, by their
//! results' `finished_at`, even when several are found ended at once.
//!
//! A session ends when its `result.toml` is renamed into place; its supervisor releases the
//! `lock` a moment later, and that release is what a `flock` thread is woken by. Under load,
//! a session that ended first can release its lock after one that ended later, and two
//! woken threads report in either order. So when one wake-up finds a session ended, the
//! wake-ups already queued are taken too, the other sessions watched by threads or polling
//! are checked for a `result.toml` (inotify reports those renames itself, in order), and
//! everything found ended is handed out by `finished_at`, then session ID.

use std::time::SystemTime;

use super::{Ended, WaitSet, Watch};
use crate::store::record::{self, ResultRecord};
use crate::store::session;

/// The most pending sessions checked for a `result.toml` each time one is found ended: one
/// failed `open` each (a few µs). Above it — only after inotify was refused — sessions are
/// handed out in the order their locks were released.
const CHECK_UP_TO: usize = 64;

impl WaitSet {
    /// Takes every wake-up already queued, then looks for results written by sessions that
    /// nothing has reported yet, and sorts what was found ended (see the module
    /// documentation). Called with the sessions found ended by one wake-up or timer.
    pub(super) fn gather(&mut self) {
        while let Ok(wake) = self.rx.try_recv() {
            self.wake(wake);
        }
        if self.ready.is_empty() {
            return;
        }
        let unreported: Vec<usize> = (0..self.watched.len())
            .filter(|&i| self.watched[i].pending && self.watched[i].how != Watch::Inotify)
            .collect();
        if unreported.len() <= CHECK_UP_TO {
            for index in unreported {
                let watched = &mut self.watched[index];
                let path = watched.session.file(session::RESULT_TOML);
                // A malformed or unreadable result is left to the session's own look.
                if let Ok(Some(result)) = record::read::<ResultRecord>(&path) {
                    watched.pending = false;
                    watched.starting = false;
                    self.ready.push_back(Ended {
                        index,
                        outcome: Ok(result),
                    });
                }
            }
        }
        self.sort_ready();
    }

    /// Sorts the sessions not handed out yet by when they ended (`finished_at`), then by
    /// session ID; a session whose result cannot be known comes first.
    pub(super) fn sort_ready(&mut self) {
        let watched = &self.watched;
        self.ready.make_contiguous().sort_by_key(|ended| {
            let finished = ended
                .outcome
                .as_ref()
                .ok()
                .and_then(|result| record::parse_timestamp(&result.finished_at))
                .unwrap_or(SystemTime::UNIX_EPOCH);
            (finished, watched[ended.index].session.id)
        });
    }
}
