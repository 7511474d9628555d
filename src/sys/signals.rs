//! Catching the signals a supervisor survives without allocating: one handler, installed
//! with `sigaction`, that records the signal in a static and, when a wait asked for it,
//! writes a byte to a pipe. (`signal-hook` keeps a registry on the heap — a map and a box
//! per registration, several kilobytes that stayed dirty in every supervisor for its whole
//! life: BENCHMARKS.md, "Memory".)

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

/// The number of the last caught signal (0: none).
static CAUGHT: AtomicUsize = AtomicUsize::new(0);

/// The write end of the pipe the handler wakes a wait through (-1: none).
static WAKE: AtomicI32 = AtomicI32::new(-1);

/// The handler: records `signal`, then writes one byte to the wake pipe, if any. Only
/// async-signal-safe calls; `errno` is left as it was.
extern "C" fn on_signal(signal: libc::c_int) {
    CAUGHT.store(usize::try_from(signal).unwrap_or(0), Ordering::SeqCst);
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

/// Installs the handler for `signals` (with `SA_RESTART`: interrupted system calls go on).
///
/// Errors: `sigaction` failed.
pub fn catch(signals: &[i32]) -> io::Result<()> {
    for &signal in signals {
        // SAFETY: a zeroed `sigaction` with a valid handler, an empty mask and `SA_RESTART`.
        let installed = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&raw mut action.sa_mask);
            libc::sigaction(signal, &raw const action, std::ptr::null_mut())
        };
        if installed != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
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
