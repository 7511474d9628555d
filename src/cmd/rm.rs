//! `csa session rm` (`csa rm`): remove sessions that have ended, each with its descendants
//! ([`crate::tree::remove`]), and say what was removed; refuse a session whose tree still
//! runs, saying which session runs and how to stop it.
//!
//! **Looks and heals** as `clean` does (a Slurm session whose watcher died is re-adopted,
//! not removed).

use std::io::{self, Write as _};

use anyhow::Result;

use crate::cmd::args::RmArgs;
use crate::store::session::StateRoot;

/// Runs `csa session rm`. Every handle is resolved first: an unknown or ambiguous one is an
/// error (125) and nothing is removed. Exit 0 when every session named was removed; 1 when
/// a session's tree was left in place because some of it runs or waits (the others are
/// removed all the same); 125 when a directory cannot be removed.
pub fn exec(args: &RmArgs) -> Result<u8> {
    let root = StateRoot::from_env()?;
    let sessions = args
        .handles
        .iter()
        .map(|handle| root.resolve(handle))
        .collect::<Result<Vec<_>>>()?;
    let removal = crate::tree::remove(&sessions);
    let mut stdout = io::stdout().lock();
    let mut printed = Ok(());
    for session in &removal.removed {
        if printed.is_ok() {
            printed = writeln!(stdout, "removed {}", session.id_string());
        }
    }
    let printed = printed.and_then(|()| stdout.flush());
    let mut code = crate::exit::SUCCESS;
    for (session, err) in &removal.failed {
        let id = session.id_string();
        crate::note!(
            "cannot remove session {id}: {}",
            format!("{err:#}").replace('\n', " ")
        );
        code = crate::exit::CSA_ERROR;
    }
    for (session, why) in &removal.refused {
        let id = session.id_string();
        let stop = crate::directive::csa_command(&["session", "kill", "--session", &id]);
        crate::note!(
            "not removing session {id}: {why}; nothing of its tree was removed (stop it first: {stop})"
        );
        if code == crate::exit::SUCCESS {
            code = crate::exit::RM_REFUSED;
        }
    }
    crate::exit::stdout_written(printed, "the list of removed sessions")?;
    Ok(code)
}
