//! The child's standard descriptors: `spawn` makes the given ones 0, 1 and 2 around the
//! clone, saving the caller's, and puts the caller's back after.

use std::io;
use std::os::fd::RawFd;

/// What [`install_stdio`] replaced: for each of 0, 1, 2, the caller's descriptor saved
/// (close-on-exec, above 2), `Closed` when it was not open, or nothing when kept.
pub(super) enum Saved {
    Kept,
    Closed,
    Moved(RawFd),
}

/// Makes `stdio` this process's descriptors 0, 1, 2 (for the child), saving the caller's.
///
/// Errors (everything put back): a descriptor cannot be saved — `EMFILE` when no
/// descriptor is free (`ulimit -n`). Only `EBADF` means the caller's was not open; any
/// other error taken for that would have `restore_stdio` close csa's own standard
/// descriptors.
pub(super) fn install_stdio(stdio: &[Option<RawFd>; 3]) -> io::Result<[Saved; 3]> {
    let mut saved = [Saved::Kept, Saved::Kept, Saved::Kept];
    for (target, fd) in (0..).zip(stdio) {
        let Some(fd) = *fd else { continue };
        // SAFETY: plain descriptor calls; `target` is one of 0, 1, 2, restored by
        // `restore_stdio` before anything else of this process uses it.
        let outcome = unsafe {
            let copy = libc::fcntl(target, libc::F_DUPFD_CLOEXEC, 3);
            let err = io::Error::last_os_error();
            let kept = if copy >= 0 {
                Ok(Saved::Moved(copy))
            } else if err.raw_os_error() == Some(libc::EBADF) {
                Ok(Saved::Closed)
            } else {
                Err(err)
            };
            kept.and_then(|kept| {
                if libc::dup2(fd, target) < 0 {
                    let err = io::Error::last_os_error();
                    if let Saved::Moved(copy) = kept {
                        libc::close(copy);
                    }
                    return Err(err);
                }
                Ok(kept)
            })
        };
        match outcome {
            Ok(kept) => saved[usize::try_from(target).unwrap_or(0)] = kept,
            Err(err) => {
                restore_stdio(saved);
                return Err(err);
            }
        }
    }
    Ok(saved)
}

/// Puts back the caller's descriptors 0, 1, 2 ([`install_stdio`]).
pub(super) fn restore_stdio(saved: [Saved; 3]) {
    for (target, saved) in (0..).zip(saved) {
        // SAFETY: plain descriptor calls on descriptors this module made. `dup2` onto a
        // descriptor below 3 needs no free slot, so it does not fail with EMFILE.
        unsafe {
            match saved {
                Saved::Kept => {}
                Saved::Closed => {
                    libc::close(target);
                }
                Saved::Moved(copy) => {
                    libc::dup2(copy, target);
                    libc::close(copy);
                }
            }
        }
    }
}
