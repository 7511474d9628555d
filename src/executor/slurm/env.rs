//! The job's environment on the node, whatever `sbatch` exports.
//!
//! A Slurm job inherits the environment `sbatch` exports: by default all of it, and there
//! `csa run` puts the `--env` pairs. But `--export=NONE` (or a site's `SBATCH_EXPORT=NONE`)
//! exports none of it. So `run` also writes the `--env` pairs to `env.toml` in the session
//! directory (0600, like every session file; only when there are some), and `csa __node`
//! sets them in the job's environment itself, with csa's own variables: `PWD` (the job's
//! directory), the `--env` pairs, `CSA_SESSION_ID`, `CSA_SESSION_DIR` and `CSA_STATE_DIR`
//! (the session's state root, so that a `csa run` inside the job joins its tree) — in that
//! order, a later one winning, as for a local session.

use std::process::Command;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::store::record;
use crate::store::session::SessionDir;

/// `env.toml`: the job's `--env` pairs.
pub const ENV_TOML: &str = "env.toml";

/// The content of `env.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobEnv {
    /// `--env KEY=VALUE` pairs, in the order given.
    pub env: Vec<(String, String)>,
}

/// Writes `env.toml` for `pairs` (nothing when there are none). Errors: it cannot be
/// written.
pub fn write(session: &SessionDir, pairs: &[(String, String)]) -> Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    let record = JobEnv {
        env: pairs.to_vec(),
    };
    record::write_atomic(&session.path, ENV_TOML, &record, false).map(drop)
}

/// The `--env` pairs of `env.toml`; none when it is missing. Errors: it cannot be read.
pub fn read(session: &SessionDir) -> Result<Vec<(String, String)>> {
    Ok(record::read::<JobEnv>(&session.file(ENV_TOML))?
        .map(|record| record.env)
        .unwrap_or_default())
}

/// Sets the job's variables on `command` (see the module documentation), `cwd` being the
/// job's directory. Errors: `env.toml` cannot be read.
pub fn apply(command: &mut Command, session: &SessionDir, cwd: &std::path::Path) -> Result<()> {
    command.env("PWD", cwd);
    command.envs(read(session)?);
    command
        .env("CSA_SESSION_ID", session.id_string())
        .env("CSA_SESSION_DIR", &session.path);
    // `<root>/sessions/<ID>`.
    if let Some(root) = session.path.parent().and_then(std::path::Path::parent) {
        command.env("CSA_STATE_DIR", root);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_keep_their_order_and_any_value() {
        let dir = tempfile::tempdir().unwrap();
        let session = SessionDir::sample(dir.path());
        write(&session, &[]).unwrap();
        assert!(!session.file(ENV_TOML).exists());
        let pairs = vec![
            ("B".to_owned(), "two words, \"quoted\"".to_owned()),
            ("A".to_owned(), "=".to_owned()),
            ("B".to_owned(), "later".to_owned()),
        ];
        write(&session, &pairs).unwrap();
        assert_eq!(read(&session).unwrap(), pairs);
    }
}
