//! Starting a process detached without waiting for its `exec` (`csa run`'s supervisor):
//! `fork`, then in the child `setsid`, the standard descriptors, the working directory, a
//! gate, and `execve`. `std::process::Command` waits until the child has exec'd (to report
//! an exec failure); here the parent goes on at once, and an exec failure is recorded by
//! the child itself, as the session's result.
//!
//! Everything the child needs is built before the fork: between `fork` and `execve` the
//! child makes only async-signal-safe system calls and allocates nothing.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd as _, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt as _;

use rustix::process::Pid;

/// The longest single argument or environment string `execve` accepts (bytes;
/// `MAX_ARG_STRLEN`, 32 pages, in `linux/binfmts.h`).
const MAX_ARG_STRLEN: usize = 32 * 4096;

/// What an exec failure writes as the session's result, prepared before the fork: the
/// result's text around the error number, and where it goes (see
/// [`crate::record::write_result`]: into the reservation, then renamed without replacing).
pub struct OnExecFailure {
    /// The text before the decimal `errno`.
    pub before: Vec<u8>,
    /// The text after it.
    pub after: Vec<u8>,
    /// The reservation of `result.toml` (written in place).
    pub reservation: CString,
    /// `result.toml`.
    pub result: CString,
    /// The session directory (fsynced after the rename).
    pub dir: CString,
    /// The reservation of `stop.toml`, removed once the result is written (nothing is left
    /// to stop).
    pub stop_reservation: CString,
}

/// A process to start detached, everything prepared.
pub struct Detached {
    program: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    cwd: CString,
    /// Descriptors to install as 0, 1, 2; `None` keeps the caller's.
    stdio: [Option<RawFd>; 3],
    failure: OnExecFailure,
}

impl Detached {
    /// Prepares `program` with `argv` (argv[0] included) and the environment `env`, to run
    /// in `cwd` with `stdio` as its standard descriptors.
    ///
    /// Errors (`InvalidInput`) when a string holds a NUL byte or is longer than `execve`
    /// accepts (128 KiB), or when arguments and environment together exceed the system's
    /// limit (`ARG_MAX`): the `execve` would fail with `E2BIG`.
    pub fn new(
        program: &CStr,
        argv: &[OsString],
        env: &[(OsString, OsString)],
        cwd: &OsStr,
        stdio: [Option<BorrowedFd<'_>>; 3],
        failure: OnExecFailure,
    ) -> io::Result<Self> {
        let c = |bytes: &[u8]| {
            if bytes.len() >= MAX_ARG_STRLEN {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "an argument or environment variable is {} bytes long; the limit is {MAX_ARG_STRLEN}",
                        bytes.len()
                    ),
                ));
            }
            CString::new(bytes).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, "a string holds a NUL byte")
            })
        };
        let argv = argv
            .iter()
            .map(|arg| c(arg.as_bytes()))
            .collect::<io::Result<Vec<_>>>()?;
        let envp = env
            .iter()
            .map(|(key, value)| {
                let mut pair = key.as_bytes().to_vec();
                pair.push(b'=');
                pair.extend_from_slice(value.as_bytes());
                c(&pair)
            })
            .collect::<io::Result<Vec<_>>>()?;
        let size: usize = argv
            .iter()
            .chain(&envp)
            .map(|s| s.as_bytes_with_nul().len() + size_of::<usize>())
            .sum();
        // SAFETY: `sysconf` takes no pointers.
        let limit =
            usize::try_from(unsafe { libc::sysconf(libc::_SC_ARG_MAX) }).unwrap_or(usize::MAX);
        if size > limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the job's arguments and environment take {size} bytes; the system's limit is {limit}"
                ),
            ));
        }
        Ok(Self {
            program: program.to_owned(),
            argv,
            envp,
            cwd: c(cwd.as_bytes())?,
            stdio: stdio.map(|fd| fd.map(|fd| fd.as_raw_fd())),
            failure,
        })
    }
}

/// The gate of a child of [`spawn`]: the child waits before its `execve` until this is
/// dropped (or the parent dies), so that the parent can finish what the new process needs
/// first — without waiting for the child.
pub struct Gate(#[allow(dead_code)] OwnedFd);

/// The bytes of the child's own stack ([`spawn`] on x86-64 and `AArch64`).
const CHILD_STACK: usize = 64 * 1024;

/// Everything the child of [`spawn`] reads, in memory the parent never frees or changes
/// after the child starts (it is leaked: `csa run` exits soon after).
struct Plan {
    detached: Detached,
    /// The signals blocked in the child from its start.
    blocked: libc::sigset_t,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    gate_read: RawFd,
    /// Descriptors of the parent's to close first (-1 for none): the gate's write end and
    /// the caller's saved standard descriptors.
    parents: [RawFd; 4],
}

/// Starts a child that leads a new session (`setsid`, so it has no controlling terminal and
/// leads its own process group), starts with `blocked` signals blocked and with `stdio` as
/// its descriptors 0, 1, 2, changes to `cwd`, waits for the returned [`Gate`] to be
/// dropped, and execs. Returns at once, with the child's PID: its start time in
/// `/proc/<pid>/stat` is fixed from now on.
///
/// On x86-64 and `AArch64` the child shares this process's memory until its `execve`
/// (`clone(CLONE_VM)`, as `posix_spawn` does, but without suspending the caller): nothing is
/// copied and the caller takes no copy-on-write faults afterwards; the child runs on a stack
/// of its own and makes only raw system calls, which touch neither `errno` nor any other
/// thread-local or shared state. Elsewhere it is a `fork`.
///
/// When the `execve` (or the `chdir`) fails, the child writes the failure's result
/// ([`OnExecFailure`]) and exits with status 125.
///
/// Descriptors without close-on-exec are inherited, as by any `exec`.
pub fn spawn(detached: Detached, blocked: &[i32]) -> io::Result<(Pid, Gate)> {
    let (gate_read, gate_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let mut argv: Vec<*const libc::c_char> = detached.argv.iter().map(|s| s.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = detached.envp.iter().map(|s| s.as_ptr()).collect();
    envp.push(std::ptr::null());
    let stdio = detached.stdio;
    let set = super::signal_set(blocked);
    let mut old = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `set` is initialized; `old` is written by the call before it is read.
    let masked =
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &raw const set, old.as_mut_ptr()) };
    if masked != 0 {
        return Err(io::Error::from_raw_os_error(masked));
    }
    // The child starts with its standard descriptors already in place: it holds the
    // caller's only until its first step, and a `$(csa run …)` reading standard output until
    // end of file returns as soon as `run` exits.
    let saved = install_stdio(&stdio);
    let copies = saved.each_ref().map(|saved| match saved {
        Saved::Moved(copy) => *copy,
        _ => -1,
    });
    let plan = Box::leak(Box::new(Plan {
        detached,
        blocked: set,
        argv,
        envp,
        gate_read: gate_read.as_raw_fd(),
        parents: [gate_write.as_raw_fd(), copies[0], copies[1], copies[2]],
    }));
    let started = start_child(plan);
    restore_stdio(saved);
    // SAFETY: `old` was initialized by the successful call above.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), std::ptr::null_mut());
    }
    drop(gate_read);
    let pid = started?;
    Ok((pid, Gate(gate_write)))
}

/// Creates the child running [`child`] with `plan`: `clone(CLONE_VM)` on its own stack.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn start_child(plan: &'static mut Plan) -> io::Result<Pid> {
    // SAFETY: an anonymous private mapping; leaked, like `plan`, for the child's use.
    let stack = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            CHILD_STACK,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
            -1,
            0,
        )
    };
    if stack == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `child` runs on the new stack (its top, 16-byte aligned) with `plan`, which
    // lives for the rest of the process, and only makes raw system calls (see `child`);
    // `SIGCHLD` makes it an ordinary child process, reaped with `waitpid`.
    let pid = unsafe {
        libc::clone(
            child,
            stack.cast::<u8>().add(CHILD_STACK).cast(),
            libc::CLONE_VM | libc::SIGCHLD,
            std::ptr::from_mut(plan).cast(),
        )
    };
    Pid::from_raw(pid).ok_or_else(io::Error::last_os_error)
}

/// Creates the child running [`child`] with `plan`: a `fork`.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn start_child(plan: &'static mut Plan) -> io::Result<Pid> {
    // SAFETY: in the child, `child` makes only async-signal-safe system calls and ends the
    // process.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: as above.
        unsafe { libc::_exit(child(std::ptr::from_mut(plan).cast())) }
    }
    Pid::from_raw(pid).ok_or_else(io::Error::last_os_error)
}

/// What [`install_stdio`] replaced: for each of 0, 1, 2, the caller's descriptor saved
/// (close-on-exec, above 2), `Closed` when it was not open, or nothing when kept.
enum Saved {
    Kept,
    Closed,
    Moved(RawFd),
}

/// Makes `stdio` this process's descriptors 0, 1, 2 (for the child), saving the caller's.
fn install_stdio(stdio: &[Option<RawFd>; 3]) -> [Saved; 3] {
    let mut saved = [Saved::Kept, Saved::Kept, Saved::Kept];
    for ((target, fd), saved) in (0..).zip(stdio).zip(&mut saved) {
        let Some(fd) = *fd else { continue };
        // SAFETY: plain descriptor calls; `target` is one of 0, 1, 2, restored by
        // `restore_stdio` before anything else of this process uses it.
        unsafe {
            let copy = libc::fcntl(target, libc::F_DUPFD_CLOEXEC, 3);
            *saved = if copy >= 0 {
                Saved::Moved(copy)
            } else {
                Saved::Closed
            };
            libc::dup2(fd, target);
        }
    }
    saved
}

/// Puts back the caller's descriptors 0, 1, 2 ([`install_stdio`]).
fn restore_stdio(saved: [Saved; 3]) {
    for (target, saved) in (0..).zip(saved) {
        // SAFETY: plain descriptor calls on descriptors this module made.
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

/// The child of [`spawn`], up to its `execve`; returns its exit status (125) when that
/// fails. It may share its parent's memory: it only reads `plan`, uses its own stack, makes
/// raw system calls (`rustix`'s, which set no `errno`), allocates nothing and cannot panic.
extern "C" fn child(plan: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `plan` is the leaked `Plan` handed over by `spawn`, never freed or changed.
    let plan = unsafe { &*plan.cast::<Plan>() };
    for fd in plan.parents {
        if fd >= 0 {
            // SAFETY: the parent's descriptors, copied into this process's own table.
            unsafe { rustix::io::close(fd) };
        }
    }
    let _ = rustix::process::setsid();
    // From here on no signal sent to the caller's process group reaches this process: drop
    // those that came before (the caller's shell hanging up, `kill 0`), as they would never
    // have reached a supervisor that `run` waited for.
    discard_pending(&plan.blocked);
    let errno = match rustix::process::chdir(plan.detached.cwd.as_c_str()) {
        Ok(()) => {
            // SAFETY: the gate's read end, open in this process's table.
            let gate = unsafe { BorrowedFd::borrow_raw(plan.gate_read) };
            let mut byte = [0u8; 1];
            // Until the parent drops the gate (or dies): end of file.
            while rustix::io::read(gate, &mut byte) == Err(rustix::io::Errno::INTR) {}
            // SAFETY: NUL-terminated arrays of pointers into `plan.detached`.
            let errno = unsafe {
                execve(
                    &plan.detached.program,
                    plan.argv.as_ptr(),
                    plan.envp.as_ptr(),
                )
            };
            if errno == libc::ENOENT {
                // The executable was removed or replaced since this process started (a
                // reinstall): run the very file this process runs.
                // SAFETY: as above.
                unsafe { execve(SELF_EXE, plan.argv.as_ptr(), plan.envp.as_ptr()) }
            } else {
                errno
            }
        }
        Err(err) => err.raw_os_error(),
    };
    record_failure(&plan.detached.failure, errno);
    125
}

/// `execve` as a raw system call ([`syscall4`]): returns the error number when it fails
/// (it does not return otherwise).
///
/// # Safety
///
/// `argv` and `envp` are NUL-terminated arrays of pointers to NUL-terminated strings.
unsafe fn execve(
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
fn discard_pending(set: &libc::sigset_t) {
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

/// Writes the result of a failed `execve` (see [`OnExecFailure`]): its text with `errno` in
/// a buffer on the stack, into the reservation, fsynced, renamed to `result.toml` unless one
/// exists, and the directory fsynced; then removes the reservation of `stop.toml`. Best
/// effort: on any error the session reads as `lost`. Raw system calls only, no allocation,
/// no panic (see [`child`]).
fn record_failure(failure: &OnExecFailure, errno: i32) {
    use rustix::fs::{self as rfs, Mode, OFlags};
    let mut text = [0u8; 4096];
    let mut len = 0;
    let mut digits = [0u8; 12];
    let mut first = digits.len();
    let mut n = errno.unsigned_abs();
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + u8::try_from(n % 10).unwrap_or(0);
        first -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let parts: [&[u8]; 3] = [
        &failure.before,
        digits.get(first..).unwrap_or(&[]),
        &failure.after,
    ];
    for byte in parts.iter().flat_map(|part| part.iter()) {
        if let Some(slot) = text.get_mut(len) {
            *slot = *byte;
            len += 1;
        }
    }
    let text = text.get(..len).unwrap_or(&[]);
    let Ok(file) = rfs::open(
        failure.reservation.as_c_str(),
        OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    let written = rfs::flock(&file, rfs::FlockOperation::LockExclusive).is_ok()
        && rustix::io::pwrite(&file, text, 0) == Ok(text.len())
        && rfs::ftruncate(&file, text.len() as u64).is_ok()
        && rfs::fsync(&file).is_ok();
    let renamed = written
        && rfs::renameat_with(
            rfs::CWD,
            failure.reservation.as_c_str(),
            rfs::CWD,
            failure.result.as_c_str(),
            rfs::RenameFlags::NOREPLACE,
        )
        .is_ok();
    if renamed {
        if let Ok(dir) = rfs::open(
            failure.dir.as_c_str(),
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            let _ = rfs::fsync(&dir);
        }
        let _ = rfs::unlink(failure.stop_reservation.as_c_str());
    }
}

/// `path` as a C string, for [`OnExecFailure`]. Errors on a NUL byte.
pub fn c_path(path: &std::path::Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path holds a NUL byte"))
}

/// `/proc/self/exe`: the running executable's file even when its path has since been
/// removed. Executed only when the program's path is gone: the kernel names a process after
/// the file it executes, and `ps` and `pgrep` should see `csa`, not `exe`.
const SELF_EXE: &CStr = c"/proc/self/exe";
