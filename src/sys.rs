//! The one module that makes raw system calls csa's safe dependencies do not wrap:
//! starting a process in a new session, adopting an inherited descriptor, closing inherited
//! descriptors, opening files without following symbolic links, reading process identity
//! from `/proc`, and sending signals to checked PIDs ([`Pid`]).
#![allow(unsafe_code)]

use std::fs;
use std::io;
use std::os::unix::process::CommandExt as _;
use std::process::Command;

mod argv;
pub mod cgroup;
mod exits;
mod fds;
pub mod inotify;
mod pid;
mod procfs;
pub mod signals;
mod spawn;
pub mod witness;

pub use argv::{MAX_ARGV_BYTES, argv_file, read_argv};
pub use exits::until_one_exits;
pub use fds::{
    adopt_inherited_fd, close_inherited_fds, close_inherited_fds_on_exec, set_close_on_exec,
};
pub use pid::{
    Pid, group_may_exist, signal_group, signal_process, signal_proven,
    wait_any_child_of_this_thread,
};
pub use procfs::{ProcStat, descendants_in_group, group_members, has_env, has_file_open};
pub use spawn::{Around, Detached, Gate, OnExecFailure, c_path, spawn};

/// Makes `command` call `setsid()` in the child before `exec`, so the child is the leader
/// of a new session and of a new process group whose ID is its PID, with no controlling
/// terminal.
///
/// Because `Command::spawn` returns only after the child has exec'd, the child's PID is
/// already its process group ID when `spawn` returns.
pub fn start_in_new_session(command: &mut Command) {
    // SAFETY: the closure runs between fork and exec in the child; it only makes the
    // async-signal-safe `setsid` system call and allocates nothing.
    unsafe {
        command.pre_exec(|| rustix::process::setsid().map(drop).map_err(io::Error::from));
    }
}

/// Makes `command` start with `signals` blocked. The signal mask survives `exec`, so a
/// signal sent to the new process at once stays pending until it calls
/// [`unblock_signals`] (the supervisor does, once its handlers are in place). Children it
/// spawns with `std::process::Command` start with an empty mask.
pub fn block_signals(command: &mut Command, signals: &[i32]) {
    let set = signal_set(signals);
    // SAFETY: the closure runs between fork and exec in the child; it only makes the
    // async-signal-safe `sigprocmask` system call on a set built before the fork, and
    // allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::sigprocmask(libc::SIG_BLOCK, &raw const set, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Makes `command`'s child refuse to `exec` when `received` is non-zero, and start the
/// program with the default action for `signals` — closing the window in which a signal
/// sent to the process group could be absorbed by the parent's handler while the job
/// starts anyway.
///
/// Linux delivers a signal sent to a process group either before a `fork` (to the parent
/// only: `fork` is restarted after the handler ran, so the child's copy of `received` is
/// set) or after it (to parent and child both). Between `fork` and `exec` the child: blocks
/// `signals`; gives up ([`signalled_before_exec`]) if `received` is set — by the parent's
/// handler before the fork, or by the inherited handler in the child; resets their
/// handlers to the default (and SIGXFSZ's, which csa ignores: [`ignore_file_size_signal`]);
/// and unblocks them, so that one arriving meanwhile ends the child as it would have ended
/// the job.
pub fn exec_unless_signalled(
    command: &mut Command,
    received: &'static std::sync::atomic::AtomicUsize,
    signals: &'static [i32],
) {
    let set = signal_set(signals);
    // SAFETY: the closure runs between fork and exec in the child. It reads an atomic
    // (memory copied by the fork) and makes only async-signal-safe system calls
    // (`sigprocmask`, `sigaction`) on values built before the fork; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::sigprocmask(libc::SIG_BLOCK, &raw const set, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
            let signal = received.load(std::sync::atomic::Ordering::SeqCst);
            if signal != 0 {
                let signal = i32::try_from(signal).unwrap_or(0);
                return Err(io::Error::from_raw_os_error(SIGNALLED_BEFORE_EXEC + signal));
            }
            // The job gets the default action for the signals csa handles, and for SIGXFSZ,
            // which csa ignores ([`ignore_file_size_signal`]).
            for &signal in signals.iter().chain(&[libc::SIGXFSZ]) {
                default_action(signal)?;
            }
            if libc::sigprocmask(libc::SIG_UNBLOCK, &raw const set, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Makes the calling process ignore SIGXFSZ, for all of its life: a write beyond the file
/// size limit (`ulimit -f`) then fails with EFBIG, an error csa reports and handles (no
/// result is lost, nothing is left half-made), instead of killing csa with no word. Every
/// csa process calls it first thing; the programs csa starts get the default action back
/// ([`exec_unless_signalled`], [`default_signals_on_exec`]): an ignored signal stays
/// ignored across `exec`.
pub fn ignore_file_size_signal() {
    // SAFETY: `signal` with `SIG_IGN` takes no pointers and runs no code of ours.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Makes `command`'s program start with the default action for SIGXFSZ, which csa itself
/// ignores ([`ignore_file_size_signal`]).
pub fn default_signals_on_exec(command: &mut Command) {
    // SAFETY: the closure runs between fork and exec in the child; it only makes the
    // async-signal-safe `sigaction` call on a value built on its stack, and allocates
    // nothing.
    unsafe {
        command.pre_exec(|| default_action(libc::SIGXFSZ));
    }
}

/// Ends the process as `signal` would with its default action, so that whoever started it
/// sees it killed by that signal (a shell running a script stops the script at Ctrl-C
/// only then): the default action is restored and the signal raised. Should the process
/// survive that (a signal whose default is to be ignored), it exits with 128 + N.
pub fn die_of(signal: i32) -> ! {
    let _ = default_action(signal);
    // SAFETY: `raise` takes no pointers; with the default action back, `signal` ends the
    // whole process.
    unsafe {
        libc::raise(signal);
    }
    std::process::exit(128 + signal)
}

/// Sets `signal`'s action to the default. Async-signal-safe.
fn default_action(signal: i32) -> io::Result<()> {
    // SAFETY: a zeroed `sigaction` is the default action with an empty mask.
    let set = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(signal, &raw const action, std::ptr::null_mut())
    };
    if set != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Makes `command`'s child change to directory `dir` before `exec` — as
/// `Command::current_dir` does, but reporting a failure as one of `chdir`
/// ([`chdir_failed`]), which std reports as if `exec` had failed.
///
/// Errors (`InvalidInput`): `dir` holds a NUL byte.
pub fn enter_on_exec(command: &mut Command, dir: &std::path::Path) -> io::Result<()> {
    let dir = c_path(dir)?;
    // SAFETY: the closure runs between fork and exec in the child; it only makes the
    // async-signal-safe `chdir` call on a string built before the fork, and allocates
    // nothing (an `io::Error` from a raw code holds no allocation).
    unsafe {
        command.pre_exec(move || {
            if libc::chdir(dir.as_ptr()) != 0 {
                let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
                return Err(io::Error::from_raw_os_error(CHDIR_FAILED + errno));
            }
            Ok(())
        });
    }
    Ok(())
}

/// The error code by which a child of [`enter_on_exec`] reports that `chdir` failed with
/// error N: this base plus N (far above every `errno` value, apart from
/// [`SIGNALLED_BEFORE_EXEC`]'s).
const CHDIR_FAILED: i32 = 0x4344_0000;

/// The error of `chdir`, when that is why a spawn failed ([`enter_on_exec`]).
pub fn chdir_failed(err: &io::Error) -> Option<io::Error> {
    let errno = err.raw_os_error()?.checked_sub(CHDIR_FAILED)?;
    (1..4096)
        .contains(&errno)
        .then(|| io::Error::from_raw_os_error(errno))
}

/// The error code by which a child of [`exec_unless_signalled`] reports that it saw signal
/// N before `exec`: this base plus N (far above every `errno` value).
const SIGNALLED_BEFORE_EXEC: i32 = 0x5347_0000;

/// The signal a child saw before `exec`, when that is why a spawn failed
/// ([`exec_unless_signalled`]).
pub fn signalled_before_exec(err: &io::Error) -> Option<i32> {
    let code = err.raw_os_error()?;
    let signal = code.checked_sub(SIGNALLED_BEFORE_EXEC)?;
    (1..65).contains(&signal).then_some(signal)
}

/// Unblocks `signals` in the calling thread (see [`block_signals`]); a pending one is
/// delivered now.
pub fn unblock_signals(signals: &[i32]) -> io::Result<()> {
    let set = signal_set(signals);
    // SAFETY: `set` is an initialized signal set; `sigprocmask` changes only the mask.
    if unsafe { libc::sigprocmask(libc::SIG_UNBLOCK, &raw const set, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A signal set holding `signals`.
fn signal_set(signals: &[i32]) -> libc::sigset_t {
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `sigemptyset` initializes the set before `sigaddset` adds to it and before
    // `assume_init` reads it.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        for &signal in signals {
            libc::sigaddset(set.as_mut_ptr(), signal);
        }
        set.assume_init()
    }
}

/// Checks that the calling process may enter directory `dir` (`chdir`): search permission
/// for its effective user and group, as `chdir` checks it (`faccessat(X_OK, AT_EACCESS)`).
/// Errors: why it may not (`EACCES`, `ENOENT`, `ENOTDIR`, …).
pub fn can_enter(dir: &std::path::Path) -> io::Result<()> {
    rustix::fs::accessat(
        rustix::fs::CWD,
        dir,
        rustix::fs::Access::EXEC_OK,
        rustix::fs::AtFlags::EACCESS,
    )
    .map_err(io::Error::from)
}

/// Hands the free pages of the heap back to the kernel (`malloc_trim(0)`), so that a
/// long-lived process does not keep the memory of its start-up (argument parsing) dirty.
/// The supervisor calls it once, before it starts the job; see BENCHMARKS.md (PSS of
/// running supervisors). A no-op where the C library is not glibc.
pub fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes no pointers; it only walks glibc's own allocator state
    // under the allocator's lock.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// True when the calling process is the leader of its session (its session ID is its PID).
pub fn is_session_leader() -> bool {
    Pid::current_session() == Some(Pid::current())
}

/// Opens a regular file for reading without following a symbolic link at its last
/// component.
///
/// Never blocks: the open is non-blocking, so a FIFO planted in a session directory cannot
/// hang csa. Errors: `NotFound` when missing; a symbolic link (`ELOOP`); `InvalidInput`
/// ("not a regular file") for a FIFO, directory, socket or device.
pub fn open_no_follow(path: &std::path::Path) -> io::Result<fs::File> {
    let (file, _) = open_regular(path)?;
    // Back to blocking reads: on a regular file the flag has no effect, but keep the
    // descriptor as an ordinary one for whoever reads it.
    let status = rustix::fs::fcntl_getfl(&file)?;
    rustix::fs::fcntl_setfl(&file, status - rustix::fs::OFlags::NONBLOCK)?;
    Ok(file)
}

/// [`open_no_follow`] for reading and writing: for a session's `lock` taken over by a new
/// holder, whose close when it exits must be seen as a writer's (`IN_CLOSE_WRITE`), as the
/// close of the lock `csa run` created is.
pub fn open_no_follow_rw(path: &std::path::Path) -> io::Result<fs::File> {
    let (file, _) = open_regular_with(path, true)?;
    let status = rustix::fs::fcntl_getfl(&file)?;
    rustix::fs::fcntl_setfl(&file, status - rustix::fs::OFlags::NONBLOCK)?;
    Ok(file)
}

/// [`open_no_follow`], leaving the descriptor non-blocking; also returns the file's size
/// in bytes.
pub fn open_regular(path: &std::path::Path) -> io::Result<(fs::File, u64)> {
    open_regular_with(path, false)
}

fn open_regular_with(path: &std::path::Path, write: bool) -> io::Result<(fs::File, u64)> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
    let file = fs::OpenOptions::new()
        .read(true)
        .write(write)
        .custom_flags(flags.bits().cast_signed())
        .open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok((file, metadata.len()))
}

/// Sets (or, with `None`, removes) environment variable `name`. Only while the process has
/// a single thread: the supervisor calls it first thing (see
/// [`crate::supervise::tunables::restore`]).
pub fn set_env_single_threaded(name: &str, value: Option<&std::ffi::OsStr>) {
    // SAFETY: the caller has no other thread that could read or write the environment
    // meanwhile.
    unsafe {
        match value {
            Some(value) => std::env::set_var(name, value),
            None => std::env::remove_var(name),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_chdir_before_exec_that_fails_says_so() {
        let mut command = std::process::Command::new("/bin/true");
        super::enter_on_exec(&mut command, std::path::Path::new("/nonexistent/dir")).unwrap();
        let err = command.spawn().unwrap_err();
        let why = super::chdir_failed(&err).expect("a chdir failure");
        assert_eq!(why.raw_os_error(), Some(libc::ENOENT));
        assert!(super::chdir_failed(&std::io::Error::from_raw_os_error(libc::ENOENT)).is_none());
        let mut command = std::process::Command::new("pwd");
        super::enter_on_exec(&mut command, std::path::Path::new("/tmp")).unwrap();
        assert_eq!(command.output().unwrap().stdout, b"/tmp\n");
    }
}
