//! A new session's place under its parent, decided by `csa run` before the session can start
//! a job: it lists itself in its parent's `children/`, then reads its ancestors' stop
//! requests (the order [`super::stop`] relies on), and is refused when one of them is being
//! stopped. A session whose parent has ended starts without one: a finished session never
//! gains children (a `CSA_SESSION_ID` left in some shell or leftover process names one).

use anyhow::Result;
use ulid::Ulid;

use super::{CHILDREN, is_live, lineage};
use crate::exit::Failure;
use crate::store::files;
use crate::store::session::SessionDir;
use crate::store::stop_request::{self, StopRequest};

/// Lists `child` — a session `csa run` is creating, its `lock` already held, not yet
/// visible under its ID — among the children of `parent` (the session whose job runs this
/// `csa run`, from `CSA_SESSION_ID`), then decides:
/// - `Ok(Some(parent))`: the child belongs to `parent`'s tree;
/// - `Ok(None)`: `parent` has ended — the listing is taken back, and one line on stderr says
///   that the session starts without a parent;
/// - `Err`: `parent` or one of its live ancestors is being stopped (its `stop.toml`): the
///   listing is taken back and no session may be created. Exit code 128 + N, N being the
///   stop's signal (143 for SIGTERM), as that signal is about to end the caller.
///
/// Errors also when the listing cannot be written (exit 125, naming the path).
pub fn adopt(parent: &SessionDir, child: Ulid) -> Result<Option<SessionDir>> {
    if !is_live(parent) {
        orphaned(parent);
        return Ok(None);
    }
    register(parent, child)?;
    // After the listing, never before: a stop that wrote its request before this read lists
    // the children after it, and one that wrote it after lists this one.
    if let Some((ancestor, request)) = stopping(parent) {
        unregister(parent, child);
        return Err(refusal(parent, &ancestor, &request));
    }
    if !is_live(parent) {
        unregister(parent, child);
        orphaned(parent);
        return Ok(None);
    }
    Ok(Some(parent.clone()))
}

/// Takes back the listing of `child` under `parent` (a `csa run` that failed after
/// [`adopt`]). Best effort.
pub fn unregister(parent: &SessionDir, child: Ulid) {
    let _ = files::remove_file(&parent.file(CHILDREN).join(child.to_string()));
}

/// The first of `parent` and its ancestors that is live and has a stop request, with the
/// request.
fn stopping(parent: &SessionDir) -> Option<(SessionDir, StopRequest)> {
    lineage(parent).into_iter().find_map(|session| {
        let request = stop_request::requested(&session)?;
        is_live(&session).then_some((session, request))
    })
}

/// Creates `children/<child>` in `parent` (the directory 0700, the file 0600, empty),
/// never through a symbolic link ([`crate::store::files`]).
fn register(parent: &SessionDir, child: Ulid) -> Result<()> {
    let children = parent.file(CHILDREN);
    files::ensure_dir(&children)
        .and_then(|()| {
            files::Options::write()
                .create_new()
                .open(&children.join(child.to_string()))
                .map(drop)
        })
        .map_err(|err| {
            files::failure(
                "cannot record the session as a child of its parent",
                &err,
                &children,
            )
        })
}

/// Says that the session starts without a parent, `parent` having ended.
fn orphaned(parent: &SessionDir) {
    crate::note!(
        "CSA_SESSION_ID names session {}, which has ended: the new session starts without a parent (a finished session gains no children)",
        parent.id_string()
    );
}

/// The refusal of a session under a stopping `ancestor` (`parent` itself or above it).
fn refusal(parent: &SessionDir, ancestor: &SessionDir, request: &StopRequest) -> anyhow::Error {
    let whom = if ancestor.id == parent.id {
        format!("its parent session {}", parent.id_string())
    } else {
        format!(
            "session {}, an ancestor of its parent session {},",
            ancestor.id_string(),
            parent.id_string()
        )
    };
    let code = crate::exit::from_signal(request.signal);
    Failure::new(
        code,
        format!(
            "not starting a session: {whom} is being stopped ({}); no session was created ({})",
            request.by,
            ancestor.path.display()
        ),
    )
    .into()
}
