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

/// Discards the signals of `set` that are pending: those that reached the child while it
/// was still in its parent's process group, sent to the caller's job, not to the session
/// (`rt_sigtimedwait` with a zero timeout, until none is left).
pub(super) fn discard_pending(set: &libc::sigset_t) {
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    for _ in 0..64 {
        // SAFETY: `set` and `zero` are valid for the call; no `siginfo` is asked for. The
        // kernel's signal set is 8 bytes on Linux.
        let taken = unsafe {
            syscall4(
                libc::SYS_rt_sigtimedwait,
                std::ptr::from_ref(set) as usize,
                0,
                std::ptr::from_ref(&zero) as usize,
                8,
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
