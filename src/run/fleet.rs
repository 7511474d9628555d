//! What places a new session in a fleet: its queue, its dependencies and its parent.

use std::ffi::OsString;
use std::os::fd::AsRawFd as _;

use anyhow::Result;

use crate::admission::Conditions;
use crate::exit::{CSA_ERROR, Failure};
use crate::queue::{Queue, ticket};
use crate::store::files;
use crate::store::session::{self, SessionDir, StateRoot};
use crate::sys;
use crate::tool::{self, Job};

/// A new session's place in the fleet, decided before its directory exists.
#[derive(Debug)]
pub(in crate::run) struct Fleet {
    /// What the job waits for (the queue entry is added by [`join`]).
    pub admission: Conditions,
    /// The session whose job runs this `csa run` (from `CSA_SESSION_ID`), unless
    /// `--detach-from-parent`.
    pub parent: Option<SessionDir>,
}

/// Reads the fleet options: resolves `--after` handles to full IDs, picks the queue
/// (`--queue`, else the tool's, unless `--no-queue`) and its configured default slot count,
/// and finds the parent session.
///
/// Errors: an `--after` handle that names no session or several (exit 2), or a store
/// that cannot be read (exit 125); `--slots` without a queue
/// (exit 2); a malformed configuration file (exit 125).
pub(in crate::run) fn plan(
    args: &super::Request,
    job: &Job,
    root: &StateRoot,
    config: &tool::config::Lazy<'_>,
) -> Result<Fleet> {
    let fleet = &args.fleet;
    let mut after = Vec::new();
    for handle in &fleet.after {
        let id = root
            .resolve(handle)
            .map_err(|err| {
                // Naming no session is a mistake on the command line: exit 2.
                if session::is_handle_mistake(&err) {
                    Failure::new(crate::exit::USAGE, format!("cannot use --after: {err}")).into()
                } else {
                    err.context("cannot use --after")
                }
            })?
            .id_string();
        if !after.contains(&id) {
            after.push(id);
        }
    }
    let queue = if fleet.no_queue {
        None
    } else {
        fleet.queue.clone().or_else(|| job.queue.clone())
    };
    if fleet.slots.is_some() && queue.is_none() {
        return Err(Failure::new(
            crate::exit::USAGE,
            "cannot use --slots without a queue: add --queue NAME (--slots)",
        )
        .into());
    }
    let slots_default = match &queue {
        Some(name) => config.get()?.default_slots(name),
        None => tool::config::DEFAULT_QUEUE_SLOTS,
    };
    let parent = if fleet.detach_from_parent {
        None
    } else {
        parent(root)
    };
    Ok(Fleet {
        admission: Conditions {
            after,
            queue,
            slots_default,
            ticket: None,
        },
        parent,
    })
}

/// The session this `csa run` runs in, from `CSA_SESSION_ID`, when it is a session of the
/// same state root that is still there (whether it may still gain children is decided when
/// the new session is created: [`crate::tree::birth::adopt`]).
fn parent(root: &StateRoot) -> Option<SessionDir> {
    let id = std::env::var("CSA_SESSION_ID").ok()?;
    let id = ulid::Ulid::from_string(&id).ok()?;
    let parent = root.session(id);
    files::is_dir(&parent.path).then_some(parent)
}

/// Records the new session in its fleet, before its supervisor starts: marks it `queued`
/// when it waits, sets `--slots`, and — when it waits for a slot and for nothing else —
/// joins the queue now, so that the queue's order is the order of submission. (Its parent
/// lists it earlier: [`crate::tree::birth::adopt`].)
///
/// Errors name the file that could not be written.
pub(in crate::run) fn join(
    fleet: &mut Fleet,
    args: &super::Request,
    root: &StateRoot,
    session: &SessionDir,
) -> Result<()> {
    if fleet.admission.is_empty() {
        return Ok(());
    }
    let marker = session.file(session::QUEUED);
    files::Options::write()
        .create_new()
        .open(&marker)
        .map_err(|err| files::failure("cannot create", &err, &marker))?;
    if let Some(name) = &fleet.admission.queue {
        let queue = Queue::new(root, name);
        if let Some(slots) = args.fleet.slots {
            queue.store_slots(slots)?;
        }
        if fleet.admission.after.is_empty() {
            fleet.admission.ticket = Some(ticket::enqueue(&queue, &session.id_string())?);
        }
    }
    Ok(())
}

/// Adds the gate to the supervisor's arguments and hands the queue entry over (its
/// descriptor is inherited).
pub(in crate::run) fn pass_on(fleet: &Fleet, argv: &mut Vec<OsString>) -> Result<()> {
    let gate = &fleet.admission;
    argv.extend(crate::executor::admission_args(
        &gate.after,
        gate.queue.as_deref(),
        gate.slots_default,
    ));
    if let Some(ticket) = &gate.ticket {
        sys::set_close_on_exec(&ticket.file, false).map_err(|err| {
            Failure::new(CSA_ERROR, format!("cannot pass the queue entry on: {err}"))
        })?;
        argv.extend([
            "--queue-fd".into(),
            ticket.file.as_raw_fd().to_string().into(),
            "--queue-seq".into(),
            ticket.seq.to_string().into(),
        ]);
    }
    Ok(())
}
