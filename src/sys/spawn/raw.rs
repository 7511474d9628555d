//! The raw system calls of a child that shares its parent's memory (see [`super`]): made
//! directly, so that they never write `errno` and never allocate.

use std::ffi::CStr;

/// `execve` as a raw system call ([`syscall4`]): returns the error number when it fails
/// (it does not return otherwise).
///
/// # Safety
///
/// `argv` and `envp` are NUL-terminated arrays of pointers to NUL-terminated strings.
pub(super) unsafe fn execve(
    program: &CStr,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
) -> i32 {
    // SAFETY: as documented above.
    let ret = unsafe {
        syscall4(
            libc::SYS_execve,
            program.as_ptr() as usize,
            argv as usize,
            envp as usize,
            0,
        )
    };
    i32::try_from(-ret).unwrap_or(libc::EINVAL)
}

/// The size of the kernel's signal set (bytes), which `rt_sig*` calls take: 64 signals.
const KERNEL_SIGSET: usize = 8;

// The C library's `sigset_t` is at least the kernel's (glibc's is 128 bytes), so a pointer to
// one is a valid kernel signal set.
const _: () = assert!(size_of::<libc::sigset_t>() >= KERNEL_SIGSET);

/// The kernel's `struct sigaction` for `rt_sigaction` on x86-64 and `AArch64` (both define
/// `SA_RESTORER`): handler, flags, restorer, mask.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[repr(C)]
#[derive(Default)]
struct KernelSigaction {
    handler: usize,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// Resets every signal with a handler to its default action, as `posix_spawn` does: the
/// handlers are the parent's code, and a child that shares the parent's memory must never
/// run them. Ignored signals stay ignored (as `exec` keeps them); SIGKILL and SIGSTOP have
/// no handler. Call with every signal blocked.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub(super) fn reset_handlers() {
    let default = KernelSigaction::default(); // handler 0: SIG_DFL
    for signal in 1..=64_usize {
        if signal == libc::SIGKILL as usize || signal == libc::SIGSTOP as usize {
            continue;
        }
        let mut old = KernelSigaction::default();
        // SAFETY: `old` is a kernel `struct sigaction` on this stack; no new action.
        let read = unsafe {
            syscall4(
                libc::SYS_rt_sigaction,
                signal,
                0,
                std::ptr::from_mut(&mut old) as usize,
                KERNEL_SIGSET,
            )
        };
        if read != 0 || old.handler == libc::SIG_DFL || old.handler == libc::SIG_IGN {
            continue;
        }
        // SAFETY: `default` is a kernel `struct sigaction` with the default handler.
        unsafe {
            syscall4(
                libc::SYS_rt_sigaction,
                signal,
                std::ptr::from_ref(&default) as usize,
                0,
                KERNEL_SIGSET,
            );
        }
    }
}

/// [`reset_handlers`] for a forked child (its memory is its own): through the C library.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub(super) fn reset_handlers() {
    for signal in 1..libc::SIGRTMAX() {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        // SAFETY: `sigaction` with a zeroed action (SIG_DFL, empty mask) and a zeroed
        // buffer for the old one.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, std::ptr::null(), &raw mut old) != 0
                || old.sa_sigaction == libc::SIG_DFL
                || old.sa_sigaction == libc::SIG_IGN
            {
                continue;
            }
            let default: libc::sigaction = std::mem::zeroed();
            libc::sigaction(signal, &raw const default, std::ptr::null_mut());
        }
    }
}

/// Sets the calling thread's signal mask to `set` (`rt_sigprocmask(SIG_SETMASK)`).
pub(super) fn set_mask(set: &libc::sigset_t) {
    // SAFETY: `set` is a signal set at least as large as the kernel's; no old mask asked.
    unsafe {
        syscall4(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK as usize,
            std::ptr::from_ref(set) as usize,
            0,
            KERNEL_SIGSET,
        );
    }
}

/// Discards the signals of `set` that are pending: those that reached the child while it
/// was still in its parent's process group, sent to the caller's job, not to the session
/// (`rt_sigtimedwait` with a zero timeout, until none is left).
pub(super) fn discard_pending(set: &libc::sigset_t) {
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    for _ in 0..64 {
        // SAFETY: `set` and `zero` are valid for the call; no `siginfo` is asked for.
        let taken = unsafe {
            syscall4(
                libc::SYS_rt_sigtimedwait,
                std::ptr::from_ref(set) as usize,
                0,
                std::ptr::from_ref(&zero) as usize,
                KERNEL_SIGSET,
            )
        };
        if taken <= 0 {
            return;
        }
    }
}

/// A Linux system call with up to four arguments, made directly: the result, or a negative
/// error number. Unlike the C library's wrappers it never writes `errno`, which a child
/// sharing its parent's memory must not touch.
///
/// # Safety
///
/// The arguments must be valid for system call `number`.
#[cfg(target_arch = "x86_64")]
unsafe fn syscall4(number: libc::c_long, a: usize, b: usize, c: usize, d: usize) -> isize {
    let mut ret = isize::try_from(number).unwrap_or(-1);
    // SAFETY: the Linux x86-64 system call convention: number in rax, arguments in rdi,
    // rsi, rdx, r10; rcx and r11 are clobbered; the result in rax.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") ret,
            in("rdi") a,
            in("rsi") b,
            in("rdx") c,
            in("r10") d,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// A Linux system call with up to four arguments (see the x86-64 version).
///
/// # Safety
///
/// As for the x86-64 version.
#[cfg(target_arch = "aarch64")]
unsafe fn syscall4(number: libc::c_long, a: usize, b: usize, c: usize, d: usize) -> isize {
    let mut ret = a.cast_signed();
    // SAFETY: the Linux AArch64 system call convention: number in x8, arguments in x0 to
    // x3; the result in x0.
    unsafe {
        std::arch::asm!(
            "svc 0",
            in("x8") number,
            inlateout("x0") ret,
            in("x1") b,
            in("x2") c,
            in("x3") d,
            options(nostack),
        );
    }
    ret
}

/// A Linux system call through the C library (a forked child has its own `errno`).
///
/// # Safety
///
/// As for the x86-64 version.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
unsafe fn syscall4(number: libc::c_long, a: usize, b: usize, c: usize, d: usize) -> isize {
    // SAFETY: as documented above.
    unsafe {
        let ret = libc::syscall(number, a, b, c, d);
        if ret < 0 {
            -isize::try_from(*libc::__errno_location()).unwrap_or(1)
        } else {
            isize::try_from(ret).unwrap_or(isize::MAX)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::{AsFd as _, BorrowedFd};

    /// The child of `spawn` may share its parent's memory, so it must never write `errno`
    /// (the parent thread's): it makes its system calls through rustix, whose Linux backend
    /// makes them directly and never touches `errno`. This checks that assumption — it would
    /// fail if rustix were built on its C-library backend — on failing calls of each kind the
    /// child makes.
    #[test]
    fn the_childs_system_calls_leave_errno_alone() {
        use rustix::fs::{self as rfs, Mode, OFlags};
        const SENTINEL: i32 = 4242;
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let file = std::fs::File::open("/dev/null").unwrap();
        // SAFETY: `__errno_location` is this thread's `errno`.
        unsafe { *libc::__errno_location() = SENTINEL };
        // SAFETY: no descriptor has this number in a test process.
        let closed = unsafe { BorrowedFd::borrow_raw(1 << 20) };
        let failures = [
            rustix::process::chdir(&missing).is_err(),
            rustix::io::read(closed, &mut [0u8; 1]).is_err(),
            rfs::open(&missing, OFlags::WRONLY | OFlags::NOFOLLOW, Mode::empty()).is_err(),
            rfs::flock(closed, rfs::FlockOperation::LockExclusive).is_err(),
            rustix::io::pwrite(file.as_fd(), b"x", 0).is_err(),
            rfs::ftruncate(closed, 0).is_err(),
            rfs::fsync(closed).is_err(),
            rfs::renameat_with(
                rfs::CWD,
                &missing,
                rfs::CWD,
                dir.path().join("other"),
                rfs::RenameFlags::NOREPLACE,
            )
            .is_err(),
            rfs::unlink(&missing).is_err(),
        ];
        // SAFETY: as above.
        let errno = unsafe { *libc::__errno_location() };
        assert!(failures.iter().all(|failed| *failed), "{failures:?}");
        assert_eq!(errno, SENTINEL, "a system call of the child's wrote errno");
    }
}
