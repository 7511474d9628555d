//! Reading many sessions at once: on one thread per CPU from [`PARALLEL_FROM`] sessions on,
//! for the commands that read every session of the store (`session list`, `csa top`,
//! `csa status`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use ulid::Ulid;

/// Sessions read per claim by a reading thread.
const BLOCK: usize = 128;

/// The fewest sessions read on more than one thread. Below it, starting a thread (and its
/// memory arena) costs about what it saves: measured break-even between 500 and 1,000
/// sessions on 2 CPUs (BENCHMARKS.md, "Listing").
pub const PARALLEL_FROM: usize = 1000;

/// `read(id)` for each of `ids`, results in the order of `ids`. From [`PARALLEL_FROM`]
/// sessions on, on one thread per CPU, each claiming the next [`BLOCK`] of sessions until
/// none are left; a thread that cannot be started leaves its share to the others. A panic
/// in `read` is passed on.
pub fn read_all<T: Send>(ids: &[Ulid], read: impl Fn(Ulid) -> T + Sync) -> Vec<T> {
    let threads = if ids.len() < PARALLEL_FROM {
        1
    } else {
        thread::available_parallelism()
            .map_or(1, usize::from)
            .min(ids.len().div_ceil(BLOCK))
    };
    if threads <= 1 {
        return ids.iter().map(|&id| read(id)).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let start = next.fetch_add(BLOCK, Ordering::Relaxed);
            let Some(block) = ids.get(start..ids.len().min(start + BLOCK)) else {
                return done;
            };
            if block.is_empty() {
                return done;
            }
            let read: Vec<T> = block.iter().map(|&id| read(id)).collect();
            done.push((start, read));
        }
    };
    let mut blocks = thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| thread::Builder::new().spawn_scoped(scope, work).ok())
            .collect();
        let mut blocks = work();
        for helper in helpers {
            blocks.extend(
                helper
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        blocks
    });
    blocks.sort_unstable_by_key(|&(start, _)| start);
    blocks.into_iter().flat_map(|(_, read)| read).collect()
}
