//! The checks that a job's program exists and is executable, made before a session is
//! created (exit 127 and 126, as a shell reports them).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{DIRECT_TOOL, Job};
use crate::exit::{Failure, NOT_EXECUTABLE, NOT_FOUND};

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
