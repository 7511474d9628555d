//! Listing a directory under the state root: its entries and what each is, from the
//! directory itself (nothing followed).

use std::ffi::OsString;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;

use rustix::fs::AtFlags;

/// What an entry of a directory is (from the directory itself; not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A FIFO, socket, device or anything else.
    Other,
}

/// One entry of a directory ([`read_dir`]).
#[derive(Debug, Clone)]
pub struct Entry {
    /// The entry's name.
    pub name: OsString,
    /// What it is.
    pub kind: Kind,
}

impl Entry {
    /// The name as UTF-8, if it is.
    pub fn name_str(&self) -> Option<&str> {
        self.name.to_str()
    }
}

/// The entries of the directory at `path` (without `.` and `..`), in the directory's
/// order. The directory is checked as [`open_dir`] does.
pub fn read_dir(path: &Path) -> io::Result<Vec<Entry>> {
    let dir = super::open_dir(path)?;
    entries(OwnedFd::from(dir))
}

/// The entries of an open directory.
pub(super) fn entries(fd: OwnedFd) -> io::Result<Vec<Entry>> {
    let mut dir = rustix::fs::Dir::new(fd)?;
    let mut found = Vec::new();
    while let Some(entry) = dir.read() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let name = OsString::from(std::ffi::OsStr::from_bytes(name));
        let kind = match entry.file_type() {
            rustix::fs::FileType::Unknown => {
                // Some file systems do not say in the listing: ask without following.
                rustix::fs::statat(dir.fd()?, &name, AtFlags::SYMLINK_NOFOLLOW)
                    .map_or(Kind::Other, |stat| {
                        kind_of(rustix::fs::FileType::from_raw_mode(stat.st_mode))
                    })
            }
            other => kind_of(other),
        };
        found.push(Entry { name, kind });
    }
    Ok(found)
}

fn kind_of(file_type: rustix::fs::FileType) -> Kind {
    match file_type {
        rustix::fs::FileType::RegularFile => Kind::File,
        rustix::fs::FileType::Directory => Kind::Dir,
        rustix::fs::FileType::Symlink => Kind::Symlink,
        _ => Kind::Other,
    }
}
