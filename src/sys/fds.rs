//! Descriptors: adopting one inherited from the parent, closing every inherited one but
//! those kept, and the close-on-exec flag.

use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd as _, OwnedFd, RawFd};

use rustix::io::FdFlags;

/// Takes ownership of descriptor `fd`, inherited from the parent process.
///
/// Errors when `fd` is not open (`EBADF`), or when that cannot be checked. The caller must
/// not use `fd` through any other handle.
pub fn adopt_inherited_fd(fd: RawFd) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: the borrow lives only for the `fcntl` call, which fails with EBADF when `fd`
    // is not open.
    rustix::io::fcntl_getfd(unsafe { BorrowedFd::borrow_raw(fd) })?;
    // SAFETY: `fd` is open (checked above), was inherited across exec, and nothing else in
    // this process refers to it: the supervisor adopts it once, at start-up.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Closes every descriptor above 2 except those in `keep`, so that pipes inherited from
/// the caller (a CI runner, `$(…)`) are never held open by a daemon: `close_range` over
/// the gaps between them (Linux 5.9), or — on older kernels — each open descriptor listed
/// in `/proc/self/fd`.
///
/// Errors: the descriptors cannot be closed or listed (a failure is never taken for "none
/// open").
pub fn close_inherited_fds(keep: &[RawFd]) -> io::Result<()> {
    for (first, last) in gaps(keep) {
        match close_range(first, last, 0) {
            Ok(()) => {}
            Err(err) if err.raw_os_error() == Some(libc::ENOSYS) => {
                for fd in open_fds()? {
                    if fd > 2 && !keep.contains(&fd) {
                        // SAFETY: at start-up the supervisor owns no descriptor above 2
                        // other than those in `keep`; every other open one was inherited and
                        // is referenced by no Rust handle.
                        unsafe { rustix::io::close(fd) };
                    }
                }
                return Ok(());
            }
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// The ranges of descriptors above 2 that are not in `keep`: `(first, last)`, the last one
/// ending at the highest descriptor number.
fn gaps(keep: &[RawFd]) -> Vec<(u32, u32)> {
    let mut kept: Vec<u32> = keep
        .iter()
        .filter_map(|&fd| u32::try_from(fd).ok())
        .filter(|&fd| fd > 2)
        .collect();
    kept.sort_unstable();
    kept.dedup();
    let mut gaps = Vec::new();
    let mut first = 3;
    for fd in kept {
        if fd > first {
            gaps.push((first, fd - 1));
        }
        first = fd + 1;
    }
    gaps.push((first, u32::MAX));
    gaps
}

/// `close_range(first, last, flags)`.
fn close_range(first: u32, last: u32, flags: u32) -> io::Result<()> {
    // SAFETY: `close_range` takes no pointers; the callers own (or mark) the descriptors it
    // closes.
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, last, flags) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The open descriptors, from `/proc/self/fd` (the directory's own descriptor included:
/// closed by the time it is returned).
fn open_fds() -> io::Result<Vec<RawFd>> {
    let mut fds = Vec::new();
    for entry in fs::read_dir("/proc/self/fd")? {
        if let Some(fd) = entry?
            .file_name()
            .to_str()
            .and_then(|name| name.parse().ok())
        {
            fds.push(fd);
        }
    }
    Ok(fds)
}

/// Marks every descriptor above 2 close-on-exec, so that the programs this process starts
/// never inherit what its caller passed it (a CI runner's pipe, a lock): for
/// `run --no-daemon`, whose job is started by csa itself rather than by a supervisor that
/// closed them ([`close_inherited_fds`]). csa's own descriptors are close-on-exec already.
/// `close_range(CLOSE_RANGE_CLOEXEC)` (Linux 5.11), or each open descriptor listed in
/// `/proc/self/fd`.
///
/// Errors: the descriptors cannot be marked or listed.
pub fn close_inherited_fds_on_exec() -> io::Result<()> {
    match close_range(3, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) {
        Err(err) if matches!(err.raw_os_error(), Some(libc::ENOSYS | libc::EINVAL)) => {}
        other => return other,
    }
    for fd in open_fds()?.into_iter().filter(|&fd| fd > 2) {
        // SAFETY: the borrow lives only for the two `fcntl` calls, which change only the
        // descriptor's flags; one that is not open (the directory handle used above, closed
        // by now) makes them fail with EBADF.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        match rustix::io::fcntl_getfd(borrowed) {
            Ok(flags) => rustix::io::fcntl_setfd(borrowed, flags | FdFlags::CLOEXEC)?,
            Err(rustix::io::Errno::BADF) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

/// Sets or clears the close-on-exec flag of `fd`.
pub fn set_close_on_exec(fd: impl AsFd, close_on_exec: bool) -> io::Result<()> {
    let flags = if close_on_exec {
        FdFlags::CLOEXEC
    } else {
        FdFlags::empty()
    };
    rustix::io::fcntl_setfd(fd, flags).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    #[test]
    fn gaps_between_kept_descriptors() {
        assert_eq!(super::gaps(&[]), [(3, u32::MAX)]);
        assert_eq!(super::gaps(&[0, 2, 3]), [(4, u32::MAX)]);
        assert_eq!(super::gaps(&[7, 4, 7, -1]), [(3, 3), (5, 6), (8, u32::MAX)]);
    }
}
