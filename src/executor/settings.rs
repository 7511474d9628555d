//! The executors' part of the configuration files (docs/tools.md): `executor = "NAME"`, the
//! executor `csa run` uses without `--executor`, and each executor's `[executors.NAME]`
//! table. csa's configuration ([`crate::tool::config`]) keeps each table raw; the executor
//! it names says which keys it takes and checks each value as a file is read
//! ([`super::Executor::settings_keys`], [`super::Executor::check_setting`]), and reads them
//! when it plans a session ([`super::Executor::plan`]).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use anyhow::{Result, anyhow};
use serde::de::DeserializeOwned;

use super::Executor;
use crate::store::record::ExecutorName;

/// One executor's `[executors.NAME]` keys, raw.
pub type Table = toml::Table;

/// The executor keys of the configuration files, a later file's overriding an earlier
/// one's key by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// `executor = "NAME"`: the executor `csa run` uses without `--executor`, when set (one
    /// this csa has: checked as the file was read).
    pub default: Option<ExecutorName>,
    /// Each executor's `[executors.NAME]` keys, by the executor's name (each key one the
    /// executor takes, its value checked by it as the file was read).
    pub tables: BTreeMap<String, Table>,
}

impl Settings {
    /// The `[executors.NAME]` keys of `executor`; none when no file sets any.
    pub fn of(&self, executor: &dyn Executor) -> &Table {
        static NONE: LazyLock<Table> = LazyLock::new(Table::new);
        self.tables.get(executor.name()).unwrap_or(&NONE)
    }
}

/// The value of `key` in `table` as a `T`, `None` when the key is not set. For an
/// executor's [`super::Executor::plan`].
///
/// Errors: the value is not a `T`, as [`value_as`] says.
pub fn get<T: DeserializeOwned>(table: &Table, key: &str) -> Result<Option<T>> {
    table.get(key).map(value_as).transpose()
}

/// `value` as a `T`. For an executor's [`super::Executor::check_setting`].
///
/// Errors: the value is not a `T` (serde's message, e.g. "invalid type: string \"x\",
/// expected a sequence").
pub fn value_as<T: DeserializeOwned>(value: &toml::Value) -> Result<T> {
    value
        .clone()
        .try_into()
        .map_err(|err: toml::de::Error| anyhow!("{}", err.message().trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_their_type() {
        let table: Table = toml::from_str("args = [\"-p\", \"x\"]\ncsa = 3\n").unwrap();
        let args: Option<Vec<String>> = get(&table, "args").unwrap();
        assert_eq!(args.unwrap(), ["-p", "x"]);
        assert_eq!(get::<String>(&table, "missing").unwrap(), None);
        let wrong = get::<String>(&table, "csa").unwrap_err().to_string();
        assert!(wrong.contains("invalid type: integer"), "{wrong}");
    }
}
