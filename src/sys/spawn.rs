//! Starting a process detached without waiting for its `exec` (`csa run`'s supervisor):
//! `fork`, then in the child `setsid`, the standard descriptors, the working directory, a
//! gate, and `execve`. `std::process::Command` waits until the child has exec'd (to report
//! an exec failure); here the parent goes on at once, and an exec failure is recorded by
//! the child itself, as the session's result.
//!
//! Everything the child needs is built before the fork: between `fork` and `execve` the
//! child makes only async-signal-safe system calls and allocates nothing. Every signal is
//! blocked across the fork, and the child resets every handler to the default before it
//! lets a signal in (as `posix_spawn` does): the handlers are the parent's, and a child
//! that shares the parent's memory must never run them.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd as _, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt as _;

use super::Pid;

mod clone;
mod failure;
mod raw;
mod stdio;

use clone::start_child;
use failure::record_failure;
pub use failure::{Around, OnExecFailure};
use raw::{discard_pending, execve, reset_handlers, set_mask};
use stdio::{Saved, install_stdio, restore_stdio};

/// The longest single argument or environment string `execve` accepts (bytes;
/// `MAX_ARG_STRLEN`, 32 pages, in `linux/binfmts.h`).
const MAX_ARG_STRLEN: usize = 32 * 4096;

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
/// first — without waiting for the child. [`Gate::until_leader`] waits for the child's
/// first step, `setsid`.
pub struct Gate {
    /// The write end of the pipe the child reads before its `execve`.
    _gate: OwnedFd,
    /// The read end of the pipe on which the child writes one byte after `setsid`; `None`
    /// once that byte was read.
    ready: Option<OwnedFd>,
}

impl Gate {
    /// Waits until the child leads its own session (and so its own process group): it
    /// says so with one byte right after `setsid`, its first step. A pipe rather than memory
    /// both share, so that a child that dies first ends the wait (its end closes). Returns
    /// at once after the first success.
    ///
    /// Errors: the child died before its `setsid` (the caller kills and reaps it: its PID
    /// cannot have been reused, it is a child not yet reaped), or the pipe cannot be read.
    pub fn until_leader(&mut self) -> io::Result<()> {
        let Some(ready) = &self.ready else {
            return Ok(());
        };
        let mut byte = [0_u8; 1];
        loop {
            match rustix::io::read(ready, &mut byte) {
                Ok(1) => break,
                Ok(_) => {
                    return Err(io::Error::other(
                        "the new process ended before it led a session of its own",
                    ));
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(err) => return Err(err.into()),
            }
        }
        self.ready = None;
        Ok(())
    }
}

/// Everything the child of [`spawn`] reads, in memory the parent never frees or changes
/// after the child starts (it is leaked: `csa run` exits soon after).
struct Plan {
    detached: Detached,
    /// Every signal: the child's mask until its `execve`, and the pending signals it drops.
    all: libc::sigset_t,
    /// The mask the child execs with: the caller's and the `blocked` signals of [`spawn`].
    mask: libc::sigset_t,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    gate_read: RawFd,
    /// The write end of the pipe on which the child tells its parent it leads its own
    /// session: one byte, right after `setsid`.
    ready_write: RawFd,
    /// Descriptors of the parent's to close first (-1 for none): the gate's write end, the
    /// read end of the ready pipe and the caller's saved standard descriptors.
    parents: [RawFd; 5],
}

/// Starts a child that leads a new session (`setsid`, so it has no controlling terminal and
/// leads its own process group), starts with `blocked` signals blocked and with `stdio` as
/// its descriptors 0, 1, 2, changes to `cwd`, waits for the returned [`Gate`] to be
/// dropped, and execs. Returns at once, with the child's PID: its start time in
/// `/proc/<pid>/stat` is fixed from now on. The PID is the child's process group ID and
/// session ID once [`Gate::until_leader`] has returned: call it before the PID is made known
/// as such (`daemon.pid`, published) — the caller's work in between overlaps the child's.
///
/// Errors: no pipe, or no process (`EAGAIN` under a process limit).
///
/// On x86-64 and `AArch64` the child shares this process's memory until its `execve`
/// (`clone(CLONE_VM)`, as `posix_spawn` does, but without suspending the caller): nothing is
/// copied and the caller takes no copy-on-write faults afterwards; the child runs on a stack
/// of its own and makes only raw system calls, which touch neither `errno` nor any other
/// thread-local or shared state. Elsewhere it is a `fork`.
///
/// When the `chdir` or the `execve` fails, the child writes that failure's result
/// ([`OnExecFailure`]) and exits with status 125.
///
/// Descriptors without close-on-exec are inherited, as by any `exec`.
pub fn spawn(detached: Detached, blocked: &[i32]) -> io::Result<(Pid, Gate)> {
    let (gate_read, gate_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let (ready_read, ready_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let mut argv: Vec<*const libc::c_char> = detached.argv.iter().map(|s| s.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = detached.envp.iter().map(|s| s.as_ptr()).collect();
    envp.push(std::ptr::null());
    let stdio = detached.stdio;
    let all = full_signal_set();
    let mut old = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `all` is initialized; `old` is written by the call before it is read.
    let masked =
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &raw const all, old.as_mut_ptr()) };
    if masked != 0 {
        return Err(io::Error::from_raw_os_error(masked));
    }
    // SAFETY: initialized by the successful call above.
    let old = unsafe { old.assume_init() };
    let mut mask = old;
    for &signal in blocked {
        // SAFETY: `mask` is an initialized signal set.
        unsafe { libc::sigaddset(&raw mut mask, signal) };
    }
    // The child starts with its standard descriptors already in place: it holds the
    // caller's only until its first step, and a `$(csa run …)` reading standard output until
    // end of file returns as soon as `run` exits.
    let saved = match install_stdio(&stdio) {
        Ok(saved) => saved,
        Err(err) => {
            // SAFETY: `old` is the caller's initialized mask.
            unsafe {
                libc::pthread_sigmask(libc::SIG_SETMASK, &raw const old, std::ptr::null_mut());
            }
            return Err(err);
        }
    };
    let copies = saved.each_ref().map(|saved| match saved {
        Saved::Moved(copy) => *copy,
        _ => -1,
    });
    let plan = Box::leak(Box::new(Plan {
        detached,
        all,
        mask,
        argv,
        envp,
        gate_read: gate_read.as_raw_fd(),
        ready_write: ready_write.as_raw_fd(),
        parents: [
            gate_write.as_raw_fd(),
            ready_read.as_raw_fd(),
            copies[0],
            copies[1],
            copies[2],
        ],
    }));
    let started = start_child(plan);
    restore_stdio(saved);
    // SAFETY: `old` is the caller's initialized mask.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, &raw const old, std::ptr::null_mut());
    }
    drop(gate_read);
    drop(ready_write);
    let pid = started?;
    Ok((
        pid,
        Gate {
            _gate: gate_write,
            ready: Some(ready_read),
        },
    ))
}

/// A signal set holding every signal.
fn full_signal_set() -> libc::sigset_t {
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `sigfillset` initializes the set before `assume_init` reads it.
    unsafe {
        libc::sigfillset(set.as_mut_ptr());
        set.assume_init()
    }
}

/// The child of [`spawn`], up to its `execve`; returns its exit status (125) when that
/// fails. It may share its parent's memory: it only reads `plan`, uses its own stack, makes
/// raw system calls (`rustix`'s, which set no `errno`: checked by a test in `raw`),
/// allocates nothing and cannot panic. It starts with every signal blocked and lets them in
/// (its mask becomes `plan.mask`) only once every handler is reset and just before `execve`.
extern "C" fn child(plan: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `plan` is the leaked `Plan` handed over by `spawn`, never freed or changed.
    let plan = unsafe { &*plan.cast::<Plan>() };
    // First of all, as the parent waits for it: lead a session of its own.
    let _ = rustix::process::setsid();
    // From here on no signal sent to the caller's process group reaches this process: drop
    // those that came before (the caller's shell hanging up, `kill 0`), as they would never
    // have reached a supervisor that `run` waited for. Signals sent later stay pending until
    // the new program lets them in.
    discard_pending(&plan.all);
    // SAFETY: the ready pipe's write end, open in this process's table (a copy); the one
    // byte always fits in a pipe's buffer.
    let _ = rustix::io::write(unsafe { BorrowedFd::borrow_raw(plan.ready_write) }, &[1]);
    // SAFETY: as above; not used again.
    unsafe { rustix::io::close(plan.ready_write) };
    reset_handlers();
    for fd in plan.parents {
        if fd >= 0 {
            // SAFETY: the parent's descriptors, copied into this process's own table.
            unsafe { rustix::io::close(fd) };
        }
    }
    let failure = &plan.detached.failure;
    let (text, errno) = match rustix::process::chdir(plan.detached.cwd.as_c_str()) {
        Ok(()) => {
            // SAFETY: the gate's read end, open in this process's table.
            let gate = unsafe { BorrowedFd::borrow_raw(plan.gate_read) };
            let mut byte = [0u8; 1];
            // Until the parent drops the gate (or dies): end of file.
            while rustix::io::read(gate, &mut byte) == Err(rustix::io::Errno::INTR) {}
            // The mask the new program starts with; a signal that is not in it is now
            // delivered, with its default action.
            set_mask(&plan.mask);
            // SAFETY: NUL-terminated arrays of pointers into `plan.detached`.
            let errno = unsafe {
                execve(
                    &plan.detached.program,
                    plan.argv.as_ptr(),
                    plan.envp.as_ptr(),
                )
            };
            let errno = if errno == libc::ENOENT {
                // The executable was removed or replaced since this process started (a
                // reinstall): run the very file this process runs.
                // SAFETY: as above.
                unsafe { execve(SELF_EXE, plan.argv.as_ptr(), plan.envp.as_ptr()) }
            } else {
                errno
            };
            (&failure.exec, errno)
        }
        Err(err) => (&failure.chdir, err.raw_os_error()),
    };
    record_failure(failure, text, errno);
    125
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

#[cfg(test)]
mod tests;
