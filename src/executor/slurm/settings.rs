//! The Slurm executor's settings: `[executors.slurm]` in the configuration files
//! (docs/slurm.md), handed over raw by csa's configuration ([`crate::executor::settings`]).
//!
//! ```toml
//! [executors.slurm]
//! args = ["--partition=batch"]   # sbatch options for every job
//! csa = "/shared/bin/csa"        # csa on the compute nodes
//! ```

use std::path::PathBuf;

use anyhow::{Result, anyhow};

use crate::executor::settings::{Table, get, value_as};

/// The keys of `[executors.slurm]`.
pub(super) const KEYS: &[&str] = &["args", "csa"];

/// `[executors.slurm]`, read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct SlurmSettings {
    /// `args`: `sbatch` options for every Slurm session, before the `--slurm-arg`s.
    pub args: Vec<String>,
    /// `csa`: the path of csa on the compute nodes (default: this csa's own path).
    pub csa: Option<PathBuf>,
}

impl SlurmSettings {
    /// Reads the keys of `table` (each checked by [`check`] as its file was read).
    ///
    /// Errors: a value of the wrong type (as [`check`]).
    pub(super) fn read(table: &Table) -> Result<Self> {
        Ok(Self {
            args: get(table, "args")?.unwrap_or_default(),
            csa: get(table, "csa")?,
        })
    }
}

/// Checks the value of `key` (one of [`KEYS`]): `args` is a list of strings, `csa` a path.
///
/// Errors: a value of another type (serde's message), a key not in [`KEYS`].
pub(super) fn check(key: &str, value: &toml::Value) -> Result<()> {
    match key {
        "args" => value_as::<Vec<String>>(value).map(drop),
        "csa" => value_as::<PathBuf>(value).map(drop),
        other => Err(anyhow!("unknown field `{other}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_args_and_csa() {
        let table: Table =
            toml::from_str("args = [\"-p\", \"short\"]\ncsa = \"/opt/csa\"\n").unwrap();
        let settings = SlurmSettings::read(&table).unwrap();
        assert_eq!(settings.args, ["-p", "short"]);
        assert_eq!(settings.csa, Some(PathBuf::from("/opt/csa")));
        assert_eq!(
            SlurmSettings::read(&Table::new()).unwrap(),
            SlurmSettings::default()
        );
        let wrong = toml::Value::String("x".into());
        let why = check("args", &wrong).unwrap_err().to_string();
        assert!(why.contains("expected a sequence"), "{why}");
        assert!(check("csa", &toml::Value::Integer(3)).is_err());
    }
}
