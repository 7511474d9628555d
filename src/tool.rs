//! Tools (docs/tools.md): how a prompt becomes a job's command line, with the tool's default
//! timeout and queue, and the checks that the program exists and is executable before a
//! session is created.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::exit::{Failure, USAGE};
use crate::store::record::StdinSource;

pub mod config;
mod preset;
mod program;

pub use preset::{AGENT_PRESETS, PRESET_QUEUE_SLOTS, builtin};
pub use program::{check_executable, check_job};

/// Prompts longer than this (bytes) go to the job on standard input instead of argv.
pub const ARGV_PROMPT_LIMIT: usize = 100 * 1024;

/// The tool of a `csa run` without `--tool`: `sh`, which runs the prompt as a shell script.
pub const DEFAULT_TOOL: &str = "sh";

/// The name recorded as `tool` for `csa run -- PROGRAM ARGS…`.
pub const DIRECT_TOOL: &str = "exec";

/// A job's command line and standard input, with its tool's defaults, ready for a session.
#[derive(Debug, Clone)]
pub struct Job {
    /// The tool name recorded in `session.toml`.
    pub tool: String,
    /// The argv to execute; `argv[0]` is resolved on `PATH` when it has no `/`.
    pub argv: Vec<OsString>,
    /// Where the job's standard input comes from.
    pub stdin: StdinSource,
    /// Bytes to keep as `prompt.txt` (required when `stdin` is [`StdinSource::Prompt`]).
    pub prompt_file: Option<Vec<u8>>,
    /// The tool's default timeout (`[tools.NAME] timeout`), for a `csa run` without
    /// `--timeout`; `None` for no limit and for `csa run -- PROGRAM`.
    pub timeout: Option<Duration>,
    /// The tool's default idle timeout (`[tools.NAME] idle_timeout`), for a `csa run`
    /// without `--idle-timeout`: the job is stopped when neither spool file has grown for
    /// this long. `None` for no limit and for `csa run -- PROGRAM`.
    pub idle_timeout: Option<Duration>,
    /// The queue the tool's sessions wait in unless `--queue` or `--no-queue` says
    /// otherwise (`[tools.NAME] queue`; the agent presets' own queues by default); `None` for
    /// none and for `csa run -- PROGRAM`. A valid queue name
    /// ([`crate::values::parse_label`]).
    pub queue: Option<String>,
}

/// The placeholder in a tool's argv that is replaced by the prompt.
pub const PROMPT_PLACEHOLDER: &str = "{prompt}";

/// Where a tool's (or a queue's) definition comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Compiled into csa.
    BuiltIn,
    /// The last configuration file that defined or changed it.
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BuiltIn => f.write_str("built-in"),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A tool: how a prompt becomes a command line, and the defaults of its sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolDef {
    /// The name given to `--tool`.
    pub name: String,
    /// The command line; every [`PROMPT_PLACEHOLDER`] in an element is replaced by the
    /// prompt. `argv[0]` is resolved on `PATH` when it has no `/`.
    pub argv: Vec<String>,
    /// True when every prompt goes to the job on standard input instead of argv.
    pub stdin: bool,
    /// The command line when the prompt goes on standard input (a prompt over
    /// [`ARGV_PROMPT_LIMIT`] bytes, or `stdin`), when dropping the `{prompt}` elements of
    /// `argv` is not right (`sh -s`, `gemini --prompt=`).
    pub stdin_argv: Option<Vec<String>>,
    /// The default timeout of its sessions (`--timeout` overrides it); `None` for none.
    pub timeout: Option<Duration>,
    /// The default idle timeout of its sessions (`--idle-timeout` overrides it): how long
    /// the job may write nothing to stdout or stderr; `None` for none.
    pub idle_timeout: Option<Duration>,
    /// The queue its sessions wait in by default; `None` for none.
    pub queue: Option<String>,
    /// Where the definition comes from.
    pub source: Source,
}

impl ToolDef {
    /// A tool named `name` with nothing defined yet (the configuration fills it in).
    pub fn empty(name: &str, source: Source) -> Self {
        Self {
            name: name.to_owned(),
            argv: Vec::new(),
            stdin: false,
            stdin_argv: None,
            timeout: None,
            idle_timeout: None,
            queue: None,
            source,
        }
    }

    /// The command line used when the prompt goes on standard input: `stdin_argv`, else
    /// `argv` without the elements that are exactly `{prompt}`. `None` when an element of
    /// `argv` embeds `{prompt}` in longer text and there is no `stdin_argv`.
    pub fn stdin_command(&self) -> Option<Vec<String>> {
        if let Some(argv) = &self.stdin_argv {
            return Some(argv.clone());
        }
        let embeds = self
            .argv
            .iter()
            .any(|a| a != PROMPT_PLACEHOLDER && a.contains(PROMPT_PLACEHOLDER));
        (!embeds).then(|| {
            self.argv
                .iter()
                .filter(|a| *a != PROMPT_PLACEHOLDER)
                .cloned()
                .collect()
        })
    }
}

/// The job that runs `prompt` with the tool named `tool` from `tools`, with the tool's
/// default timeout, idle timeout and queue.
///
/// Prompts over [`ARGV_PROMPT_LIMIT`] bytes, every prompt of a tool with `stdin = true`,
/// and a prompt read from csa's standard input when the tool has a `stdin_argv` (as `sh`
/// has: `/bin/sh -s`) go on standard input, with [`ToolDef::stdin_command`] — never in an
/// argv every local user can read. Any other prompt replaces `{prompt}` in `argv`, as the
/// tool is configured. A prompt read from standard input is also kept as `prompt.txt`.
///
/// Errors (exit 2): an unknown tool; a prompt that must go on standard input for a tool
/// that embeds `{prompt}` inside a longer argument and has no `stdin_argv`.
pub fn job_for_prompt(
    tools: &[ToolDef],
    tool: &str,
    prompt: Vec<u8>,
    from_stdin: bool,
) -> Result<Job> {
    let Some(def) = tools.iter().find(|def| def.name == tool) else {
        let known: Vec<&str> = tools.iter().map(|def| def.name.as_str()).collect();
        return Err(Failure::new(
            USAGE,
            format!(
                "unknown tool: known tools are {}; see `csa tools` ({tool})",
                known.join(", ")
            ),
        )
        .into());
    };
    // A prompt that came on standard input stays off every argv too, where the tool says
    // how it takes one there (`stdin_argv`). Dropping `{prompt}` from a configured argv
    // without being told would be a guess: `gemini -p {prompt}` becomes `gemini -p`,
    // which fails.
    let on_stdin =
        def.stdin || prompt.len() > ARGV_PROMPT_LIMIT || (from_stdin && def.stdin_argv.is_some());
    let (argv, stdin, prompt_file) = if on_stdin {
        let argv = def.stdin_command().ok_or_else(|| {
            Failure::new(
                USAGE,
                format!(
                    "the prompt is over 100 KiB and must go on standard input, but tool {tool} embeds {{prompt}} inside an argument; make \"{{prompt}}\" an argument of its own, or set `stdin_argv` ({tool})"
                ),
            )
        })?;
        let argv = argv.into_iter().map(OsString::from).collect();
        (argv, StdinSource::Prompt, Some(prompt))
    } else {
        let argv = def
            .argv
            .iter()
            .map(|arg| substitute(arg, &prompt))
            .collect();
        (argv, StdinSource::Null, from_stdin.then_some(prompt))
    };
    Ok(Job {
        tool: tool.to_owned(),
        argv,
        stdin,
        prompt_file,
        timeout: def.timeout,
        idle_timeout: def.idle_timeout,
        queue: def.queue.clone(),
    })
}

/// `arg` with every `{prompt}` replaced by the prompt bytes.
fn substitute(arg: &str, prompt: &[u8]) -> OsString {
    let mut out = Vec::with_capacity(arg.len());
    let mut parts = arg.split(PROMPT_PLACEHOLDER);
    if let Some(first) = parts.next() {
        out.extend_from_slice(first.as_bytes());
    }
    for part in parts {
        out.extend_from_slice(prompt);
        out.extend_from_slice(part.as_bytes());
    }
    OsString::from_vec(out)
}

/// The job that runs `argv` directly, without a shell.
pub fn job_for_program(argv: Vec<OsString>) -> Job {
    Job {
        tool: DIRECT_TOOL.to_owned(),
        argv,
        stdin: StdinSource::Null,
        prompt_file: None,
        timeout: None,
        idle_timeout: None,
        queue: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sh_prompt_goes_to_argv_or_stdin() {
        let tools = builtin();
        let small = job_for_prompt(&tools, "sh", b"echo hi".to_vec(), false).unwrap();
        assert_eq!(small.argv, ["/bin/sh", "-c", "echo hi"]);
        assert_eq!(small.stdin, StdinSource::Null);
        assert!(small.prompt_file.is_none());
        let big = job_for_prompt(&tools, "sh", vec![b'#'; ARGV_PROMPT_LIMIT + 1], true).unwrap();
        assert_eq!(big.argv, ["/bin/sh", "-s"]);
        assert_eq!(big.stdin, StdinSource::Prompt);
        assert!(job_for_prompt(&tools, "nope", b"x".to_vec(), false).is_err());
    }

    #[test]
    fn presets_take_every_prompt_on_standard_input() {
        let tools = builtin();
        // Small and large, typed or piped: the prompt goes on standard input, whole.
        for prompt in [b"-x fix it".to_vec(), vec![b'x'; ARGV_PROMPT_LIMIT + 1]] {
            for from_stdin in [false, true] {
                let stdin_path = |tool: &str| {
                    let job = job_for_prompt(&tools, tool, prompt.clone(), from_stdin).unwrap();
                    assert_eq!(job.stdin, StdinSource::Prompt, "{tool}");
                    assert_eq!(job.prompt_file.as_deref(), Some(&prompt[..]));
                    job.argv
                };
                assert_eq!(
                    stdin_path("codex"),
                    ["codex", "exec", "--skip-git-repo-check", "-"]
                );
                assert_eq!(stdin_path("claude"), ["claude", "-p"]);
                assert_eq!(
                    stdin_path("gemini"),
                    ["gemini", "--skip-trust", "--prompt="]
                );
                assert_eq!(stdin_path("opencode"), ["opencode", "run"]);
            }
        }
        // A shell script given on standard input runs from it too (`sh -s`).
        let piped = job_for_prompt(&tools, "sh", b"echo hi".to_vec(), true).unwrap();
        assert_eq!(piped.argv, ["/bin/sh", "-s"]);
        assert_eq!(piped.stdin, StdinSource::Prompt);
        let codex = job_for_prompt(&tools, "codex", b"x".to_vec(), false).unwrap();
        assert_eq!(codex.timeout, Some(preset::AGENT_TIMEOUT));
        assert_eq!(codex.idle_timeout, Some(preset::AGENT_IDLE_TIMEOUT));
        assert_eq!(codex.queue.as_deref(), Some("codex"));
        let sh = job_for_prompt(&tools, "sh", b"x".to_vec(), false).unwrap();
        assert_eq!((sh.timeout, sh.idle_timeout, sh.queue), (None, None, None));
    }

    #[test]
    fn configured_tools() {
        let mut tools = builtin();
        tools.push(ToolDef {
            argv: vec!["mine".into(), "--prompt={prompt}".into()],
            ..ToolDef::empty("mine", Source::BuiltIn)
        });
        let mine = job_for_prompt(&tools, "mine", b"a b".to_vec(), false).unwrap();
        assert_eq!(mine.argv, ["mine", "--prompt=a b"]);
        let err =
            job_for_prompt(&tools, "mine", vec![b'x'; ARGV_PROMPT_LIMIT + 1], false).unwrap_err();
        assert_eq!(crate::exit::code_of(&err), USAGE);
    }

    #[test]
    fn a_piped_prompt_keeps_a_configured_argv_unless_the_tool_says_how_to_take_stdin() {
        let mut tools = builtin();
        tools.push(ToolDef {
            argv: vec!["old".into(), "-p".into(), "{prompt}".into()],
            ..ToolDef::empty("old", Source::BuiltIn)
        });
        tools.push(ToolDef {
            argv: vec!["new".into(), "-p".into(), "{prompt}".into()],
            stdin_argv: Some(vec!["new".into(), "-".into()]),
            ..ToolDef::empty("new", Source::BuiltIn)
        });
        // Without `stdin_argv`, `{prompt}` is not dropped on a guess (`old -p` would fail).
        let old = job_for_prompt(&tools, "old", b"piped".to_vec(), true).unwrap();
        assert_eq!(old.argv, ["old", "-p", "piped"]);
        assert_eq!(old.stdin, StdinSource::Null);
        assert_eq!(old.prompt_file.as_deref(), Some(&b"piped"[..]));
        let new = job_for_prompt(&tools, "new", b"piped".to_vec(), true).unwrap();
        assert_eq!(new.argv, ["new", "-"]);
        assert_eq!(new.stdin, StdinSource::Prompt);
        // Typed, it goes where `argv` says.
        let typed = job_for_prompt(&tools, "new", b"typed".to_vec(), false).unwrap();
        assert_eq!(typed.argv, ["new", "-p", "typed"]);
    }
}
