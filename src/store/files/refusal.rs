//! Why a file or directory under the state root is refused ([`Unsafe`]), and the checks that
//! find it: the kind of the object, its owner, a directory's permissions, a file's size.

use std::fmt;
use std::io;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::sync::OnceLock;

/// Why csa refuses something it found under its state root. Carried as the payload of an
/// [`io::Error`] of kind `InvalidData` ([`refused`], [`why_refused`]); its text never holds a
/// byte of the file's content, e.g. `a FIFO, not a regular file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsafe {
    /// A symbolic link, at the name or in the path leading to it (never followed).
    Symlink,
    /// Not a regular file: what it is (`a directory`, `a FIFO`, `a socket`, `a device`).
    NotRegular(&'static str),
    /// Not a directory: what it is.
    NotDirectory(&'static str),
    /// Owned by another user (its user ID).
    Owner(u32),
    /// A directory writable by its group or by others (its permission bits, e.g. `0o777`).
    Writable(u32),
    /// Larger than csa reads (the cap, bytes).
    TooLarge(u64),
}

impl fmt::Display for Unsafe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Symlink => f.write_str("a symbolic link (never followed under the state root)"),
            Self::NotRegular(what) => write!(f, "{what}, not a regular file"),
            Self::NotDirectory(what) => write!(f, "{what}, not a directory"),
            Self::Owner(uid) => write!(
                f,
                "owned by {}, not by you ({})",
                user_name(*uid),
                user_name(euid())
            ),
            Self::Writable(mode) => {
                write!(f, "writable by group or others (mode {mode:04o})")
            }
            Self::TooLarge(cap) => write!(f, "larger than {}", bytes(*cap)),
        }
    }
}

impl std::error::Error for Unsafe {}

/// `why` as an I/O error (kind `InvalidData`).
pub fn refused(why: Unsafe) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

/// The reason, when `err` is a refusal of this module.
pub fn why_refused(err: &io::Error) -> Option<&Unsafe> {
    err.get_ref()?.downcast_ref::<Unsafe>()
}

/// The effective user ID of this process (read once).
pub fn euid() -> u32 {
    static EUID: OnceLock<u32> = OnceLock::new();
    *EUID.get_or_init(|| rustix::process::geteuid().as_raw())
}

/// Checks an opened file: a regular file owned by this process's effective user.
pub(super) fn check_file(meta: &std::fs::Metadata) -> io::Result<()> {
    if !meta.is_file() {
        return Err(refused(Unsafe::NotRegular(kind_name(meta.mode()))));
    }
    if meta.uid() != euid() {
        return Err(refused(Unsafe::Owner(meta.uid())));
    }
    Ok(())
}

/// Checks an opened directory: a directory owned by this process's effective user and not
/// writable by its group or others (as ssh checks `~/.ssh`, and XDG `XDG_RUNTIME_DIR`).
pub(super) fn check_dir(meta: &std::fs::Metadata) -> io::Result<()> {
    if !meta.is_dir() {
        return Err(refused(Unsafe::NotDirectory(kind_name(meta.mode()))));
    }
    if meta.uid() != euid() {
        return Err(refused(Unsafe::Owner(meta.uid())));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(refused(Unsafe::Writable(mode)));
    }
    Ok(())
}

/// `a FIFO`, `a directory`, … for a `st_mode`.
pub(super) fn kind_name(mode: u32) -> &'static str {
    match rustix::fs::FileType::from_raw_mode(mode) {
        rustix::fs::FileType::RegularFile => "a regular file",
        rustix::fs::FileType::Directory => "a directory",
        rustix::fs::FileType::Symlink => "a symbolic link",
        rustix::fs::FileType::Fifo => "a FIFO",
        rustix::fs::FileType::Socket => "a socket",
        rustix::fs::FileType::CharacterDevice | rustix::fs::FileType::BlockDevice => "a device",
        rustix::fs::FileType::Unknown => "of an unknown kind",
    }
}

/// `uid N (name)`, the name from `/etc/passwd` when it is there (`uid N` otherwise). For
/// error messages only.
pub fn user_name(uid: u32) -> String {
    let name = std::fs::File::open("/etc/passwd").ok().and_then(|file| {
        use std::io::{BufRead as _, Read as _};
        io::BufReader::new(file.take(1 << 20))
            .lines()
            .map_while(Result::ok)
            .find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?.to_owned();
                let id: u32 = fields.nth(1)?.parse().ok()?;
                (id == uid).then_some(name)
            })
    });
    match name {
        Some(name) => format!("uid {uid} ({name})"),
        None => format!("uid {uid}"),
    }
}

/// `1 MiB`, `64 KiB`, `100 bytes`.
fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_as_one_phrase() {
        assert_eq!(
            Unsafe::NotRegular("a FIFO").to_string(),
            "a FIFO, not a regular file"
        );
        assert_eq!(Unsafe::TooLarge(1 << 20).to_string(), "larger than 1 MiB");
        assert_eq!(
            Unsafe::Writable(0o777).to_string(),
            "writable by group or others (mode 0777)"
        );
        assert!(
            Unsafe::Owner(0)
                .to_string()
                .starts_with("owned by uid 0 (root)")
        );
        let err = refused(Unsafe::Symlink);
        assert_eq!(why_refused(&err), Some(&Unsafe::Symlink));
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(why_refused(&io::Error::from_raw_os_error(2)).is_none());
    }
}
