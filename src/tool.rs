//! Tools (docs/tools.md): how a prompt becomes a job's command line, and the checks that the
//! program exists and is executable before a session is created.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::exit::{Failure, NOT_EXECUTABLE, NOT_FOUND, USAGE};
use crate::record::StdinSource;

pub mod config;

/// Prompts longer than this (bytes) go to the job on standard input instead of argv.
pub const ARGV_PROMPT_LIMIT: usize = 100 * 1024;

/// The name recorded as `tool` for `csa run -- PROGRAM ARGS…`.
pub const DIRECT_TOOL: &str = "exec";

/// A job's command line and standard input, ready for a session.
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
}

/// The placeholder in a tool's argv that is replaced by the prompt.
pub const PROMPT_PLACEHOLDER: &str = "{prompt}";

/// Where a tool's definition comes from.
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

/// A tool: how a prompt becomes a command line (docs/tools.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolDef {
    /// The name given to `--tool`.
    pub name: String,
    /// The command line; every [`PROMPT_PLACEHOLDER`] in an element is replaced by the
    /// prompt. `argv[0]` is resolved on `PATH` when it has no `/`.
    pub argv: Vec<String>,
    /// True when the prompt goes to the job on standard input instead of argv.
    pub stdin: bool,
    /// The command line for a prompt over [`ARGV_PROMPT_LIMIT`] bytes, fed on standard
    /// input, when dropping the `{prompt}` elements of `argv` is not right (`sh -s`).
    pub stdin_argv: Option<Vec<String>>,
    /// Where the definition comes from.
    pub source: Source,
}

/// The built-in tools: `sh`, and presets for the agent CLIs people delegate to.
pub fn builtin() -> Vec<ToolDef> {
    let preset = |name: &str, argv: &[&str]| ToolDef {
        name: name.to_owned(),
        argv: argv.iter().map(|&a| a.to_owned()).collect(),
        stdin: false,
        stdin_argv: None,
        source: Source::BuiltIn,
    };
    let mut sh = preset("sh", &["/bin/sh", "-c", PROMPT_PLACEHOLDER]);
    sh.stdin_argv = Some(vec!["/bin/sh".to_owned(), "-s".to_owned()]);
    vec![
        sh,
        preset("codex", &["codex", "exec", PROMPT_PLACEHOLDER]),
        preset("claude", &["claude", "-p", PROMPT_PLACEHOLDER]),
        preset("gemini", &["gemini", "-p", PROMPT_PLACEHOLDER]),
        preset("opencode", &["opencode", "run", PROMPT_PLACEHOLDER]),
    ]
}

/// The job that runs `prompt` with the tool named `tool` from `tools`.
///
/// Prompts over [`ARGV_PROMPT_LIMIT`] bytes, and every prompt of a tool with
/// `stdin = true`, go on standard input: the tool's `stdin_argv` is used, else its argv
/// without the elements that are exactly `{prompt}`. A prompt read from standard input is
/// also kept as `prompt.txt`.
///
/// Errors (exit 2): an unknown tool; a prompt too large for a tool that embeds `{prompt}`
/// inside a longer argument.
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
    if def.stdin || prompt.len() > ARGV_PROMPT_LIMIT {
        let argv = stdin_argv(def).ok_or_else(|| {
            Failure::new(
                USAGE,
                format!(
                    "the prompt is over 100 KiB and must go on standard input, but tool {tool} embeds {{prompt}} inside an argument; make \"{{prompt}}\" an argument of its own ({tool})"
                ),
            )
        })?;
        return Ok(Job {
            tool: tool.to_owned(),
            argv: argv.into_iter().map(OsString::from).collect(),
            stdin: StdinSource::Prompt,
            prompt_file: Some(prompt),
        });
    }
    let argv = def
        .argv
        .iter()
        .map(|arg| substitute(arg, &prompt))
        .collect();
    Ok(Job {
        tool: tool.to_owned(),
        argv,
        stdin: StdinSource::Null,
        prompt_file: from_stdin.then_some(prompt),
    })
}

/// The command line of `def` when the prompt goes on standard input: its `stdin_argv`, else
/// its argv without the elements that are exactly `{prompt}`. `None` when an argument
/// embeds `{prompt}` in longer text.
fn stdin_argv(def: &ToolDef) -> Option<Vec<String>> {
    if let Some(argv) = &def.stdin_argv {
        return Some(argv.clone());
    }
    let embeds = def
        .argv
        .iter()
        .any(|a| a != PROMPT_PLACEHOLDER && a.contains(PROMPT_PLACEHOLDER));
    (!embeds).then(|| {
        def.argv
            .iter()
            .filter(|a| *a != PROMPT_PLACEHOLDER)
            .cloned()
            .collect()
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

/// Checks that the job's program can be run (see [`check_executable`]). For a tool whose
/// program is not found, the message names the tool and how to provide it.
pub fn check_job(job: &Job, cwd: &Path, path_var: Option<&OsStr>) -> Result<PathBuf> {
    check_executable(&job.argv[0], cwd, path_var).map_err(|err| {
        if job.tool == DIRECT_TOOL || crate::exit::code_of(&err) != NOT_FOUND {
            return err;
        }
        let program = job.argv[0].to_string_lossy();
        Failure::new(
            NOT_FOUND,
            format!(
                "cannot run tool {}: {program} is not installed or not on PATH; install it, or define [tools.{}] in config.toml ({program})",
                job.tool, job.tool
            ),
        )
        .into()
    })
}

/// The job that runs `argv` directly, without a shell.
pub fn job_for_program(argv: Vec<OsString>) -> Job {
    Job {
        tool: DIRECT_TOOL.to_owned(),
        argv,
        stdin: StdinSource::Null,
        prompt_file: None,
    }
}

/// Checks that `program` can be executed as the job would execute it: a name with a `/` is
/// taken relative to `cwd`; a bare name is searched in `path_var` (the job's `PATH`) like
/// `execvp` does.
///
/// Errors: exit 127 when it is not found, 126 when found but not executable (a directory,
/// or no execute permission).
pub fn check_executable(program: &OsStr, cwd: &Path, path_var: Option<&OsStr>) -> Result<PathBuf> {
    let shown = program.to_string_lossy();
    if program.is_empty() {
        return Err(
            Failure::new(NOT_FOUND, "cannot run the job: the program name is empty").into(),
        );
    }
    if program.as_bytes().contains(&b'/') {
        let path = cwd.join(program);
        return match executable(&path) {
            Some(true) => Ok(path),
            Some(false) => Err(not_executable(&shown, &path)),
            None => Err(Failure::new(
                NOT_FOUND,
                format!("cannot run the job: no such file ({})", path.display()),
            )
            .into()),
        };
    }
    let search = path_var.unwrap_or(OsStr::new("/usr/local/bin:/usr/bin:/bin"));
    let mut denied = None;
    for dir in std::env::split_paths(search) {
        let dir = if dir.as_os_str().is_empty() {
            cwd.to_path_buf()
        } else {
            cwd.join(dir)
        };
        let candidate = dir.join(program);
        match executable(&candidate) {
            Some(true) => return Ok(candidate),
            Some(false) => {
                denied.get_or_insert(candidate);
            }
            None => {}
        }
    }
    match denied {
        Some(path) => Err(not_executable(&shown, &path)),
        None => Err(Failure::new(
            NOT_FOUND,
            format!("cannot run the job: command not found on PATH ({shown})"),
        )
        .into()),
    }
}

/// `Some(true)` for an executable regular file, `Some(false)` for something that exists but
/// cannot be executed, `None` when nothing is there.
fn executable(path: &Path) -> Option<bool> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Some(false);
    }
    Some(rustix::fs::access(path, rustix::fs::Access::EXEC_OK).is_ok())
}

fn not_executable(shown: &str, path: &Path) -> anyhow::Error {
    Failure::new(
        NOT_EXECUTABLE,
        format!(
            "cannot run the job: {shown} is not an executable file ({})",
            path.display()
        ),
    )
    .into()
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
    fn presets_and_configured_tools() {
        let mut tools = builtin();
        let codex = job_for_prompt(&tools, "codex", b"fix it".to_vec(), false).unwrap();
        assert_eq!(codex.argv, ["codex", "exec", "fix it"]);
        let big =
            job_for_prompt(&tools, "claude", vec![b'x'; ARGV_PROMPT_LIMIT + 1], false).unwrap();
        assert_eq!(big.argv, ["claude", "-p"]);
        assert_eq!(big.stdin, StdinSource::Prompt);
        tools.push(ToolDef {
            name: "mine".into(),
            argv: vec!["mine".into(), "--prompt={prompt}".into()],
            stdin: false,
            stdin_argv: None,
            source: Source::BuiltIn,
        });
        let mine = job_for_prompt(&tools, "mine", b"a b".to_vec(), false).unwrap();
        assert_eq!(mine.argv, ["mine", "--prompt=a b"]);
        let err =
            job_for_prompt(&tools, "mine", vec![b'x'; ARGV_PROMPT_LIMIT + 1], false).unwrap_err();
        assert_eq!(crate::exit::code_of(&err), USAGE);
    }

    #[test]
    fn finds_programs_like_execvp() {
        let cwd = std::env::current_dir().unwrap();
        assert!(check_executable(OsStr::new("sh"), &cwd, Some(OsStr::new("/bin"))).is_ok());
        let err = check_executable(OsStr::new("no-such-program-x"), &cwd, None).unwrap_err();
        assert_eq!(crate::exit::code_of(&err), NOT_FOUND);
        let err = check_executable(OsStr::new("/etc/passwd"), &cwd, None).unwrap_err();
        assert_eq!(crate::exit::code_of(&err), NOT_EXECUTABLE);
        let err = check_executable(OsStr::new("/"), &cwd, None).unwrap_err();
        assert_eq!(crate::exit::code_of(&err), NOT_EXECUTABLE);
    }
}
