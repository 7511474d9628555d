//! Catching the signals a supervisor survives without allocating: one handler, installed
//! with `sigaction`, that records the signal in a static and, when a wait asked for it,
//! writes a byte to a pipe or ends a blocking `flock` ([`lock_or_signal`]). (`signal-hook` keeps a registry on the heap — a map and a box
//! per registration, several kilobytes that stayed dirty in every supervisor for its whole
//! life: BENCHMARKS.md, "Memory".)
//!
//! The same handler also notes, per signal number, which signals came from another
//! process ([`take_arrived`]): `csa __node` relays those to the job.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};

/// The number of the last caught signal (0: none) among those installed with [`catch`].
static CAUGHT: AtomicUsize = AtomicUsize::new(0);

/// The signals whose arrival sets [`CAUGHT`] (bit N: signal N): those installed with
/// [`catch`], not those only [`observe`]d.
static RECORDED: AtomicU64 = AtomicU64::new(0);

/// The signals that arrived from another process since the last [`take_arrived`] (bit N:
/// signal N). A signal this process sent itself (to its own process group) is not one.
static ARRIVED: AtomicU64 = AtomicU64::new(0);

/// This process's PID, as the handler compares it with the sender's (0: not yet known).
static OWN_PID: AtomicI32 = AtomicI32::new(0);

/// The write end of the pipe the handler wakes a wait through (-1: none).
static WAKE: AtomicI32 = AtomicI32::new(-1);

/// The descriptor a blocking `flock` waits on ([`lock_or_signal`]; -1: none), and one that
/// is never locked by anyone else, which the handler puts in its place.
static LOCKING: AtomicI32 = AtomicI32::new(-1);
static NEVER_LOCKED: AtomicI32 = AtomicI32::new(-1);

/// The handler: records `signal` (in [`CAUGHT`] when it is one of [`catch`]'s, in
/// [`ARRIVED`] when another process sent it), then writes one byte to the wake pipe, if
/// any. Only async-signal-safe calls; `errno` is left as it was.
extern "C" fn on_signal(signal: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let bit = bit(signal);
    if RECORDED.load(Ordering::SeqCst) & bit != 0 {
        CAUGHT.store(usize::try_from(signal).unwrap_or(0), Ordering::SeqCst);
    }
    // SAFETY: the kernel passes a valid `siginfo_t` to an `SA_SIGINFO` handler; `si_pid`
    // is meaningful for signals sent by `kill` (`SI_USER`) and `sigqueue` (`SI_QUEUE`).
    let from_self = !info.is_null()
        && unsafe {
            matches!((*info).si_code, libc::SI_USER | libc::SI_QUEUE)
                && (*info).si_pid() == OWN_PID.load(Ordering::SeqCst)
        };
    if !from_self {
        ARRIVED.fetch_or(bit, Ordering::SeqCst);
    }
    let locking = LOCKING.load(Ordering::SeqCst);
    let never = NEVER_LOCKED.load(Ordering::SeqCst);
    if locking >= 0 && never >= 0 {
        // SAFETY: `dup2` is async-signal-safe; both descriptors belong to `lock_or_signal`,
        // which is waiting to lock `locking` and expects it to be replaced.
        unsafe {
            let errno = *libc::__errno_location();
            libc::dup2(never, locking);
            *libc::__errno_location() = errno;
        }
    }
    let fd = WAKE.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: `errno` is this thread's; `write` to a pipe is async-signal-safe, and a
        // full pipe (non-blocking) only means a wake-up is pending already.
        unsafe {
            let errno = *libc::__errno_location();
            libc::write(fd, (&raw const errno).cast(), 1);
            *libc::__errno_location() = errno;
        }
    }
}

/// Bit `signal` of a signal mask (0 for a number out of range).
fn bit(signal: i32) -> u64 {
    u32::try_from(signal)
        .ok()
        .filter(|&n| n < 64)
        .map_or(0, |n| 1 << n)
}

/// Installs the handler for `signals` (with `SA_RESTART`: interrupted system calls go on);
/// each one's arrival is recorded ([`caught`]).
///
/// Errors: `sigaction` failed.
pub fn catch(signals: &[i32]) -> io::Result<()> {
    for &signal in signals {
        RECORDED.fetch_or(bit(signal), Ordering::SeqCst);
    }
    install(signals, libc::SA_RESTART)
}

/// Installs the handler for `signals` without recording them in [`caught`]: their arrival
/// from another process shows only in [`take_arrived`] (`SIGCONT`, which ends nothing).
///
/// Errors: `sigaction` failed.
pub fn observe(signals: &[i32]) -> io::Result<()> {
    install(signals, libc::SA_RESTART)
}

/// The signals that arrived from another process since the last call (bit N: signal N),
/// among those installed with [`catch`] or [`observe`]. Several arrivals of one signal
/// between two calls count once, as the kernel merges pending standard signals.
pub fn take_arrived() -> u64 {
    ARRIVED.swap(0, Ordering::SeqCst)
}

/// Installs the handler for `signals` with `flags`.
fn install(signals: &[i32], flags: libc::c_int) -> io::Result<()> {
    OWN_PID.store(
        rustix::process::getpid().as_raw_nonzero().get(),
        Ordering::SeqCst,
    );
    for &signal in signals {
        // SAFETY: a zeroed `sigaction` with a valid handler, an empty mask and `flags`.
        let installed = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal
                as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
                as usize;
            action.sa_flags = flags | libc::SA_SIGINFO;
            libc::sigemptyset(&raw mut action.sa_mask);
            libc::sigaction(signal, &raw const action, std::ptr::null_mut())
        };
        if installed != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Takes an advisory lock on `file` (shared or exclusive), blocking until it is free —
/// unless one of `signals` (which [`catch`] handles) arrives first, before or during the
/// wait: `Ok(true)` when locked, `Ok(false)` when a signal came (check [`caught`]). On the
/// calling thread, no helper thread; call it from the only thread that takes `signals`.
///
/// How a signal ends the wait at any moment: the lock is taken on a duplicate descriptor of
/// `file` while the handler runs without `SA_RESTART`, so a signal during the `flock` makes
/// it return `EINTR`; and the handler replaces that duplicate with a descriptor nobody ever
/// locks (`dup2`), so a signal just before the `flock` makes it succeed at once. Either way
/// the caller then finds the signal in [`caught`]. (`flock` locks belong to the open file,
/// so a lock taken through the duplicate is `file`'s.)
///
/// Errors: the duplicate or the never-locked file cannot be made; `flock` fails otherwise.
pub fn lock_or_signal(file: &std::fs::File, shared: bool, signals: &[i32]) -> io::Result<bool> {
    use std::os::fd::{AsRawFd as _, IntoRawFd as _};
    if NEVER_LOCKED.load(Ordering::SeqCst) < 0 {
        let never = rustix::fs::memfd_create(c"csa-never-locked", rustix::fs::MemfdFlags::CLOEXEC)?;
        NEVER_LOCKED.store(never.into_raw_fd(), Ordering::SeqCst);
    }
    let duplicate = rustix::io::fcntl_dupfd_cloexec(file, 3)?;
    LOCKING.store(duplicate.as_raw_fd(), Ordering::SeqCst);
    let outcome = install(signals, 0).and_then(|()| {
        if CAUGHT.load(Ordering::SeqCst) != 0 {
            return Ok(false);
        }
        let operation = if shared {
            rustix::fs::FlockOperation::LockShared
        } else {
            rustix::fs::FlockOperation::LockExclusive
        };
        match rustix::fs::flock(&duplicate, operation) {
            Ok(()) => Ok(CAUGHT.load(Ordering::SeqCst) == 0),
            Err(rustix::io::Errno::INTR) => Ok(false),
            Err(err) => Err(err.into()),
        }
    });
    LOCKING.store(-1, Ordering::SeqCst);
    let restored = install(signals, libc::SA_RESTART);
    // Closing the duplicate keeps a lock taken through it: `file` still refers to the same
    // open file.
    drop(duplicate);
    let locked = outcome?;
    restored?;
    Ok(locked)
}

/// The static the handler records into: the number of the last caught signal, 0 if none.
pub fn caught() -> &'static AtomicUsize {
    &CAUGHT
}

/// Makes the handler write a byte to `fd` (the non-blocking write end of a pipe that lives
/// as long as the process) on every caught signal.
pub fn wake_through(fd: RawFd) {
    WAKE.store(fd, Ordering::SeqCst);
}
