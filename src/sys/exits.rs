//! Waiting for processes to exit without polling `/proc`: a pidfd (`pidfd_open`, Linux 5.3)
//! becomes readable when its process exits, whoever its parent is, so a caller that is not
//! the parent can sleep in `poll(2)` until one of the processes it watches is gone.

use std::io;
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::process::PidfdFlags;

use super::Pid;

/// How many processes [`until_one_exits`] watches at most: more are watched through the
/// caller's next look.
pub const MAX_WATCHED: usize = 64;

/// Sleeps until one of `pids` (the first [`MAX_WATCHED`]) exits — becomes a zombie or is
/// gone — or `limit` passes. Returns true when one exited (or was already gone), false
/// when `limit` passed first. A process that the caller cannot see any more counts as
/// exited; an empty `pids` returns true at once.
///
/// Errors: `Unsupported` when the kernel has no pidfds (`ENOSYS`: before Linux 5.3), and any
/// other error of `pidfd_open` or `poll` (`EMFILE`): the caller falls back to looking
/// again after a pause.
pub fn until_one_exits(pids: &[Pid], limit: Duration) -> io::Result<bool> {
    let mut fds = Vec::with_capacity(pids.len().min(MAX_WATCHED));
    for pid in pids.iter().take(MAX_WATCHED) {
        match rustix::process::pidfd_open(pid.to_rustix(), PidfdFlags::empty()) {
            Ok(fd) => fds.push(fd),
            Err(rustix::io::Errno::SRCH) => return Ok(true),
            Err(rustix::io::Errno::NOSYS) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "this kernel has no pidfds (Linux 5.3)",
                ));
            }
            Err(err) => return Err(err.into()),
        }
    }
    if fds.is_empty() {
        return Ok(true);
    }
    let mut polled: Vec<PollFd<'_>> = fds
        .iter()
        .map(|fd| PollFd::new(fd, PollFlags::IN))
        .collect();
    let timeout = Timespec {
        tv_sec: i64::try_from(limit.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(limit.subsec_nanos()),
    };
    match rustix::event::poll(&mut polled, Some(&timeout)) {
        Ok(ready) => Ok(ready > 0),
        // A signal handler ran: the caller looks again (its deadline is its own).
        Err(rustix::io::Errno::INTR) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::Instant;

    #[test]
    fn wakes_when_a_watched_process_exits_and_not_before() {
        let mut long = Command::new("sleep").arg("30").spawn().unwrap();
        let mut short = Command::new("sleep").arg("0.2").spawn().unwrap();
        let pid = |child: &std::process::Child| Pid::of_child(child).unwrap();
        let started = Instant::now();
        assert!(!until_one_exits(&[pid(&long)], Duration::from_millis(100)).unwrap());
        assert!(until_one_exits(&[pid(&long), pid(&short)], Duration::from_secs(20)).unwrap());
        assert!(started.elapsed() < Duration::from_secs(20));
        short.wait().unwrap();
        long.kill().unwrap();
        long.wait().unwrap();
    }
}
