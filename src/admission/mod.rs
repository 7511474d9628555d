//! What a session waits for before its job starts: its dependencies (`--after`) to end
//! with `success`, then a slot of its queue (`--queue`). Both waits block without using
//! CPU and end at once on a stop signal ([`Interruptible`]).

use std::fs::File;
use std::os::unix::fs::MetadataExt as _;

use anyhow::Result;
use ulid::Ulid;

use crate::executor::Settled;
use crate::exit;
use crate::interrupt::{Interruptible, Waited};
use crate::queue::Queue;
use crate::queue::slot::{self as turn, Slot};
use crate::queue::ticket::{self, Ticket};
use crate::store::record::{ResultRecord, Status};
use crate::store::session::{self, SessionDir, StateRoot};
use crate::sys;

pub mod waiting_for;

/// How the wait before the job ended.
#[derive(Debug)]
pub enum Admission {
    /// Start the job; keep the slot (if any) until it has ended.
    Admitted(Option<Slot>),
    /// A stop signal arrived while waiting for what the text names ("dependencies",
    /// "a slot of queue NAME"); the job is never started.
    Stopped(i32, String),
    /// A dependency did not end with `success`: the job is never started.
    Skipped(ResultRecord),
}

/// What the supervisor is told its session waits for (`csa __supervise --after … --queue
/// …`), with the queue entry `csa run` may hand over.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The sessions (full IDs) that must end with `success` first.
    pub after: Vec<String>,
    /// The queue to take a slot of.
    pub queue: Option<String>,
    /// The slot count when none was set with `csa queue slots`.
    pub slots_default: u32,
    /// The inherited descriptor of the session's queue entry, locked by `csa run`.
    pub queue_fd: Option<i32>,
    /// The ticket number of that entry.
    pub queue_seq: Option<u64>,
}

impl Request {
    /// True when the job waits for nothing.
    pub fn is_empty(&self) -> bool {
        self.after.is_empty() && self.queue.is_none()
    }
}

/// What a session waits for before its job starts.
#[derive(Debug, Default)]
pub struct Conditions {
    /// The sessions (full IDs) that must end with `success` first.
    pub after: Vec<String>,
    /// The queue to take a slot of.
    pub queue: Option<String>,
    /// The slot count when none was set with `csa queue slots`.
    pub slots_default: u32,
    /// The session's entry in the queue, when `csa run` created it (at submission, so that
    /// the queue's order is the order of submission). Without one, the session joins the
    /// queue once its dependencies have succeeded.
    pub ticket: Option<Ticket>,
}

impl Conditions {
    /// True when the job waits for nothing.
    pub fn is_empty(&self) -> bool {
        self.after.is_empty() && self.queue.is_none()
    }

    /// The plan passed to `csa __supervise`, with the queue entry `csa run` handed over as
    /// an inherited descriptor.
    ///
    /// Errors: the descriptor is not the session's queue entry (a user typed the hidden
    /// command).
    pub fn from_request(session: &SessionDir, args: &Request) -> Result<Self> {
        let ticket = match (&args.queue, args.queue_fd, args.queue_seq) {
            (Some(name), Some(fd), Some(seq)) => {
                let queue = Queue::new(&StateRoot::of_session(session), name);
                Some(inherited_ticket(&queue, session, fd, seq)?)
            }
            _ => None,
        };
        Ok(Self {
            after: args.after.clone(),
            queue: args.queue.clone(),
            slots_default: args.slots_default,
            ticket,
        })
    }
}

/// Waits for the dependencies, then for a queue slot.
///
/// Errors: the queue directory cannot be used.
pub fn admit(session: &SessionDir, plan: Conditions, waker: &Interruptible) -> Result<Admission> {
    let root = StateRoot::of_session(session);
    for dependency in &plan.after {
        match wait_for(&root, dependency, waker)? {
            Waited::Stopped(signal) => {
                return Ok(Admission::Stopped(signal, "its dependencies".into()));
            }
            Waited::Ready(Some(reason)) => {
                return Ok(Admission::Skipped(skipped(session, &reason)));
            }
            Waited::Ready(None) => {}
        }
    }
    let Some(name) = &plan.queue else {
        return Ok(Admission::Admitted(None));
    };
    let queue = Queue::new(&root, name);
    let ticket = match plan.ticket {
        Some(ticket) => ticket,
        None => ticket::enqueue(&queue, &session.id_string())?,
    };
    Ok(
        match turn::wait_for_slot(&queue, ticket, plan.slots_default, waker)? {
            Waited::Ready(slot) => {
                slot.name_holder(&session.id_string());
                Admission::Admitted(Some(slot))
            }
            Waited::Stopped(signal) => {
                Admission::Stopped(signal, format!("a slot of queue {name}"))
            }
        },
    )
}

/// Waits until session `id` has ended. `Ready(None)`: it succeeded; `Ready(Some(why))`:
/// it did not (or no longer exists), and why.
fn wait_for(root: &StateRoot, id: &str, waker: &Interruptible) -> Result<Waited<Option<String>>> {
    let Ok(ulid) = Ulid::from_string(id) else {
        return Ok(Waited::Ready(Some(format!(
            "dependency {id} is not a session ID"
        ))));
    };
    let dependency = root.session(ulid);
    loop {
        if !crate::store::files::is_dir(&dependency.path) {
            return Ok(Waited::Ready(Some(format!(
                "dependency {id} no longer exists"
            ))));
        }
        if let Ok(lock) = crate::store::files::Options::read().open(&dependency.file(session::LOCK))
            && let Waited::Stopped(signal) = waker.lock(lock, true)?
        {
            return Ok(Waited::Stopped(signal));
        }
        match crate::heal::settle(&dependency) {
            Ok(Settled::Resumed) => {}
            Ok(Settled::Finished(result)) if result.status == Status::Success => {
                return Ok(Waited::Ready(None));
            }
            Ok(Settled::Finished(result)) => {
                return Ok(Waited::Ready(Some(format!(
                    "dependency {id} ended with status {} (exit {})",
                    result.status.as_str(),
                    result.exit_code
                ))));
            }
            Err(err) => {
                return Ok(Waited::Ready(Some(format!(
                    "the result of dependency {id} cannot be read: {err:#}"
                ))));
            }
        }
    }
}

/// The result of a session whose wait before the job failed with `err` (the queue's
/// directory cannot be used, its slot count file is malformed, …): `failure`, exit 125,
/// the error as the reason. The job is never started.
pub fn failed(session: &SessionDir, err: &anyhow::Error) -> ResultRecord {
    crate::store::record::endings::never_started(
        session,
        (Status::Failure, exit::CSA_ERROR, None),
        format!(
            "the wait for its dependencies or a queue slot failed: {err:#}; the job was never started"
        ),
    )
}

/// The result of a session whose dependency did not succeed.
fn skipped(session: &SessionDir, why: &str) -> ResultRecord {
    crate::store::record::endings::never_started(
        session,
        (Status::Skipped, exit::SKIPPED, None),
        format!("{why}; the job was never started"),
    )
}

/// The queue entry `csa run` created and locked for this session, inherited as `fd`.
fn inherited_ticket(queue: &Queue, session: &SessionDir, fd: i32, seq: u64) -> Result<Ticket> {
    let path = queue
        .waiting_dir()
        .join(ticket::entry_name(seq, &session.id_string()));
    let inherited = std::fs::metadata(format!("/proc/self/fd/{fd}")).ok();
    let there = crate::store::files::metadata(&path).ok();
    let same = matches!((inherited, there), (Some(a), Some(b)) if a.dev() == b.dev() && a.ino() == b.ino());
    if !same {
        return Err(not_started_by_run().into());
    }
    let owned = sys::adopt_inherited_fd(fd).map_err(|_| not_started_by_run())?;
    sys::set_close_on_exec(&owned, true)?;
    Ok(Ticket {
        seq,
        file: File::from(owned),
        path,
    })
}

/// The refusal of a supervisor whose inherited descriptors are not the ones `csa run`
/// hands over (the session's lock, its queue entry): a user typed the hidden command.
pub fn not_started_by_run() -> crate::exit::Failure {
    crate::exit::Failure::new(
        exit::CSA_ERROR,
        "refusing to start the supervisor: `csa __supervise` is internal to `csa run` and was not started by it",
    )
}
