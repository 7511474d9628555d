//! Blocking waits that a stop request interrupts: a supervisor waiting for its
//! dependencies or for a queue slot must give up at once when `session kill` signals it,
//! and must use no CPU while it waits (no polling).
//!
//! Signals arrive through a pipe that the signal handler writes to
//! ([`crate::sys::signals::wake_through`]), so a wait for a readable descriptor (an inotify
//! instance) or for time is one `poll` on that pipe and on what is awaited. `flock` cannot
//! be polled: a wait for a lock blocks in `flock` on the calling thread, which a signal
//! ends at any moment ([`crate::sys::signals::lock_or_signal`]).

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags};
use rustix::pipe::PipeFlags;

use crate::sys;
use crate::sys::inotify::DirChanges;

mod first;
mod signals;

pub use first::on_first_signal;
pub use signals::{Received, SURVIVED_SIGNALS, survive};

/// What a wait ended with.
#[derive(Debug)]
pub enum Waited<T> {
    /// What was awaited happened.
    Ready(T),
    /// A stop signal arrived first (its number).
    Stopped(i32),
}

/// Waits that end early on any of [`SURVIVED_SIGNALS`].
#[derive(Debug)]
pub struct Interruptible {
    signals: OwnedFd,
    received: Received,
}

impl Interruptible {
    /// Registers a pipe with the signal handlers. Call after [`survive`].
    pub fn new(received: Received) -> io::Result<Self> {
        let (read, write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
        // The handler writes to it for as long as the process lives.
        sys::signals::wake_through(std::os::fd::IntoRawFd::into_raw_fd(write));
        Ok(Self {
            signals: read,
            received,
        })
    }

    /// The stop signal received so far, if any.
    pub fn stopped(&self) -> Option<i32> {
        self.received.signal()
    }

    /// Takes an advisory lock on `file` (shared or exclusive), blocking until it is free or a
    /// stop signal arrives. Returns the file, locked.
    pub fn lock(&self, file: File, shared: bool) -> io::Result<Waited<File>> {
        let attempt = if shared {
            file.try_lock_shared()
        } else {
            file.try_lock()
        };
        match attempt {
            Ok(()) => return Ok(Waited::Ready(file)),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(err)) => return Err(err),
        }
        if let Some(signal) = self.stopped() {
            return Ok(Waited::Stopped(signal));
        }
        // On this thread: a helper thread blocked in `flock` cost every queued session a
        // stack and an arena (BENCHMARKS.md, "Memory"). The wait may be long: what was
        // freed since start-up goes back first.
        sys::release_free_heap();
        if sys::signals::lock_or_signal(&file, shared, &SURVIVED_SIGNALS)? {
            return Ok(Waited::Ready(file));
        }
        Ok(Waited::Stopped(self.stopped().unwrap_or(libc::SIGTERM)))
    }

    /// Waits until `changes` reports a change in its directories or its bound passes (at
    /// most `limit`: see [`DirChanges::wait`]), or a stop signal arrives.
    ///
    /// Errors: `poll` fails otherwise than by being interrupted.
    pub fn changes(&self, changes: &mut DirChanges, limit: Duration) -> io::Result<Waited<()>> {
        if let Some(signal) = self.stopped() {
            return Ok(Waited::Stopped(signal));
        }
        let [signalled] = changes.wait(limit, [(self.signals.as_fd(), PollFlags::IN)])?;
        if !signalled.is_empty() {
            self.drain();
        }
        match self.stopped() {
            Some(signal) => Ok(Waited::Stopped(signal)),
            None => Ok(Waited::Ready(())),
        }
    }

    /// Blocks until signals arrive from another process, and returns them (bit N: signal
    /// N; see [`sys::signals::take_arrived`]): for a thread that acts on each signal (the
    /// Slurm node's relay to the job).
    ///
    /// Errors: `poll` fails otherwise than by being interrupted.
    pub fn next_arrivals(&self) -> io::Result<u64> {
        loop {
            let arrived = sys::signals::take_arrived();
            if arrived != 0 {
                return Ok(arrived);
            }
            let mut fds = [PollFd::new(&self.signals, PollFlags::IN)];
            match rustix::event::poll(&mut fds, None) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(err) => return Err(err.into()),
            }
            if !fds[0].revents().is_empty() {
                self.drain();
            }
        }
    }

    /// Empties the pipe the signal handler writes to.
    fn drain(&self) {
        let mut sink = [0u8; 64];
        while matches!(rustix::io::read(&self.signals, &mut sink), Ok(n) if n > 0) {}
    }
}
