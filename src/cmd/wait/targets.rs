//! Which sessions a `wait` is for: the IDs given as arguments and with `--session`, in that
//! order, then the sessions with every `--tag` (oldest first), each once.

use std::collections::HashSet;

use anyhow::Result;

use crate::cmd::args::WaitArgs;
use crate::exit::{CSA_ERROR, Failure};
use crate::store::session::{SessionDir, StateRoot};
use crate::store::tags;

/// The sessions to wait for.
#[derive(Debug)]
pub struct Targets {
    /// Each session once, in the order described in the module documentation.
    pub sessions: Vec<SessionDir>,
    /// More than one handle, `--tag` or `--any` was given: a multi wait.
    pub multi: bool,
}

/// Resolves the handles and tags of `args`.
///
/// Errors (exit 125): a handle that names no session or is ambiguous; `--tag` that no
/// session carries.
pub fn resolve(root: &StateRoot, args: &WaitArgs) -> Result<Targets> {
    let handles: Vec<&String> = args.handles.iter().chain(&args.session).collect();
    let mut seen = HashSet::new();
    let mut sessions = Vec::new();
    for handle in &handles {
        let session = root.resolve(handle)?;
        if seen.insert(session.id) {
            sessions.push(session);
        }
    }
    if !args.tag.is_empty() {
        let tagged = tags::select(root, &args.tag)?;
        if tagged.is_empty() {
            return Err(Failure::new(
                CSA_ERROR,
                format!(
                    "no session has the tag{} {}: check the spelling with `csa session list --json` ({})",
                    if args.tag.len() == 1 { "" } else { "s" },
                    tags::describe(&args.tag),
                    root.sessions_dir().display()
                ),
            )
            .into());
        }
        sessions.extend(tagged.into_iter().filter(|s| seen.insert(s.id)));
    }
    Ok(Targets {
        sessions,
        multi: handles.len() > 1 || !args.tag.is_empty() || args.any,
    })
}
