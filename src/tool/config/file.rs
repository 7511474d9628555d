//! One configuration file: its TOML shape, and how it changes the tools and queues defined
//! before it. Every error names the key (`tools.codex.timeout`), the file, line and column.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

use super::{Config, QueueDef, malformed};
use crate::queue::MAX_SLOTS;
use crate::tool::{DIRECT_TOOL, PROMPT_PLACEHOLDER, Source, ToolDef};
use crate::values::{parse_label, parse_limit};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    tools: BTreeMap<String, Spanned<ToolEntry>>,
    #[serde(default)]
    queues: BTreeMap<String, Spanned<QueueEntry>>,
    /// `executor = "NAME"`: what runs jobs by default.
    executor: Option<Spanned<String>>,
    /// `[executors.NAME]`: each executor's own keys ([`executors`]).
    #[serde(default)]
    executors: executors::Tables,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolEntry {
    argv: Option<Vec<String>>,
    stdin: Option<bool>,
    stdin_argv: Option<Spanned<Vec<String>>>,
    timeout: Option<Spanned<Setting>>,
    idle_timeout: Option<Spanned<Setting>>,
    queue: Option<Spanned<Setting>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueueEntry {
    slots: Spanned<i64>,
}

/// A value that is a string, `true` or `false` (`timeout = false`, `queue = "agents"`).
#[derive(Debug)]
enum Setting {
    Flag(bool),
    Text(String),
}

impl<'de> Deserialize<'de> for Setting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SettingVisitor;
        impl Visitor<'_> for SettingVisitor {
            type Value = Setting;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, or true or false")
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Setting, E> {
                Ok(Setting::Flag(value))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Setting, E> {
                Ok(Setting::Text(value.to_owned()))
            }
        }
        deserializer.deserialize_any(SettingVisitor)
    }
}

/// Where in a file a value is, to name it in errors.
struct Place<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Place<'_> {
    fn error(&self, at: usize, key: &str, why: impl std::fmt::Display) -> anyhow::Error {
        malformed(self.path, self.text, Some(at), &format!("{key}: {why:#}"))
    }
}

/// Applies the configuration `text` of `path` to `config`.
pub(super) fn apply(config: &mut Config, path: &Path, text: &str) -> Result<()> {
    let file: ConfigFile = toml::from_str(text)
        .map_err(|err| malformed(path, text, err.span().map(|s| s.start), err.message()))?;
    let place = Place { path, text };
    executors::apply(&mut config.executor, &place, file.executor, file.executors)?;
    for (name, entry) in file.tools {
        let at = entry.span().start;
        apply_tool(config, &place, &name, at, entry.into_inner())?;
    }
    for (name, entry) in file.queues {
        let at = entry.span().start;
        let key = format!("queues.{name}");
        parse_label(&name).map_err(|why| place.error(at, &key, why))?;
        let slots = entry.into_inner().slots;
        let count = u32::try_from(*slots.get_ref())
            .ok()
            .filter(|n| (1..=MAX_SLOTS).contains(n))
            .ok_or_else(|| {
                let why = format!(
                    "invalid slot count {}: give a number from 1 to {MAX_SLOTS}",
                    slots.get_ref()
                );
                place.error(slots.span().start, &format!("{key}.slots"), &why)
            })?;
        let def = QueueDef {
            name: name.clone(),
            slots: count,
            source: Source::File(path.to_path_buf()),
        };
        match config.queues.iter_mut().find(|q| q.name == name) {
            Some(existing) => *existing = def,
            None => config.queues.push(def),
        }
    }
    Ok(())
}

/// Applies `[tools.NAME]`, which starts at byte `at`, to `config`.
fn apply_tool(
    config: &mut Config,
    place: &Place<'_>,
    name: &str,
    at: usize,
    entry: ToolEntry,
) -> Result<()> {
    let key = format!("tools.{name}");
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        let why = format!("tool name `{name}` must be letters, digits, `-`, `_` or `.`");
        return Err(place.error(at, &key, &why));
    }
    if name == DIRECT_TOOL {
        let why = format!("tool name `{name}` is reserved for `csa run -- PROGRAM`");
        return Err(place.error(at, &key, &why));
    }
    let tools = &mut config.tools;
    let index = tools
        .iter()
        .position(|def| def.name == name)
        .unwrap_or_else(|| {
            tools.push(ToolDef::empty(name, Source::BuiltIn));
            tools.len() - 1
        });
    let def = &mut tools[index];
    if let Some(argv) = entry.argv {
        def.argv = argv;
        def.stdin_argv = None;
    }
    if let Some(stdin) = entry.stdin {
        def.stdin = stdin;
    }
    if let Some(argv) = entry.stdin_argv {
        let why = check_command(argv.get_ref()).err().or_else(|| {
            argv.get_ref()
                .iter()
                .any(|a| a.contains(PROMPT_PLACEHOLDER))
                .then(|| anyhow!("the prompt goes on standard input; remove {{prompt}}"))
        });
        if let Some(why) = why {
            return Err(place.error(argv.span().start, &format!("{key}.stdin_argv"), &why));
        }
        def.stdin_argv = Some(argv.into_inner());
    }
    if let Some(timeout) = entry.timeout {
        let at = timeout.span().start;
        def.timeout = limit_setting(timeout.into_inner())
            .map_err(|why| place.error(at, &format!("{key}.timeout"), why))?;
    }
    if let Some(idle) = entry.idle_timeout {
        let at = idle.span().start;
        def.idle_timeout = limit_setting(idle.into_inner())
            .map_err(|why| place.error(at, &format!("{key}.idle_timeout"), why))?;
    }
    if let Some(queue) = entry.queue {
        let at = queue.span().start;
        def.queue = queue_setting(queue.into_inner(), name)
            .map_err(|why| place.error(at, &format!("{key}.queue"), why))?;
    }
    def.source = Source::File(place.path.to_path_buf());
    validate(def).map_err(|why| place.error(at, &key, why))
}

/// `timeout = "30m"` → that duration; `timeout = false` or `"none"` → none (the same for
/// `idle_timeout`).
fn limit_setting(setting: Setting) -> Result<Option<Duration>> {
    match setting {
        Setting::Flag(false) => Ok(None),
        Setting::Flag(true) => {
            bail!("give a duration such as \"30m\" or \"2h\", or false for none")
        }
        Setting::Text(text) => parse_limit(&text).map(|limit| limit.0),
    }
}

/// `queue = "NAME"` → that queue; `queue = true` → the queue named after the tool;
/// `queue = false` → none.
fn queue_setting(setting: Setting, tool: &str) -> Result<Option<String>> {
    match setting {
        Setting::Flag(false) => Ok(None),
        Setting::Flag(true) => parse_label(tool).map(Some),
        Setting::Text(text) => parse_label(&text).map(Some),
    }
}

/// Checks that `argv` can be executed: a non-empty program name, no NUL.
fn check_command(argv: &[String]) -> Result<()> {
    match argv.first() {
        None => bail!("the command line is missing or empty"),
        Some(program) if program.is_empty() => bail!("argv[0] is empty"),
        Some(_) => {}
    }
    if argv.iter().any(|a| a.contains('\0')) {
        bail!("the command line contains a NUL character");
    }
    Ok(())
}

/// Checks that a tool can turn a prompt into a command line.
fn validate(def: &ToolDef) -> Result<()> {
    check_command(&def.argv).map_err(|why| match def.argv.first() {
        None => anyhow!("`argv` is missing or empty"),
        Some(_) => why,
    })?;
    if def.stdin {
        if def.stdin_command().is_none() {
            bail!(
                "with `stdin = true` the prompt goes on standard input; remove {{prompt}} from the arguments, or set `stdin_argv`"
            );
        }
    } else if !def.argv.iter().any(|a| a.contains(PROMPT_PLACEHOLDER)) {
        bail!("argv has no \"{{prompt}}\"; add it where the prompt goes, or set `stdin = true`");
    }
    Ok(())
}

mod executors;

#[cfg(test)]
mod tests;
