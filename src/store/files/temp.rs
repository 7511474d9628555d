//! Temporary files under the state root: a new file (mode 0600) with a random name in a
//! directory, written, then renamed to its final name in the same directory — the atomic
//! write of every record. Removed when dropped without being persisted.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::{FILE_MODE, resolve};

/// A temporary file in a directory under the state root ([`Temp::new_in`]).
#[derive(Debug)]
pub struct Temp {
    /// Where it is, and its removal if it is not persisted.
    place: Place,
    /// The open file.
    file: File,
}

/// The directory and name of a [`Temp`]; removes the file when dropped, unless disarmed.
#[derive(Debug)]
struct Place {
    /// The directory, open (all operations are relative to it).
    dir: OwnedFd,
    /// The directory's path (for messages).
    dir_path: PathBuf,
    /// The file's name in it.
    name: OsString,
    /// False once renamed to its final name.
    armed: bool,
}

impl Drop for Place {
    fn drop(&mut self) {
        if self.armed {
            let _ = rustix::fs::unlinkat(&self.dir, &self.name, AtFlags::empty());
        }
    }
}

/// Whether [`Temp::persist`] may replace a file under the final name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    /// Replace it (`rename`).
    Yes,
    /// Never replace it (`renameat2(RENAME_NOREPLACE)`): the file is fsynced first, and the
    /// directory after the rename (exactly-once records).
    No,
}

impl Temp {
    /// Creates `<dir>/<prefix><random>` (mode 0600, `O_EXCL`): `dir` is resolved without
    /// following a symbolic link, and checked as [`super::open_dir`] does.
    ///
    /// Errors: the directory cannot be opened or is refused; the file cannot be created.
    pub fn new_in(dir: &Path, prefix: &str) -> io::Result<Self> {
        let fd = resolve::open(dir, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())?;
        let dir_file = File::from(fd);
        super::refusal::check_dir(&dir_file.metadata()?)?;
        let dir_fd = OwnedFd::from(dir_file);
        for _ in 0..64 {
            let random = ulid::Ulid::generate().random() & ((1 << 60) - 1);
            let name = OsString::from(format!("{prefix}{random:015x}"));
            let flags =
                OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            match rustix::fs::openat(&dir_fd, &name, flags, Mode::from_raw_mode(FILE_MODE)) {
                Ok(fd) => {
                    let place = Place {
                        dir: dir_fd,
                        dir_path: dir.to_owned(),
                        name,
                        armed: true,
                    };
                    return Ok(Self {
                        place,
                        file: File::from(fd),
                    });
                }
                Err(Errno::EXIST) => {}
                Err(err) => return Err(err.into()),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "every temporary name tried was taken",
        ))
    }

    /// The open file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The file's path (while it has its temporary name).
    pub fn path(&self) -> PathBuf {
        self.place.dir_path.join(&self.place.name)
    }

    /// Renames the file to `name` in the same directory. With [`Replace::No`] the file is
    /// fsynced first, nothing is replaced (`Ok(None)`: something has the name; the
    /// temporary file is removed), and the directory is fsynced after the rename.
    pub fn persist(self, name: &OsStr, replace: Replace) -> io::Result<Option<File>> {
        let Self { mut place, file } = self;
        match replace {
            Replace::Yes => rustix::fs::renameat(&place.dir, &place.name, &place.dir, name)?,
            Replace::No => {
                file.sync_all()?;
                if !super::noreplace(&place.dir, &place.name, &place.dir, name)? {
                    return Ok(None);
                }
                let _ = rustix::fs::fsync(&place.dir);
            }
        }
        place.armed = false;
        Ok(Some(file))
    }
}
