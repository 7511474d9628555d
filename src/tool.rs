//! Tools (contract §7): how a prompt becomes a job's command line, and the checks that the
//! program exists and is executable before a session is created.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::exit::{Failure, NOT_EXECUTABLE, NOT_FOUND, USAGE};
use crate::record::StdinSource;

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

/// A built-in tool: the argv before the prompt.
struct Preset {
    name: &'static str,
    argv: &'static [&'static str],
}

/// The built-in tools; the prompt is appended as the last argument.
const PRESETS: &[Preset] = &[
    Preset {
        name: "sh",
        argv: &["/bin/sh", "-c"],
    },
    Preset {
        name: "codex",
        argv: &["codex", "exec"],
    },
    Preset {
        name: "claude",
        argv: &["claude", "-p"],
    },
    Preset {
        name: "gemini",
        argv: &["gemini", "-p"],
    },
    Preset {
        name: "opencode",
        argv: &["opencode", "run"],
    },
];

/// The job that runs `prompt` with tool `tool`.
///
/// Prompts over [`ARGV_PROMPT_LIMIT`] bytes go on standard input (`sh` then reads the
/// script from it); a prompt read from standard input is also kept as `prompt.txt`.
/// Errors (exit 2) for an unknown tool.
pub fn job_for_prompt(tool: &str, prompt: Vec<u8>, from_stdin: bool) -> Result<Job> {
    let Some(preset) = PRESETS.iter().find(|preset| preset.name == tool) else {
        let known: Vec<&str> = PRESETS.iter().map(|preset| preset.name).collect();
        return Err(Failure::new(
            USAGE,
            format!(
                "unknown tool: known tools are {} ({tool})",
                known.join(", ")
            ),
        )
        .into());
    };
    let mut argv: Vec<OsString> = preset.argv.iter().map(OsString::from).collect();
    if prompt.len() > ARGV_PROMPT_LIMIT {
        if preset.name == "sh" {
            argv = vec![OsString::from("/bin/sh"), OsString::from("-s")];
        }
        return Ok(Job {
            tool: tool.to_owned(),
            argv,
            stdin: StdinSource::Prompt,
            prompt_file: Some(prompt),
        });
    }
    argv.push(OsStr::from_bytes(&prompt).to_owned());
    Ok(Job {
        tool: tool.to_owned(),
        argv,
        stdin: StdinSource::Null,
        prompt_file: from_stdin.then_some(prompt),
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
        let small = job_for_prompt("sh", b"echo hi".to_vec(), false).unwrap();
        assert_eq!(small.argv, ["/bin/sh", "-c", "echo hi"]);
        assert_eq!(small.stdin, StdinSource::Null);
        assert!(small.prompt_file.is_none());
        let big = job_for_prompt("sh", vec![b'#'; ARGV_PROMPT_LIMIT + 1], true).unwrap();
        assert_eq!(big.argv, ["/bin/sh", "-s"]);
        assert_eq!(big.stdin, StdinSource::Prompt);
        assert!(job_for_prompt("nope", b"x".to_vec(), false).is_err());
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
