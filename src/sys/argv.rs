//! A command line handed to a child on a descriptor instead of in the child's own argv,
//! which every local user can read (`ps`, `/proc/PID/cmdline`): an anonymous memory file
//! (`memfd_create`) holding each argument followed by a NUL byte.

use std::ffi::OsString;
use std::io::{self, Read as _, Seek as _, Write as _};
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};

/// The longest command line read back, in bytes: more than `execve` accepts (`ARG_MAX` is at
/// most a quarter of the stack limit), so whatever `csa run` could start reads whole.
pub const MAX_ARGV_BYTES: u64 = 64 * 1024 * 1024;

/// A new anonymous memory file (close-on-exec) holding `argv`, each argument followed by a
/// NUL byte, positioned at its start. Arguments cannot contain NUL bytes (`execve` could
/// not pass them either).
///
/// Errors: `memfd_create` fails (EMFILE, ENOMEM) or the file cannot be written (ENOSPC).
pub fn argv_file(argv: &[OsString]) -> io::Result<OwnedFd> {
    let fd = rustix::fs::memfd_create("csa-argv", rustix::fs::MemfdFlags::CLOEXEC)?;
    let mut file = std::fs::File::from(fd);
    let mut bytes = Vec::new();
    for arg in argv {
        bytes.extend_from_slice(arg.as_bytes());
        bytes.push(0);
    }
    file.write_all(&bytes)?;
    file.rewind()?;
    Ok(file.into())
}

/// Reads the command line [`argv_file`] wrote from descriptor `fd`, inherited from the
/// parent process, and closes it.
///
/// Errors: `fd` is not open; the read fails; more than [`MAX_ARGV_BYTES`]; the content is
/// not NUL-terminated arguments (`InvalidData`).
pub fn read_argv(fd: RawFd) -> io::Result<Vec<OsString>> {
    let fd = super::adopt_inherited_fd(fd)?;
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .take(MAX_ARGV_BYTES + 1)
        .read_to_end(&mut bytes)?;
    let Some((0, body)) = bytes.split_last() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the command line is not NUL-terminated arguments",
        ));
    };
    if bytes.len() as u64 > MAX_ARGV_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the command line is too long",
        ));
    }
    Ok(body
        .split(|&b| b == 0)
        .map(|arg| OsString::from_vec(arg.to_vec()))
        .collect())
}

#[cfg(test)]
mod tests {
    use std::os::fd::IntoRawFd as _;

    use super::*;

    #[test]
    fn a_command_line_goes_through_whole() {
        let argv: Vec<OsString> = ["/bin/sh", "-c", "echo 'a b'\n", "", "\u{e9}"]
            .iter()
            .map(OsString::from)
            .collect();
        let fd = argv_file(&argv).unwrap().into_raw_fd();
        assert_eq!(read_argv(fd).unwrap(), argv);
    }
}
