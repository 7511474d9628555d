//! The one way csa touches what is under its state root (docs/format.md, "Ownership and
//! malformed files"). Every open, read, directory listing, creation, removal and rename of
//! a path below the root goes through here:
//!
//! - **No symbolic link is followed** below the root, at the name or on the way to it: paths
//!   are resolved from the root's checked descriptor ([`resolve`](mod@resolve)).
//! - **Only what csa could have made is used**: a file must be a regular file owned by the
//!   user csa runs as; a directory must be a directory owned by that user and not writable
//!   by its group or others. Anything else — a FIFO, a device, a socket, another user's
//!   file — is refused with [`Unsafe`] and never read.
//! - **Nothing blocks on a FIFO**: opens are non-blocking until the object is known to be a
//!   regular file.
//! - **Reads are capped** ([`read`]): a file larger than its cap is refused, never read
//!   into memory.
//! - **Created files are mode 0600, directories 0700**, whatever the umask.
//!
//! Errors are [`io::Error`]s; a refusal carries an [`Unsafe`] ([`why_refused`]), whose
//! text names what is wrong and never a byte of the content. [`failure`] turns any of them
//! into csa's one error line. Paths that are not below a registered state root (unit tests'
//! temporary directories) get the same checks, with only their last component protected
//! from symbolic links.

use std::fs::File;
use std::io::{self, Read as _};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

mod listing;
mod refusal;
mod resolve;
pub mod root;
mod temp;

pub use listing::{Entry, Kind, read_dir};
pub use refusal::{Unsafe, euid, refused, user_name, why_refused};
pub use temp::{Replace, Temp};

/// The mode of every file csa creates under the state root.
const FILE_MODE: u32 = 0o600;
/// The mode of every directory csa creates under the state root.
const DIR_MODE: u32 = 0o700;

/// Whether and how [`Options::open`] creates the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Create {
    /// The file must exist.
    #[default]
    No,
    /// The file must not exist (`O_EXCL`).
    New,
    /// Created if missing.
    IfMissing,
}

/// How to open a file under the state root, like [`std::fs::OpenOptions`]: start from
/// [`Options::read`], [`Options::write`], [`Options::read_write`] or [`Options::append`].
/// Created files get mode 0600.
#[derive(Debug, Clone, Copy, Default)]
#[must_use]
pub struct Options {
    read: bool,
    write: bool,
    append: bool,
    create: Create,
    truncate: bool,
    blocking: bool,
}

impl Options {
    /// Read only.
    pub fn read() -> Self {
        Self {
            read: true,
            ..Self::default()
        }
    }

    /// Write only.
    pub fn write() -> Self {
        Self {
            write: true,
            ..Self::default()
        }
    }

    /// Read and write.
    pub fn read_write() -> Self {
        Self {
            read: true,
            write: true,
            ..Self::default()
        }
    }

    /// Write only, every write at the end (`O_APPEND`): spool files.
    pub fn append() -> Self {
        Self {
            write: true,
            append: true,
            ..Self::default()
        }
    }

    /// Creates the file, which must not exist (`O_CREAT | O_EXCL`; a symbolic link under
    /// the name counts as existing).
    pub fn create_new(mut self) -> Self {
        self.create = Create::New;
        self
    }

    /// Creates the file if it does not exist.
    pub fn create(mut self) -> Self {
        self.create = Create::IfMissing;
        self
    }

    /// Empties the file — after it was checked, never before (no `O_TRUNC` on something
    /// that may turn out not to be csa's).
    pub fn truncate(mut self) -> Self {
        self.truncate = true;
        self
    }

    /// Clears `O_NONBLOCK` once the file is known to be regular: for a descriptor handed
    /// to another program (a job's standard input or output). It has no effect on csa's
    /// own reads and writes of a regular file, so they leave it.
    pub fn blocking(mut self) -> Self {
        self.blocking = true;
        self
    }

    /// Opens `path`: see the module documentation for what is refused.
    ///
    /// Errors: `NotFound`; `AlreadyExists` ([`Options::create_new`]); a refusal
    /// ([`Unsafe`]: a symbolic link, not a regular file, another user's); any other I/O
    /// error.
    pub fn open(&self, path: &Path) -> io::Result<File> {
        self.open_sized(path).map(|(file, _)| file)
    }

    /// [`Options::open`], also returning the file's size in bytes (from the `fstat` the
    /// check made).
    pub fn open_sized(&self, path: &Path) -> io::Result<(File, u64)> {
        let mut flags = match (self.read, self.write) {
            (true, true) => OFlags::RDWR,
            (false, true) => OFlags::WRONLY,
            _ => OFlags::RDONLY,
        } | OFlags::NONBLOCK;
        if self.append {
            flags |= OFlags::APPEND;
        }
        match self.create {
            Create::No => {}
            Create::New => flags |= OFlags::CREATE | OFlags::EXCL,
            Create::IfMissing => flags |= OFlags::CREATE,
        }
        let fd = resolve::open(path, flags, Mode::from_raw_mode(FILE_MODE))?;
        let file = File::from(fd);
        let meta = file.metadata()?;
        refusal::check_file(&meta)?;
        if self.truncate && meta.len() > 0 {
            file.set_len(0)?;
        }
        if self.blocking {
            let status = rustix::fs::fcntl_getfl(&file)?;
            rustix::fs::fcntl_setfl(&file, status - OFlags::NONBLOCK)?;
        }
        Ok((file, if self.truncate { 0 } else { meta.len() }))
    }
}

/// Reads the file at `path`, at most `cap` bytes: the bytes it held when opened (a record
/// never changes once it has its name, so one `read` of the size `fstat` gave is enough).
///
/// Errors: as [`Options::open`]; [`Unsafe::TooLarge`] when it holds more than `cap` bytes.
pub fn read(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let (mut file, len) = Options::read().open_sized(path)?;
    if len > cap {
        return Err(refused(Unsafe::TooLarge(cap)));
    }
    let mut bytes = vec![0; usize::try_from(len).unwrap_or(0)];
    let mut filled = 0;
    while filled < bytes.len() {
        match file.read(&mut bytes[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    bytes.truncate(filled);
    Ok(bytes)
}

/// [`read`] as UTF-8 text. Errors also (`InvalidData`) when it is not UTF-8.
pub fn read_to_string(path: &Path, cap: u64) -> io::Result<String> {
    String::from_utf8(read(path, cap)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))
}

/// What `path` is, without following a symbolic link at it or on the way to it (as
/// `lstat`). Nothing is checked: a look at what is there, for listings and for "is it
/// still there".
pub fn metadata(path: &Path) -> io::Result<std::fs::Metadata> {
    let fd = resolve::open(path, OFlags::PATH, Mode::empty())?;
    File::from(fd).metadata()
}

/// True when something (of any kind) is at `path` ([`metadata`]).
pub fn exists(path: &Path) -> bool {
    metadata(path).is_ok()
}

/// True when a directory is at `path` (not a symbolic link to one).
pub fn is_dir(path: &Path) -> bool {
    metadata(path).is_ok_and(|meta| meta.is_dir())
}

/// Opens the directory at `path` (read only, for listing or `fsync`) and checks it: csa's
/// user's, not writable by group or others.
pub fn open_dir(path: &Path) -> io::Result<File> {
    let fd = resolve::open(path, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())?;
    let dir = File::from(fd);
    refusal::check_dir(&dir.metadata()?)?;
    Ok(dir)
}

/// Creates the directory `path` (mode 0700). Errors: `AlreadyExists` when something is
/// there already (a symbolic link included).
pub fn create_dir(path: &Path) -> io::Result<()> {
    let (dir, name) = resolve::parent(path)?;
    rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(DIR_MODE)).map_err(io::Error::from)
}

/// Creates the directory `path` (mode 0700) unless a directory is there already; a
/// directory that is there is checked as [`open_dir`] does.
pub fn ensure_dir(path: &Path) -> io::Result<()> {
    match create_dir(path) {
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => open_dir(path).map(drop),
        other => other,
    }
}

/// Removes the file (or symbolic link, never followed) at `path`.
pub fn remove_file(path: &Path) -> io::Result<()> {
    let (dir, name) = resolve::parent(path)?;
    rustix::fs::unlinkat(&dir, name, AtFlags::empty()).map_err(io::Error::from)
}

/// Removes the empty directory at `path`.
pub fn remove_dir(path: &Path) -> io::Result<()> {
    let (dir, name) = resolve::parent(path)?;
    rustix::fs::unlinkat(&dir, name, AtFlags::REMOVEDIR).map_err(io::Error::from)
}

/// Removes the directory at `path` and everything in it, following no symbolic link (a
/// link in it is removed, not what it points to). The directory is checked as
/// [`open_dir`] does.
pub fn remove_dir_all(path: &Path) -> io::Result<()> {
    let dir = open_dir(path)?;
    remove_contents(OwnedFd::from(dir))?;
    remove_dir(path)
}

/// Removes everything in the open directory `fd`.
fn remove_contents(fd: OwnedFd) -> io::Result<()> {
    let dir = fd.try_clone()?;
    for entry in listing::entries(fd)? {
        let removed = match entry.kind {
            Kind::Dir => Err(Errno::ISDIR),
            _ => rustix::fs::unlinkat(&dir, &entry.name, AtFlags::empty()),
        };
        match removed {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(Errno::ISDIR) => {
                let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                let inner = rustix::fs::openat(&dir, &entry.name, flags, Mode::empty())?;
                remove_contents(inner)?;
                rustix::fs::unlinkat(&dir, &entry.name, AtFlags::REMOVEDIR)?;
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

/// Renames `from` to `to`, replacing what `to` names (never followed).
pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
    let (from_dir, from_name) = resolve::parent(from)?;
    let (to_dir, to_name) = resolve::parent(to)?;
    rustix::fs::renameat(&from_dir, from_name, &to_dir, to_name).map_err(io::Error::from)
}

/// Renames `from` to `to` unless `to` exists (`renameat2(RENAME_NOREPLACE)`; where the file
/// system lacks it, `link` then `unlink`). Returns false when `to` exists.
pub fn rename_noreplace(from: &Path, to: &Path) -> io::Result<bool> {
    let (from_dir, from_name) = resolve::parent(from)?;
    let (to_dir, to_name) = resolve::parent(to)?;
    noreplace(&from_dir, from_name, &to_dir, to_name)
}

/// [`rename_noreplace`] between two open directories.
fn noreplace(
    from_dir: impl AsFd,
    from: &std::ffi::OsStr,
    to_dir: impl AsFd,
    to: &std::ffi::OsStr,
) -> io::Result<bool> {
    let (from_dir, to_dir) = (from_dir.as_fd(), to_dir.as_fd());
    match rustix::fs::renameat_with(from_dir, from, to_dir, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(true),
        Err(Errno::EXIST) => Ok(false),
        Err(Errno::INVAL | Errno::NOSYS) => {
            match rustix::fs::linkat(from_dir, from, to_dir, to, AtFlags::empty()) {
                Ok(()) => {
                    let _ = rustix::fs::unlinkat(from_dir, from, AtFlags::empty());
                    Ok(true)
                }
                Err(Errno::EXIST) => Ok(false),
                Err(err) => Err(err.into()),
            }
        }
        Err(err) => Err(err.into()),
    }
}

/// Fsyncs the directory at `path`, so that a rename in it survives a crash. Best effort.
pub fn sync_dir(path: &Path) {
    if let Ok(dir) = open_dir(path) {
        let _ = dir.sync_all();
    }
}

/// csa's one error for a failed file operation on `path`: a refused directory gives the
/// ownership rule and its fix ([`root::unsafe_directory`]); a refused file reads
/// `malformed state file: <why> (<path>)`; any other error `<what>: <why> (<path>)`.
/// Exit 125.
pub fn failure(what: &str, err: &io::Error, path: &Path) -> anyhow::Error {
    match why_refused(err) {
        Some(why @ (Unsafe::Owner(_) | Unsafe::Writable(_))) if is_dir(path) => {
            root::unsafe_directory(path, why)
        }
        Some(why) => malformed(path, why),
        None => crate::exit::io_failure(what, err, path.display()),
    }
}

/// `malformed state file: <why> (<path>)`, exit 125: what a reader says of a file under the
/// state root it cannot use (never its content).
pub fn malformed(path: &Path, why: impl std::fmt::Display) -> anyhow::Error {
    crate::exit::Failure::new(
        crate::exit::CSA_ERROR,
        format!("malformed state file: {why} ({})", path.display()),
    )
    .into()
}

#[cfg(test)]
mod tests;
