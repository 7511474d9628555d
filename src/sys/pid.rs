//! Process IDs checked where they enter csa, and the only functions that send signals.
//!
//! A PID comes from the kernel (`clone`, `fork`, `waitpid`, std's `Child::id`) or from a
//! file (`daemon.pid`, `/proc`). Every one becomes a [`Pid`] at that boundary, and a [`Pid`]
//! is always above 0: `kill(0, …)` would signal the caller's own process group and
//! `kill(-1, …)` every process the caller may signal (as root: every process of the
//! machine), so neither value may ever reach a signal. [`signal_process`] and
//! [`signal_group`] are the only ways csa sends a signal (clippy's `disallowed-methods`
//! keeps `kill`, `killpg` and unchecked PIDs out of the rest of the code), and they also
//! refuse PID 1, which is never a session's process. [`signal_proven`] signals a process
//! only if a proof about it holds, race-free where the kernel has pidfds.

use std::fmt;
use std::io;
use std::num::NonZeroI32;

use rustix::process::Signal;

/// A process ID above 0 (or a process group ID: the PID of its leader).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pid(NonZeroI32);

impl Pid {
    /// `raw` when it is above 0.
    pub fn new(raw: i32) -> Option<Self> {
        if raw <= 0 {
            return None;
        }
        NonZeroI32::new(raw).map(Self)
    }

    /// Parses a PID written in decimal, as `/proc` and `daemon.pid` write them: ASCII
    /// digits only (no sign, no space), above 0, at most `i32::MAX`.
    pub fn parse(text: &str) -> Option<Self> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Self::new(text.parse().ok()?)
    }

    /// The PID the kernel returned for a new child (`clone`, `fork`): -1 is a failure, with
    /// `errno` set (read here, so call it at once), and 0 is never a child's PID.
    pub fn of_new_child(raw: i32) -> io::Result<Self> {
        if let Some(pid) = Self::new(raw) {
            return Ok(pid);
        }
        let err = io::Error::last_os_error();
        Err(if raw == -1 && err.raw_os_error().is_some_and(|e| e != 0) {
            err
        } else {
            io::Error::other(format!("the kernel returned {raw} as a new child's PID"))
        })
    }

    /// The PID of a child started with `std::process::Command` (`u32` there).
    ///
    /// Errors when it is 0 or does not fit a `pid_t` (never on Linux).
    pub fn of_child(child: &std::process::Child) -> io::Result<Self> {
        #[allow(clippy::disallowed_methods)] // the one place std's `u32` PID is read
        let raw = child.id();
        i32::try_from(raw)
            .ok()
            .and_then(Self::new)
            .ok_or_else(|| io::Error::other(format!("std reported {raw} as a child's PID")))
    }

    /// The calling process's PID.
    pub fn current() -> Self {
        Self(rustix::process::getpid().as_raw_nonzero())
    }

    /// The calling process's process group ID; `None` when its leader is outside the
    /// caller's PID namespace (`getpgrp` returns 0 there).
    pub fn current_group() -> Option<Self> {
        // SAFETY: `getpgrp` takes no arguments and cannot fail. (rustix's wrapper assumes a
        // non-zero result.)
        Self::new(unsafe { libc::getpgrp() })
    }

    /// The calling process's session ID; `None` when its leader is outside the caller's
    /// PID namespace.
    pub fn current_session() -> Option<Self> {
        // SAFETY: `getsid(0)` takes no pointers; for the caller it cannot fail.
        Self::new(unsafe { libc::getsid(0) })
    }

    /// The PID as the kernel's `pid_t`: always above 0.
    pub fn as_raw(self) -> i32 {
        self.0.get()
    }

    /// True for PID 1: `init`, which adopts orphans and is never a session's process.
    pub fn is_init(self) -> bool {
        self.as_raw() == 1
    }

    /// The same PID as rustix's type, for rustix's calls that take one.
    pub fn to_rustix(self) -> rustix::process::Pid {
        // SAFETY: a `Pid` is above 0, the one requirement of `from_raw_unchecked`.
        #[allow(clippy::disallowed_methods)]
        unsafe {
            rustix::process::Pid::from_raw_unchecked(self.as_raw())
        }
    }
}

impl TryFrom<rustix::process::Pid> for Pid {
    type Error = io::Error;

    /// A PID the kernel returned through rustix (`waitpid`, `getppid`): rustix checks only
    /// that it is not 0.
    fn try_from(pid: rustix::process::Pid) -> io::Result<Self> {
        let raw = pid.as_raw_nonzero().get();
        Self::new(raw)
            .ok_or_else(|| io::Error::other(format!("the kernel returned {raw} as a PID")))
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_raw().fmt(f)
    }
}

/// Sends `signal` to process `pid`.
///
/// Errors: `ESRCH` when it does not exist; `EPERM` when it may not be signalled, and
/// always for PID 1 (nothing is sent).
pub fn signal_process(pid: Pid, signal: Signal) -> io::Result<()> {
    refuse_init(pid)?;
    #[allow(clippy::disallowed_methods)] // `pid` is above 1
    rustix::process::kill_process(pid.to_rustix(), signal).map_err(io::Error::from)
}

/// Sends `signal` to every member of process group `pgid`, at once (`kill(-pgid)`).
///
/// Errors: `ESRCH` when the group has no member; `EPERM` when none may be signalled, and
/// always for group 1 (nothing is sent).
pub fn signal_group(pgid: Pid, signal: Signal) -> io::Result<()> {
    refuse_init(pgid)?;
    #[allow(clippy::disallowed_methods)] // `pgid` is above 1
    rustix::process::kill_process_group(pgid.to_rustix(), signal).map_err(io::Error::from)
}

/// Waits until a child of the calling *thread* ends and reaps it: `waitpid(-1, __WNOTHREAD)`
/// (waitpid(2), since Linux 2.4). Returns its PID and its raw wait status.
///
/// Never a child that another thread of this process started: a thread that runs a command
/// (`std::process::Command`, as the Slurm client's `scontrol` and `scancel` do) reaps it by
/// its PID, and a plain `waitpid(-1)` here would take its status first (that thread's wait
/// then fails with `ECHILD`). Orphans re-parented to a child subreaper go to its first live
/// thread — its main thread, as long as it runs — so a main thread that starts the job also
/// reaps the job's orphans this way, and nothing else.
///
/// Errors: `ECHILD` when the thread has no child, `EINTR`, and a PID the kernel gave that is
/// not above 0.
pub fn wait_any_child_of_this_thread() -> io::Result<(Pid, rustix::process::WaitStatus)> {
    // Not named by rustix; passed through unchanged (its `WaitOptions` keeps unknown bits).
    let only_this_thread =
        rustix::process::WaitOptions::from_bits_retain(libc::__WNOTHREAD.cast_unsigned());
    match rustix::process::wait(only_this_thread)? {
        Some((pid, status)) => Pid::new(pid.as_raw_nonzero().get())
            .map(|pid| (pid, status))
            .ok_or_else(|| io::Error::other("the kernel reaped a child with PID 1")),
        // Only with WNOHANG.
        None => Err(io::Error::from_raw_os_error(libc::ECHILD)),
    }
}

/// True unless process group `pgid` certainly has no member at all: `kill(-pgid, 0)`,
/// which sends nothing, fails with `ESRCH`. A member may be a zombie, or another user's
/// process (`EPERM`): a cheap look before a scan of `/proc`, never a proof of anything.
pub fn group_may_exist(pgid: Pid) -> bool {
    !matches!(
        rustix::process::test_kill_process_group(pgid.to_rustix()),
        Err(rustix::io::Errno::SRCH)
    )
}

/// Sends `signal` to process `pid` only if `proof()` holds for it — checked after the
/// process is pinned, so that the signal reaches the very process the proof was about. The
/// process is held by a pidfd (`pidfd_open`, Linux 5.3) while `proof` looks at it through
/// its PID: if it exits and its PID is reused meanwhile, the signal goes to the old
/// process, which is gone (nothing is sent). Without pidfds the proof and the `kill` are two
/// steps (a PID would have to be reused within microseconds in between).
///
/// Returns whether it was signalled: false when `proof` does not hold or the process is
/// gone. Errors: as [`signal_process`] (PID 1 is refused).
pub fn signal_proven(pid: Pid, signal: Signal, proof: impl FnOnce() -> bool) -> io::Result<bool> {
    refuse_init(pid)?;
    let gone = |err: &io::Error| err.raw_os_error() == Some(libc::ESRCH);
    let pidfd =
        match rustix::process::pidfd_open(pid.to_rustix(), rustix::process::PidfdFlags::empty()) {
            Ok(fd) => Some(fd),
            Err(rustix::io::Errno::SRCH) => return Ok(false),
            Err(rustix::io::Errno::NOSYS) => None,
            Err(err) => return Err(err.into()),
        };
    if !proof() {
        return Ok(false);
    }
    let sent = match pidfd {
        Some(fd) => rustix::process::pidfd_send_signal(fd, signal).map_err(io::Error::from),
        None => signal_process(pid, signal),
    };
    match sent {
        Ok(()) => Ok(true),
        Err(err) if gone(&err) => Ok(false),
        Err(err) => Err(err),
    }
}

fn refuse_init(pid: Pid) -> io::Result<()> {
    if pid.is_init() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "PID 1 is never a session's process",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_positive_pids() {
        for raw in [0, -1, -2, i32::MIN] {
            assert_eq!(Pid::new(raw), None, "{raw}");
        }
        assert_eq!(Pid::new(1).map(Pid::as_raw), Some(1));
        assert_eq!(Pid::new(i32::MAX).map(Pid::as_raw), Some(i32::MAX));
    }

    #[test]
    fn parses_digits_only() {
        assert_eq!(Pid::parse("1234").map(Pid::as_raw), Some(1234));
        for bad in [
            "",
            "0",
            "00",
            "-1",
            "+5",
            " 5",
            "5 ",
            "5\n",
            "2147483648",
            "x",
            "1e3",
        ] {
            assert_eq!(Pid::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_failed_clone_is_an_error() {
        assert!(Pid::of_new_child(-1).is_err());
        assert!(Pid::of_new_child(0).is_err());
        assert_eq!(Pid::of_new_child(42).unwrap().as_raw(), 42);
    }

    #[test]
    fn init_is_refused() {
        // Checked without sending anything: `kill(-1)` must never be tried, even in a test.
        let err = refuse_init(Pid::new(1).unwrap()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert!(refuse_init(Pid::new(2).unwrap()).is_ok());
    }
}
