//! Planning a job, before any session exists: its working directory (`--cd`) and its
//! command line (PROMPT through a tool, `-- PROGRAM ARGS…`, a prompt on standard input, or
//! the job a rerun replays).

use std::io::{self, IsTerminal as _, Read as _};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use super::{MAX_STDIN_PROMPT, Request};
use crate::exit::{Failure, NOT_EXECUTABLE, NOT_FOUND, USAGE};
use crate::tool::{self, Job};

/// The job's working directory: `--cd` (made absolute) or the current one.
///
/// Errors, before any session is created, as for the program (`tool::check_job`): 127
/// when the directory does not exist; 126 when it is not a directory or cannot be entered
/// (no search permission for csa's effective user: `chdir` would fail).
pub(super) fn job_cwd(cd: Option<&Path>) -> Result<PathBuf> {
    let current = std::env::current_dir().context("cannot find the current directory")?;
    let Some(dir) = cd else { return Ok(current) };
    let dir = current.join(dir);
    let refuse = |code: u8, why: String| -> anyhow::Error {
        Failure::new(
            code,
            format!(
                "cannot use --cd: {why}; no session was created ({})",
                dir.display()
            ),
        )
        .into()
    };
    match std::fs::metadata(&dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(refuse(NOT_EXECUTABLE, "not a directory".into())),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(refuse(NOT_FOUND, "no such directory".into()));
        }
        Err(err) => return Err(refuse(NOT_EXECUTABLE, crate::exit::io_why(&err))),
    }
    crate::sys::can_enter(&dir).map_err(|err| {
        refuse(
            NOT_EXECUTABLE,
            format!(
                "the directory cannot be entered: {}",
                crate::exit::io_why(&err)
            ),
        )
    })?;
    Ok(dir)
}

/// Turns PROMPT, `-- PROGRAM ARGS…` or a prompt on standard input into a job, with the
/// tools configured for the job's working directory.
pub(super) fn plan_job(args: &Request, config: &tool::config::Lazy<'_>) -> Result<Job> {
    if let Some(job) = &args.replay {
        return Ok(job.clone());
    }
    if !args.program.is_empty() {
        return Ok(tool::job_for_program(args.program.clone()));
    }
    if let Some(prompt) = &args.prompt {
        let tools = &config.get()?.tools;
        return tool::job_for_prompt(tools, &args.tool, prompt.as_bytes().to_vec(), false);
    }
    if args.stdin {
        return Err(Failure::new(
            USAGE,
            "cannot use --stdin: without PROMPT or `-- PROGRAM`, standard input is the prompt (standard input)",
        )
        .into());
    }
    let stdin = io::stdin();
    if stdin.is_terminal() {
        return Err(Failure::new(
            USAGE,
            "no prompt: standard input is a terminal; give PROMPT, `-- PROGRAM ARGS…`, or pipe the prompt (standard input)",
        )
        .into());
    }
    let mut prompt = Vec::new();
    stdin
        .lock()
        .take(MAX_STDIN_PROMPT + 1)
        .read_to_end(&mut prompt)
        .context("cannot read the prompt from standard input")?;
    if prompt.is_empty() {
        return Err(Failure::new(
            USAGE,
            "no prompt: the prompt on standard input is empty (standard input)",
        )
        .into());
    }
    if prompt.len() as u64 > MAX_STDIN_PROMPT {
        return Err(Failure::new(
            USAGE,
            "prompt too large: the prompt on standard input is over 10 MiB (standard input)",
        )
        .into());
    }
    let nul = prompt.iter().position(|&b| b == 0);
    let job = tool::job_for_prompt(&config.get()?.tools, &args.tool, prompt, true)?;
    // An argument cannot hold a NUL byte; a prompt passed in a file can.
    if let Some(at) = nul
        && job
            .argv
            .iter()
            .any(|arg| std::os::unix::ffi::OsStrExt::as_bytes(arg.as_os_str()).contains(&0))
    {
        return Err(Failure::new(
            USAGE,
            format!(
                "the prompt on standard input holds a NUL byte (at byte {at}), which a command \
                 line cannot carry: remove it, or run a program that reads the data itself \
                 (`csa run -- PROGRAM < FILE`) (standard input)"
            ),
        )
        .into());
    }
    Ok(job)
}
