//! Creating the child of [`super::spawn`]: `clone(CLONE_VM)` on a stack of its own where
//! that is safe, else `fork`. The assumptions the shared-memory child rests on are checked,
//! not assumed: at build time (below), at start-up ([`clone_is_safe`]), and by tests.

use std::io;

use super::{Plan, child};
use crate::sys::Pid;

/// The bytes of the child's own stack ([`start_child`] on x86-64 and `AArch64`), above a
/// guard page.
const CHILD_STACK: usize = 64 * 1024;

// The stack's top is where the child starts: the ABIs want it 16-byte aligned, and the
// mapping is page-aligned, so its size must keep that alignment.
const _: () = assert!(CHILD_STACK.is_multiple_of(16));

/// The address of the last child stack mapping made (its guard page), for the tests.
#[cfg(test)]
pub(super) static LAST_STACK: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

/// Creates the child running [`child`] with `plan`, which lives for the rest of the process:
/// `clone(CLONE_VM)` where [`clone_is_safe`], else `fork`. Call with every signal blocked
/// (the child resets their handlers before it lets any in).
pub(super) fn start_child(plan: &'static mut Plan) -> io::Result<Pid> {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    if clone_is_safe() {
        return clone_child(plan);
    }
    fork_child(plan)
}

/// True when `clone(CLONE_VM)` may start the child: the C library's `clone` wrapper does
/// not write the caller's memory on the child's behalf. glibc before 2.25 cached the
/// process's PID in thread-local memory and had the `clone` wrapper reset it in the child —
/// the parent's own cache, with `CLONE_VM`; later versions keep no such cache. musl never
/// had one.
pub(super) fn clone_is_safe() -> bool {
    #[cfg(target_env = "gnu")]
    {
        // SAFETY: `gnu_get_libc_version` returns a static NUL-terminated string.
        let version = unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) };
        glibc_at_least(version.to_str().unwrap_or(""), (2, 25))
    }
    #[cfg(not(target_env = "gnu"))]
    {
        true
    }
}

/// True when glibc version `text` (`2.36`, `2.39.9000`) is at least `wanted`.
fn glibc_at_least(text: &str, wanted: (u32, u32)) -> bool {
    let mut parts = text.split('.').map(str::parse::<u32>);
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor) >= wanted,
        _ => false,
    }
}

/// `clone(CLONE_VM)` on a stack of its own, with a guard page below it: a child that
/// overflowed its stack faults instead of writing over this process's memory.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn clone_child(plan: &'static mut Plan) -> io::Result<Pid> {
    // SAFETY: `sysconf` takes no pointers.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let length = CHILD_STACK + page;
    // SAFETY: an anonymous private mapping; leaked, like `plan`, for the child's use.
    let stack = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            length,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
            -1,
            0,
        )
    };
    if stack == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the lowest page of the mapping just made, which nothing uses yet.
    if unsafe { libc::mprotect(stack, page, libc::PROT_NONE) } != 0 {
        let err = io::Error::last_os_error();
        // SAFETY: the mapping just made, unused.
        unsafe { libc::munmap(stack, length) };
        return Err(err);
    }
    #[cfg(test)]
    LAST_STACK.store(stack as usize, std::sync::atomic::Ordering::SeqCst);
    // SAFETY: `child` runs on the new stack (its top: page-aligned, so 16-byte aligned)
    // with `plan`, which lives for the rest of the process, and only makes raw system calls
    // (see `child`); `SIGCHLD` makes it an ordinary child process, reaped with `waitpid`.
    let pid = unsafe {
        libc::clone(
            child,
            stack.cast::<u8>().add(length).cast(),
            libc::CLONE_VM | libc::SIGCHLD,
            std::ptr::from_mut(plan).cast(),
        )
    };
    Pid::of_new_child(pid)
}

/// A `fork`, the child running [`child`] with `plan`.
fn fork_child(plan: &'static mut Plan) -> io::Result<Pid> {
    // SAFETY: in the child, `child` makes only async-signal-safe system calls and ends the
    // process.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: as above.
        unsafe { libc::_exit(child(std::ptr::from_mut(plan).cast())) }
    }
    Pid::of_new_child(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_versions() {
        assert!(glibc_at_least("2.25", (2, 25)));
        assert!(glibc_at_least("2.36", (2, 25)));
        assert!(glibc_at_least("3.0", (2, 25)));
        assert!(glibc_at_least("2.39.9000", (2, 25)));
        assert!(!glibc_at_least("2.24", (2, 25)));
        assert!(!glibc_at_least("1.99", (2, 25)));
        assert!(!glibc_at_least("", (2, 25)));
        assert!(!glibc_at_least("x.y", (2, 25)));
    }

    /// The build csa ships takes the `clone` path (a C library it may use).
    #[cfg(all(
        target_env = "gnu",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    #[test]
    fn this_build_may_clone() {
        assert!(clone_is_safe());
    }
}
