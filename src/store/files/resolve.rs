//! Finding a path under the state root without following a symbolic link anywhere.
//!
//! The state root is opened once per process and checked ([`super::root`]); its descriptor
//! is kept here ([`register`]). A path below it is then resolved *from that descriptor*:
//! `openat2(root, "sessions/<ID>/result.toml", RESOLVE_NO_SYMLINKS)` (Linux 5.6), or, where
//! `openat2` is missing, one `openat(…, O_NOFOLLOW)` per component. So no component between
//! the root and the file can be a symbolic link, and a root renamed or replaced meanwhile
//! does not redirect anything: csa keeps using the directory it checked.
//!
//! A path that is not below a registered root (a unit test's temporary directory) is
//! opened from the current directory, with only its last component protected
//! (`O_NOFOLLOW`).

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::refusal::{Unsafe, refused};

/// A state root this process checked, and its open directory.
#[derive(Debug)]
pub(super) struct Root {
    /// The root's path, as csa spells it (absolute).
    pub path: PathBuf,
    /// The directory, opened when it was checked.
    pub dir: OwnedFd,
}

/// The roots registered in this process (usually one).
static ROOTS: RwLock<Vec<Arc<Root>>> = RwLock::new(Vec::new());

/// Set once `openat2` is found missing (or forbidden): components are walked one by one.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// Keeps `dir`, the checked directory at `path`, as the root paths below `path` are
/// resolved from. A later registration of the same path replaces the earlier one.
pub(super) fn register(path: &Path, dir: OwnedFd) {
    let root = Arc::new(Root {
        path: path.to_owned(),
        dir,
    });
    let mut roots = ROOTS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    roots.retain(|known| known.path != path);
    roots.push(root);
}

/// The registered root at exactly `path`.
pub(super) fn registered(path: &Path) -> Option<Arc<Root>> {
    let roots = ROOTS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    roots.iter().find(|root| root.path == path).cloned()
}

/// The registered root `path` is below (or is), and the path relative to it (empty for
/// the root itself).
fn root_of(path: &Path) -> Option<(Arc<Root>, PathBuf)> {
    let roots = ROOTS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    roots.iter().find_map(|root| {
        let rel = path.strip_prefix(&root.path).ok()?;
        Some((Arc::clone(root), rel.to_owned()))
    })
}

/// A directory descriptor to resolve a name from: a registered root's, one opened for
/// the purpose, or the current directory.
#[derive(Debug)]
pub(super) enum Base {
    /// A registered root.
    Root(Arc<Root>),
    /// A directory opened below a root (or from the current directory).
    Opened(OwnedFd),
    /// The current directory (a path not below a registered root).
    Cwd,
}

impl AsFd for Base {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Self::Root(root) => root.dir.as_fd(),
            Self::Opened(fd) => fd.as_fd(),
            Self::Cwd => rustix::fs::CWD,
        }
    }
}

/// Opens `path` with `flags` (`O_NOFOLLOW` and `O_CLOEXEC` are added) and `mode` (for
/// `O_CREAT`), following no symbolic link from its root on (see the module
/// documentation). A symbolic link met anywhere is refused ([`Unsafe::Symlink`]).
pub(super) fn open(path: &Path, flags: OFlags, mode: Mode) -> io::Result<OwnedFd> {
    let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    // `openat2` refuses a mode without `O_CREAT` (EINVAL).
    let mode = if flags.contains(OFlags::CREATE) {
        mode
    } else {
        Mode::empty()
    };
    let opened = match root_of(path) {
        Some((root, rel)) => open_below(&root.dir, &rel, flags, mode),
        None => rustix::fs::openat(rustix::fs::CWD, path, flags, mode),
    };
    opened.map_err(|err| translate(err, path))
}

/// The directory holding `path` (opened with `O_PATH`: good for `*at` calls and `fstat`)
/// and `path`'s last component.
pub(super) fn parent(path: &Path) -> io::Result<(Base, &OsStr)> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    // The root itself is reached by its own path, as when it was checked.
    let below = root_of(path).filter(|(_, rel)| !rel.as_os_str().is_empty());
    let Some((root, rel)) = below else {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        return match dir {
            Some(dir) => {
                let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
                let fd = rustix::fs::openat(rustix::fs::CWD, dir, flags, Mode::empty())
                    .map_err(|err| translate(err, dir))?;
                Ok((Base::Opened(fd), name))
            }
            None => Ok((Base::Cwd, name)),
        };
    };
    match rel.parent() {
        Some(up) if !up.as_os_str().is_empty() => {
            let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let fd = open_below(&root.dir, up, flags, Mode::empty())
                .map_err(|err| translate(err, path))?;
            Ok((Base::Opened(fd), name))
        }
        // The root's own entries (`sessions`, `names`, …).
        _ => Ok((Base::Root(root), name)),
    }
}

/// Opens `rel` below `dir`, no component followed: `openat2` with `RESOLVE_NO_SYMLINKS`,
/// or one `openat` per component.
fn open_below(dir: &OwnedFd, rel: &Path, flags: OFlags, mode: Mode) -> Result<OwnedFd, Errno> {
    let plain = rel
        .components()
        .all(|component| matches!(component, Component::Normal(_)));
    if !plain {
        // `..`, `.`, a root: never produced by csa's own paths.
        return Err(Errno::XDEV);
    }
    let rel: &Path = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    if !NO_OPENAT2.load(Ordering::Relaxed) {
        let resolve = ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
        // EAGAIN: a rename elsewhere raced the lookup; the kernel asks for a retry.
        for _ in 0..16 {
            match rustix::fs::openat2(dir, rel, flags, mode, resolve) {
                Err(Errno::AGAIN) => {}
                Err(Errno::NOSYS | Errno::PERM) => {
                    NO_OPENAT2.store(true, Ordering::Relaxed);
                    break;
                }
                other => return other,
            }
        }
    }
    walk(dir, rel, flags, mode)
}

/// [`open_below`] without `openat2`: each directory on the way opened with `O_NOFOLLOW`.
fn walk(dir: &OwnedFd, rel: &Path, flags: OFlags, mode: Mode) -> Result<OwnedFd, Errno> {
    let mut components: Vec<&OsStr> = rel.iter().collect();
    let last = components.pop().unwrap_or(OsStr::new("."));
    let mut held: Option<OwnedFd> = None;
    for component in components {
        let from = held.as_ref().map_or(dir.as_fd(), AsFd::as_fd);
        let step = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        // A symbolic link opened with O_PATH | O_NOFOLLOW | O_DIRECTORY fails (ENOTDIR):
        // it is not followed.
        match rustix::fs::openat(from, component, step, Mode::empty()) {
            Ok(fd) => held = Some(fd),
            Err(Errno::NOTDIR) => {
                let link =
                    rustix::fs::statat(from, component, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
                        .is_ok_and(|stat| {
                            rustix::fs::FileType::from_raw_mode(stat.st_mode)
                                == rustix::fs::FileType::Symlink
                        });
                return Err(if link { Errno::LOOP } else { Errno::NOTDIR });
            }
            Err(err) => return Err(err),
        }
    }
    let from = held.as_ref().map_or(dir.as_fd(), AsFd::as_fd);
    rustix::fs::openat(from, last, flags, mode)
}

/// The error of an open of `path`: a symbolic link met is [`Unsafe::Symlink`] (also when the
/// kernel says `ENOTDIR`, as for a link opened as a directory); a FIFO without a reader
/// opened for writing (`ENXIO`) is [`Unsafe::NotRegular`]; a file csa may not open
/// (`EACCES`) that is another user's is [`Unsafe::Owner`].
fn translate(err: Errno, path: &Path) -> io::Error {
    // Only to say what is wrong: looked at without following, with no check.
    let found = || {
        let fd = match root_of(path) {
            Some((root, rel)) => open_below(
                &root.dir,
                &rel,
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ),
            None => rustix::fs::openat(
                rustix::fs::CWD,
                path,
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ),
        };
        fd.ok().and_then(|fd| rustix::fs::fstat(fd).ok())
    };
    match err {
        Errno::NOTDIR
            if found().is_some_and(|stat| {
                rustix::fs::FileType::from_raw_mode(stat.st_mode) == rustix::fs::FileType::Symlink
            }) =>
        {
            refused(Unsafe::Symlink)
        }
        Errno::ACCESS => match found() {
            Some(stat) if stat.st_uid != super::refusal::euid() => {
                refused(Unsafe::Owner(stat.st_uid))
            }
            _ => err.into(),
        },
        Errno::LOOP => refused(Unsafe::Symlink),
        Errno::NXIO => refused(Unsafe::NotRegular("a FIFO or a socket")),
        Errno::XDEV => io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a plain path below the state root ({})", path.display()),
        ),
        err => err.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_without_openat2_follows_no_component_either() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        std::fs::write(dir.path().join("real/f"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("real/f"), dir.path().join("real/g")).unwrap();
        let base: OwnedFd = std::fs::File::open(dir.path()).unwrap().into();
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        assert!(walk(&base, Path::new("real/f"), flags, Mode::empty()).is_ok());
        for (rel, expected) in [("link/f", Errno::LOOP), ("real/g", Errno::LOOP)] {
            let err = walk(&base, Path::new(rel), flags, Mode::empty()).unwrap_err();
            assert_eq!(err, expected, "{rel}");
        }
        assert_eq!(
            open_below(&base, Path::new("real/../real/f"), flags, Mode::empty()).unwrap_err(),
            Errno::XDEV
        );
    }
}
