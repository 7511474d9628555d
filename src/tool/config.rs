//! Configuration (docs/tools.md): the user's `$XDG_CONFIG_HOME/csa/config.toml` (else
//! `~/.config/csa/config.toml`), then the nearest `.csa/config.toml` from the job's working
//! directory upwards. A later file overrides an earlier one field by field, and both
//! override the built-in tools and queues:
//!
//! ```toml
//! [tools.review]
//! argv = ["claude", "-p", "--model", "opus", "--", "{prompt}"]
//! timeout = "30m"       # when `csa run` has no --timeout
//! queue = "agents"      # or false for none
//!
//! [queues.agents]
//! slots = 2             # the default slot count of the queue
//!
//! executor = "slurm"    # docs/slurm.md
//! [executors.slurm]
//! args = ["--partition=short"]
//! ```
//!
//! Loading costs a `stat` per ancestor of the working directory and a read of each file
//! that exists; `csa run` loads it once ([`Lazy`]).

use std::cell::OnceCell;
use std::io::{self, Read as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{AGENT_PRESETS, PRESET_QUEUE_SLOTS, Source, ToolDef, builtin};
use crate::exit::{CSA_ERROR, Failure};

mod file;
mod trust;

/// The largest configuration file csa reads (bytes).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The file name of the project configuration, relative to a directory.
pub const PROJECT_CONFIG: &str = ".csa/config.toml";

/// The slot count of a queue that neither the configuration nor the built-in presets give
/// one: 1, a serial queue (as nq and task-spooler).
pub const DEFAULT_QUEUE_SLOTS: u32 = 1;

/// A queue's configured default slot count (`[queues.NAME] slots = N`); `csa queue slots`
/// and `run --slots`, kept under the state root, take precedence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDef {
    /// The queue's name ([`crate::values::parse_label`]).
    pub name: String,
    /// Its default slot count, 1 to [`crate::queue::MAX_SLOTS`].
    pub slots: u32,
    /// Where the definition comes from.
    pub source: Source,
}

/// The tools, queue defaults and executor settings in effect for a working directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The tools `--tool` accepts: the built-in ones first, then those the files add.
    pub tools: Vec<ToolDef>,
    /// The queues with a default slot count: the presets' queues (3 slots each), then those
    /// the files add.
    pub queues: Vec<QueueDef>,
    /// What runs jobs by default, and each executor's `[executors.NAME]` keys (raw, for
    /// the executor to read: [`crate::executor::Settings`]).
    pub executor: crate::executor::Settings,
}

impl Config {
    /// The built-in tools and the presets' queues, without any configuration file.
    pub fn builtin() -> Self {
        Self {
            tools: builtin(),
            queues: AGENT_PRESETS
                .iter()
                .map(|&name| QueueDef {
                    name: name.to_owned(),
                    slots: PRESET_QUEUE_SLOTS,
                    source: Source::BuiltIn,
                })
                .collect(),
            executor: crate::executor::Settings::default(),
        }
    }

    /// The default slot count of the queue `name`: its `[queues.NAME] slots`, else 3 for the
    /// queues of the agent presets (codex, claude, gemini, opencode), else
    /// [`DEFAULT_QUEUE_SLOTS`]. A count set with `csa queue slots` or `run --slots` (kept
    /// under the state root) takes precedence over this one.
    pub fn default_slots(&self, name: &str) -> u32 {
        self.queues
            .iter()
            .find(|queue| queue.name == name)
            .map_or(DEFAULT_QUEUE_SLOTS, |queue| queue.slots)
    }
}

/// The configuration for a working directory, loaded on first use and then kept: `csa run`
/// needs it for a tool's prompt, the default slot count of a queue and the executor, and
/// reads the files once.
#[derive(Debug)]
pub struct Lazy<'a> {
    cwd: &'a Path,
    loaded: OnceCell<Config>,
}

impl<'a> Lazy<'a> {
    /// The configuration for a job whose working directory is `cwd`, not read yet.
    pub fn new(cwd: &'a Path) -> Self {
        Self {
            cwd,
            loaded: OnceCell::new(),
        }
    }

    /// The configuration, read now if it was not yet. Errors as [`load`].
    pub fn get(&self) -> Result<&Config> {
        if let Some(config) = self.loaded.get() {
            return Ok(config);
        }
        let config = load(self.cwd)?;
        Ok(self.loaded.get_or_init(|| config))
    }
}

/// The user configuration file: `$XDG_CONFIG_HOME/csa/config.toml` when `XDG_CONFIG_HOME`
/// is an absolute path, else `$HOME/.config/csa/config.toml`; `None` without either.
pub fn user_config_path() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = non_empty("XDG_CONFIG_HOME").filter(|d| Path::new(d).is_absolute()) {
        return Some(PathBuf::from(dir).join("csa/config.toml"));
    }
    non_empty("HOME").map(|home| PathBuf::from(home).join(".config/csa/config.toml"))
}

/// The nearest `.csa/config.toml` in `dir` or one of its ancestors, if any.
pub fn project_config_path(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join(PROJECT_CONFIG))
        .find(|path| path.is_file())
}

/// The configuration for a job whose working directory is `cwd`: the built-in tools and
/// queues with the user's and then the project's configuration applied.
///
/// Errors (exit 125): a configuration file that cannot be read, is not valid TOML, has
/// unknown keys, defines an unusable tool or queue, or names an executor csa does not have
/// or gives one a setting it refuses; the message names the file, the line and column,
/// and the key.
pub fn load(cwd: &Path) -> Result<Config> {
    let mut config = Config::builtin();
    for path in [user_config_path(), project_config_path(cwd)]
        .into_iter()
        .flatten()
    {
        if let Some(text) = read_config(&path)? {
            file::apply(&mut config, &path, &text)?;
        }
    }
    Ok(config)
}

/// Reads a configuration file; `None` when it does not exist.
///
/// Errors (exit 125): it cannot be read, is larger than [`MAX_CONFIG_BYTES`], or another
/// user could have written it ([`trust`]).
fn read_config(path: &Path) -> Result<Option<String>> {
    // Non-blocking: a FIFO put in its place is refused at once, not waited on.
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(crate::exit::io_failure(
                "cannot read the config",
                &err,
                path.display(),
            ));
        }
    };
    let meta = file
        .metadata()
        .map_err(|err| crate::exit::io_failure("cannot read the config", &err, path.display()))?;
    trust::check(path, &meta)?;
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|err| crate::exit::io_failure("cannot read the config", &err, path.display()))?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(malformed(path, &text, None, "larger than 1 MiB"));
    }
    Ok(Some(text))
}

/// An error naming `path` and, when known, the line and column of byte offset `at`:
/// `malformed config: WHY (PATH:LINE:COLUMN)`, exit 125.
fn malformed(path: &Path, text: &str, at: Option<usize>, why: &str) -> anyhow::Error {
    let place = match at {
        Some(offset) => {
            let before = &text[..offset.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("{}:{line}:{column}", path.display())
        }
        None => path.display().to_string(),
    };
    let why = why.trim().replace('\n', " ");
    Failure::new(CSA_ERROR, format!("malformed config: {why} ({place})")).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_slots_of_preset_and_other_queues() {
        let config = Config::builtin();
        for name in AGENT_PRESETS {
            assert_eq!(config.default_slots(name), PRESET_QUEUE_SLOTS);
        }
        assert_eq!(config.default_slots("build"), DEFAULT_QUEUE_SLOTS);
    }
}
