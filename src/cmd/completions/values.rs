//! Completion candidates for the values of `--queue`, `--tag` and `--tool`: the queues, tags
//! and tools that exist, read the way `queue list`, `session list --tag` and `csa tools` read
//! them. A look only: nothing is created, tidied or written.

use std::ffi::OsStr;

use clap_complete::CompletionCandidate;

use super::OFFERED;
use crate::store::record::{self, SessionRecord};
use crate::store::session::{self, StateRoot};
use crate::tool::config::{self, Config};

/// The configuration for the current directory, else the built-in one (a malformed file
/// must not break the shell's Tab).
fn config() -> Config {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| config::load(&cwd).ok())
        .unwrap_or_else(Config::builtin)
}

/// Keeps the names that start with `current`, once each, in the order given.
fn starting_with(current: &OsStr, named: Vec<(String, String)>) -> Vec<CompletionCandidate> {
    let current = current.to_string_lossy();
    let mut seen: Vec<String> = Vec::new();
    let mut candidates = Vec::new();
    for (name, about) in named {
        if name.starts_with(current.as_ref()) && !seen.contains(&name) {
            candidates.push(CompletionCandidate::new(name.clone()).help(Some(about.into())));
            seen.push(name);
        }
    }
    candidates
}

/// Queue names: those under the state root (with their slot count) and those configured
/// (the agent presets' queues, `[queues.NAME]`), sorted by name.
pub fn queue_candidates(current: &OsStr) -> Vec<CompletionCandidate> {
    let config = config();
    let mut named: Vec<(String, String)> = StateRoot::from_env()
        .map(|root| crate::queue::all(&root))
        .unwrap_or_default()
        .into_iter()
        .map(|queue| {
            let slots = queue
                .set_slots()
                .ok()
                .flatten()
                .unwrap_or_else(|| config.default_slots(&queue.name));
            let about = crate::term::count(u64::from(slots), "slot", "slots");
            (queue.name, about)
        })
        .collect();
    named.extend(config.queues.iter().map(|queue| {
        let slots = crate::term::count(u64::from(queue.slots), "slot", "slots");
        (queue.name.clone(), format!("{slots} by default"))
    }));
    named.sort_by(|a, b| a.0.cmp(&b.0));
    starting_with(current, named)
}

/// Tags carried by the newest [`OFFERED`] sessions, most recently used first.
pub fn tag_candidates(current: &OsStr) -> Vec<CompletionCandidate> {
    let Ok(root) = StateRoot::from_env() else {
        return Vec::new();
    };
    let mut named = Vec::new();
    for id in root
        .session_ids()
        .unwrap_or_default()
        .into_iter()
        .take(OFFERED)
    {
        let file = root.session(id).file(session::SESSION_TOML);
        if let Ok(Some(record)) = record::read::<SessionRecord>(&file) {
            named.extend(record.tags.into_iter().map(|tag| (tag, "a tag".to_owned())));
        }
    }
    starting_with(current, named)
}

/// The tools `--tool` accepts here: built in and configured, with where each comes from.
pub fn tool_candidates(current: &OsStr) -> Vec<CompletionCandidate> {
    let named = config()
        .tools
        .into_iter()
        .map(|tool| (tool.name, tool.source.to_string()))
        .collect();
    starting_with(current, named)
}
