//! The executor keys of one configuration file: `executor = "NAME"` and the
//! `[executors.NAME]` tables. A name must be one of csa's executors ([`crate::executor::ALL`]);
//! each table is checked key by key by the executor it names
//! ([`crate::executor::Executor::settings_keys`], `check_setting`) and kept raw for it, a key
//! replacing the same key of an earlier file.

use std::collections::BTreeMap;

use anyhow::Result;
use toml::Spanned;

use super::{Place, malformed};
use crate::executor::{self, Executor, Settings};
use crate::store::record::ExecutorName;

/// The `[executors.NAME]` tables of a file, each key and value with its place.
pub(super) type Tables = BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<toml::Value>>>;

/// Applies a file's `executor` and `[executors.NAME]` tables to `settings`.
///
/// Errors (exit 125, naming the file, line and column, as serde's messages for unknown
/// keys do): an executor csa does not have, a table for an executor without settings, a
/// key the executor does not take, a value it refuses (with the key: `executors.slurm.args:
/// invalid type: …`).
pub(super) fn apply(
    settings: &mut Settings,
    place: &Place<'_>,
    default: Option<Spanned<String>>,
    tables: Tables,
) -> Result<()> {
    if let Some(name) = default {
        let at = name.span().start;
        let unknown = || {
            let why = unknown("variant", name.get_ref(), executor::names());
            malformed(place.path, place.text, Some(at), &why)
        };
        let known = executor::find(name.get_ref()).ok_or_else(unknown)?;
        settings.default = Some(ExecutorName::new(known.name())?);
    }
    for (name, table) in tables {
        let with_settings = || {
            executor::ALL
                .iter()
                .filter(|executor| !executor.settings_keys().is_empty())
                .map(|executor| executor.name())
        };
        let Some(executor) =
            executor::find(name.get_ref()).filter(|executor| !executor.settings_keys().is_empty())
        else {
            let why = unknown("field", name.get_ref(), with_settings());
            return Err(malformed(
                place.path,
                place.text,
                Some(name.span().start),
                &why,
            ));
        };
        let kept = settings
            .tables
            .entry(executor.name().to_owned())
            .or_default();
        for (key, value) in table {
            check(executor, place, &key, &value)?;
            kept.insert(key.into_inner(), value.into_inner());
        }
    }
    Ok(())
}

/// Checks `key = value` of `[executors.NAME]` with its executor.
fn check(
    executor: &dyn Executor,
    place: &Place<'_>,
    key: &Spanned<String>,
    value: &Spanned<toml::Value>,
) -> Result<()> {
    let keys = executor.settings_keys();
    if !keys.contains(&key.get_ref().as_str()) {
        let why = unknown("field", key.get_ref(), keys.iter().copied());
        return Err(malformed(
            place.path,
            place.text,
            Some(key.span().start),
            &why,
        ));
    }
    executor
        .check_setting(key.get_ref(), value.get_ref())
        .map_err(|why| {
            let name = format!("executors.{}.{}", executor.name(), key.get_ref());
            place.error(value.span().start, &name, why)
        })
}

/// "unknown field `x`, expected `a` or `b`", worded as serde words it for a struct's
/// fields or an enum's variants (`what`), with the names that would do.
fn unknown<'a>(what: &str, given: &str, expected: impl Iterator<Item = &'a str>) -> String {
    let expected: Vec<String> = expected.map(|name| format!("`{name}`")).collect();
    let tail = match expected.as_slice() {
        [] => format!("there are no {what}s"),
        [one] => format!("expected {one}"),
        [one, two] => format!("expected {one} or {two}"),
        more => format!("expected one of {}", more.join(", ")),
    };
    format!("unknown {what} `{given}`, {tail}")
}

#[cfg(test)]
mod tests {
    use super::unknown;

    #[test]
    fn unknown_names_are_worded_as_serde_words_them() {
        assert_eq!(
            unknown("field", "kube", ["slurm"].into_iter()),
            "unknown field `kube`, expected `slurm`"
        );
        assert_eq!(
            unknown("variant", "cloud", ["local", "slurm"].into_iter()),
            "unknown variant `cloud`, expected `local` or `slurm`"
        );
        assert_eq!(
            unknown("field", "x", ["a", "b", "c"].into_iter()),
            "unknown field `x`, expected one of `a`, `b`, `c`"
        );
        assert_eq!(
            unknown("field", "x", [].into_iter()),
            "unknown field `x`, there are no fields"
        );
    }
}
