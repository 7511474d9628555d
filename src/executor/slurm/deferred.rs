//! A submission deferred until the session is admitted. A Slurm session that waits for its
//! dependencies (`--after`) or a queue slot is submitted by its watcher, later — so what
//! the watcher needs to submit it is kept in the session directory (`submit.toml`, 0600):
//! the `sbatch` options, csa's path on the nodes, and the environment `csa run` had (the
//! job's, as `sbatch` exports it), with the queue's default slot count. When the watcher
//! dies before it submitted the job, the next look starts a new one from it
//! ([`super::resume`]): it waits for the dependencies and a slot again (at the back of the
//! queue) and submits the job as the first would have, instead of the session becoming
//! `lost`.

use std::ffi::OsString;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::store::record;
use crate::store::session::SessionDir;

/// `submit.toml`.
pub const SUBMIT_TOML: &str = "submit.toml";

/// The content of `submit.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deferred {
    /// The `sbatch` options (the backstop `--time`, the configured ones, `--slurm-arg`s).
    pub args: Vec<String>,
    /// csa's path on the compute nodes.
    pub csa: String,
    /// The queue's slot count when none was set with `csa queue slots`.
    pub slots_default: u32,
    /// The watcher's environment: `csa run`'s, with the job's additions (variables whose
    /// name or value is not UTF-8 are left out).
    pub env: Vec<(String, String)>,
}

impl Deferred {
    /// What to keep: `args` and `csa` as the watcher is given them, and the environment
    /// `env` (the watcher's).
    pub fn new(
        args: &[OsString],
        csa: &OsString,
        slots_default: u32,
        env: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Self {
        Self {
            args: args
                .iter()
                .map(|arg| arg.to_string_lossy().into_owned())
                .collect(),
            csa: csa.to_string_lossy().into_owned(),
            slots_default,
            env: env
                .into_iter()
                .filter_map(|(key, value)| {
                    Some((key.into_string().ok()?, value.into_string().ok()?))
                })
                .collect(),
        }
    }
}

/// Writes `submit.toml`. Errors: it cannot be written.
pub fn write(session: &SessionDir, deferred: &Deferred) -> Result<()> {
    record::write_atomic(&session.path, SUBMIT_TOML, deferred, false).map(drop)
}

/// `submit.toml`, if the session's submission was deferred.
pub fn read(session: &SessionDir) -> Option<Deferred> {
    record::read(&session.file(SUBMIT_TOML)).ok().flatten()
}
