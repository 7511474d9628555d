//! Shell completion, completing session handles with the sessions in the store.
//!
//! `csa completions SHELL` prints a small registration script (`clap_complete`'s dynamic
//! completion): at each Tab the shell runs `CSA_COMPLETE=<shell> csa -- <words>`, and csa
//! answers from its own command-line definition, so a session argument is completed with
//! the IDs (and `last`, and names) of the sessions that exist, not with file names; a
//! queue, tag or tool with those that exist ([`values`]).

use std::ffi::OsStr;

use anyhow::Result;
use clap_complete::CompletionCandidate;
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};

use crate::cmd::args::CompletionsArgs;
use crate::store::session::StateRoot;

mod values;

pub use values::{queue_candidates, tag_candidates, tool_candidates};

/// The environment variable that asks csa for completions instead of running a command.
/// Not the library's generic `COMPLETE`, which other programs' environments may set.
pub const VAR: &str = "CSA_COMPLETE";

/// How many of the newest sessions are offered (and whose names are read).
const OFFERED: usize = 200;

/// Runs `csa completions`: prints the registration script for the shell. Exit 0; a reader
/// that went away is not an error.
pub fn exec(args: &CompletionsArgs) -> Result<u8> {
    let shell: &dyn EnvCompleter = match args.shell {
        clap_complete::Shell::Bash => &Bash,
        clap_complete::Shell::Zsh => &Zsh,
        clap_complete::Shell::Fish => &Fish,
        clap_complete::Shell::Elvish => &Elvish,
        _ => &Powershell,
    };
    let program = crate::directive::program_path();
    let mut script = Vec::new();
    shell
        .write_registration(VAR, "csa", "csa", &program.to_string_lossy(), &mut script)
        .map_err(|err| crate::exit::io_failure("cannot write the script", &err, "stdout"))?;
    crate::exit::write_stdout(&script, "the completion script")?;
    Ok(0)
}

/// Completion candidates for a session handle that starts with `current`: the IDs of the
/// newest sessions (their name or command as the description), `last`, and their names.
/// Reads the store's directory and the `session.toml` of at most [`OFFERED`] sessions.
pub fn session_candidates(current: &OsStr) -> Vec<CompletionCandidate> {
    let current = current.to_string_lossy();
    let upper = current.to_ascii_uppercase();
    let Ok(root) = StateRoot::from_env() else {
        return Vec::new();
    };
    let ids = root.session_ids().unwrap_or_default();
    let mut candidates = Vec::new();
    if "last".starts_with(current.as_ref()) && !ids.is_empty() {
        candidates.push(CompletionCandidate::new("last").help(Some("the newest session".into())));
    }
    let mut names = Vec::new();
    for id in ids.into_iter().take(OFFERED) {
        let session = root.session(id);
        let record = crate::cmd::view::session_record(&session).ok();
        let text = id.to_string();
        if text.starts_with(&upper) {
            let about = crate::cmd::list::describe(record.as_ref());
            let about = crate::term::one_line(&about, Some(60)).into_owned();
            candidates.push(CompletionCandidate::new(text).help(Some(about.into())));
        }
        if let Some(name) = record.and_then(|record| record.name)
            && name.starts_with(current.as_ref())
            && !names.contains(&name)
        {
            names.push(name);
        }
    }
    candidates.extend(
        names
            .into_iter()
            .map(|name| CompletionCandidate::new(name).help(Some("a session name".into()))),
    );
    candidates
}
