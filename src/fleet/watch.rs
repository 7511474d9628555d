//! Watching the store for changes with inotify, so that a view refreshes when something
//! happens and not on a timer: new and removed sessions (the `sessions/` directory), a live
//! session's start (`queued` removed, `started.toml`), its end (`result.toml` renamed into
//! place, or the last close of its `lock` by a dying supervisor), and queues (slot counts
//! set, waiters arriving and leaving).
//!
//! One inotify instance; one watch for `sessions/`, for `queues/` and for each queue and
//! its `waiting/`, and one for each *live* session directory (a finished session never
//! changes). A reader thread turns events into [`Change`]s. The caller keeps a slow
//! re-scan as a safety net (file systems that do not report changes made elsewhere, watches
//! refused at the per-user limit), and re-scans at once after [`Change::Rescan`].

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use ulid::Ulid;

use super::Fleet;
use crate::queue;
use crate::store::record;
use crate::store::session::{self, StateRoot};
use crate::sys::inotify::Read;

/// What changed, as far as inotify tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Session `id` appeared, changed or was removed: read it again.
    Session(Ulid),
    /// A queue changed (slot count, waiters), or a queue appeared.
    Queues,
    /// Events were lost (the kernel's queue overflowed) or inotify failed: re-scan.
    Rescan,
    /// Session `id`, whose output is followed ([`Watcher::follow_output`]), wrote to a
    /// spool file.
    Output(Ulid),
}

/// What a watch descriptor watches.
#[derive(Debug, Clone, Copy)]
enum Target {
    Sessions,
    Session(Ulid),
    Queues,
}

/// The events of `sessions/`: session directories renamed in (`csa run`) or out, created
/// (`--no-daemon`, Slurm) and removed (`clean`).
const STORE: WatchFlags = WatchFlags::CREATE
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::MOVED_FROM)
    .union(WatchFlags::DELETE)
    .union(WatchFlags::ONLYDIR)
    .union(WatchFlags::DONT_FOLLOW);

/// The events of a live session directory: files renamed in (`result.toml`,
/// `started.toml`, `session.toml`, a new `lock`), `queued` created or removed, and the
/// last close of `lock` by its writer (a supervisor that dies without a result).
const SESSION: WatchFlags = WatchFlags::CREATE
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::DELETE)
    .union(WatchFlags::CLOSE_WRITE)
    .union(WatchFlags::ONLYDIR)
    .union(WatchFlags::DONT_FOLLOW);

/// The events of `queues/`, a queue directory and its `waiting/`: queues created, `slots`
/// renamed into place, waiters' entries created and removed. Not `CLOSE_WRITE`: a look at
/// the slots opens them for writing ([`crate::queue::snapshot`]), and would wake itself.
const QUEUE: WatchFlags = WatchFlags::CREATE
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::DELETE)
    .union(WatchFlags::ONLYDIR)
    .union(WatchFlags::DONT_FOLLOW);

/// An inotify instance watching a store, and its reader thread.
#[derive(Debug)]
pub struct Watcher {
    fd: Arc<OwnedFd>,
    targets: Arc<Mutex<HashMap<i32, Target>>>,
    /// The session directories watched, with their watch descriptors.
    sessions: HashMap<Ulid, i32>,
    /// The session whose spool files are watched too.
    output: Option<Ulid>,
    /// `sessions/` is watched.
    pub store: bool,
    root: StateRoot,
}

impl Watcher {
    /// Starts watching `root`; `send` is called on the reader thread for each change (it
    /// returns false once nobody listens, which ends the thread). `None` when inotify or
    /// the thread is not available: the caller then re-scans more often.
    pub fn start(root: &StateRoot, send: impl Fn(Change) -> bool + Send + 'static) -> Option<Self> {
        let fd = Arc::new(inotify::init(CreateFlags::CLOEXEC).ok()?);
        let targets = Arc::new(Mutex::new(HashMap::new()));
        let mut watcher = Self {
            fd: Arc::clone(&fd),
            targets: Arc::clone(&targets),
            sessions: HashMap::new(),
            output: None,
            store: false,
            root: root.clone(),
        };
        watcher.store = watcher.watch_store();
        thread::Builder::new()
            .name("inotify".to_owned())
            .spawn(move || read_events(&fd, &targets, &send))
            .ok()?;
        Some(watcher)
    }

    /// Watches `sessions/`, `queues/` and every queue (again: directories created since
    /// are added; the ones already watched keep their watch). Returns false when
    /// `sessions/` cannot be watched (it does not exist yet): re-scan often until it can.
    pub fn watch_store(&mut self) -> bool {
        let store = self
            .add(&self.root.sessions_dir(), STORE, Target::Sessions)
            .is_some();
        self.add(&queue::queues_dir(&self.root), QUEUE, Target::Queues);
        for queue in queue::all(&self.root) {
            self.add(&queue.path, QUEUE, Target::Queues);
            self.add(&queue.waiting_dir(), QUEUE, Target::Queues);
        }
        store
    }

    /// Watches each live session of `fleet` not watched yet, and stops watching those no
    /// longer live. Returns the sessions watched now: read them once more, as they may
    /// have changed between their last read and their watch.
    pub fn follow(&mut self, fleet: &Fleet) -> Vec<Ulid> {
        let live: Vec<Ulid> = fleet
            .sessions()
            .iter()
            .filter(|s| s.is_live())
            .map(super::Session::id)
            .collect();
        let ended: Vec<Ulid> = self
            .sessions
            .keys()
            .filter(|&&id| Some(id) != self.output)
            .filter(|id| {
                fleet
                    .find(**id)
                    .is_none_or(|at| !fleet.sessions()[at].is_live())
            })
            .copied()
            .collect();
        for id in ended {
            if let Some(wd) = self.sessions.remove(&id) {
                // Its `IN_IGNORED` removes the target.
                let _ = inotify::remove_watch(&*self.fd, wd);
            }
        }
        let mut added = Vec::new();
        for id in live {
            if self.sessions.contains_key(&id) {
                continue;
            }
            if let Some(wd) = self.add(&self.root.session(id).path, SESSION, Target::Session(id)) {
                self.sessions.insert(id, wd);
                added.push(id);
            }
        }
        added
    }

    /// Watches the spool files of session `id` too (writes to `stdout.log` and
    /// `stderr.log` become [`Change::Output`]), instead of those of the session followed
    /// before; `None`: no session's. Returns false when the watch cannot be added.
    pub fn follow_output(&mut self, id: Option<Ulid>, fleet: &Fleet) -> bool {
        if let Some(before) = self.output.take() {
            let live = fleet
                .find(before)
                .is_some_and(|at| fleet.sessions()[at].is_live());
            if live {
                // Back to the events of a live session (the mask is replaced).
                self.add(
                    &self.root.session(before).path,
                    SESSION,
                    Target::Session(before),
                );
            } else if let Some(wd) = self.sessions.remove(&before) {
                let _ = inotify::remove_watch(&*self.fd, wd);
            }
        }
        let Some(id) = id else {
            return true;
        };
        let path = self.root.session(id).path;
        let Some(wd) = self.add(
            &path,
            SESSION.union(WatchFlags::MODIFY),
            Target::Session(id),
        ) else {
            return false;
        };
        self.sessions.insert(id, wd);
        self.output = Some(id);
        true
    }

    /// Adds a watch; `None` when it cannot be added (missing directory, the per-user
    /// limit of watches).
    fn add(&self, path: &Path, flags: WatchFlags, target: Target) -> Option<i32> {
        let wd = inotify::add_watch(&*self.fd, path, flags).ok()?;
        self.targets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(wd, target);
        Some(wd)
    }
}

/// Reads events until `send` says nobody listens, or a read fails (after a
/// [`Change::Rescan`]).
fn read_events(fd: &OwnedFd, targets: &Mutex<HashMap<i32, Target>>, send: &dyn Fn(Change) -> bool) {
    crate::sys::inotify::read_events(fd, |read| {
        let change = match read {
            Read::Event { wd, flags, name } => {
                let mut targets = targets.lock().unwrap_or_else(PoisonError::into_inner);
                let target = targets.get(&wd).copied();
                if flags.contains(ReadFlags::IGNORED) {
                    targets.remove(&wd);
                }
                drop(targets);
                change_for(target, flags, name)
            }
            Read::Failed => Some(Change::Rescan),
        };
        change.is_none_or(send)
    });
}

/// The change an event means, if any.
fn change_for(target: Option<Target>, flags: ReadFlags, name: Option<&[u8]>) -> Option<Change> {
    if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
        return Some(Change::Rescan);
    }
    let named = |wanted: &str| name == Some(wanted.as_bytes());
    match target? {
        Target::Sessions => {
            let name = std::str::from_utf8(name?).ok()?;
            let id = Ulid::from_string(name).ok()?;
            (id.to_string() == name).then_some(Change::Session(id))
        }
        Target::Session(id) => {
            if flags.contains(ReadFlags::MODIFY) {
                let spool = named(session::STDOUT_LOG) || named(session::STDERR_LOG);
                return spool.then_some(Change::Output(id));
            }
            let wanted = flags.contains(ReadFlags::IGNORED)
                || named(session::RESULT_TOML)
                || named(record::STARTED_TOML)
                || named(session::QUEUED)
                || named(session::LOCK)
                || named(session::SESSION_TOML);
            wanted.then_some(Change::Session(id))
        }
        Target::Queues => (!flags.contains(ReadFlags::IGNORED)).then_some(Change::Queues),
    }
}
