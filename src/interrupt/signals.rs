//! The signals a supervisor survives, and how it learns that one arrived.
//!
//! The supervisor shares its process group with the job, so `session kill` and a terminal's
//! Ctrl-C reach it too. It survives them long enough to reap the job and record its true
//! result (contract, docs/format.md), and — while the job has not started — it treats
//! them as a request to stop without starting the job.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The signals the supervisor survives: SIGTERM, SIGINT and SIGHUP (the contract's), and
/// SIGQUIT, SIGUSR1, SIGUSR2 and SIGALRM, which `session kill --signal` may send to the
/// group. `csa run` starts the supervisor with them blocked, and it unblocks them once its
/// handlers are in place, so none can end it in between. Every one of them terminates a
/// process by default, which is what the job gets (handlers are reset by `exec`).
pub const SURVIVED_SIGNALS: [i32; 7] = {
    use signal_hook::consts::{SIGALRM, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
    [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM]
};

/// The last survived signal received, as the signal handler records it
/// ([`crate::sys::signals`]).
#[derive(Debug, Clone)]
pub struct Received(&'static AtomicUsize);

impl Received {
    /// The number of the last signal received, if any.
    pub fn signal(&self) -> Option<i32> {
        i32::try_from(self.0.load(Ordering::SeqCst))
            .ok()
            .filter(|&n| n > 0)
    }

    /// The flag itself, for code that must read it between `fork` and `exec`
    /// ([`crate::sys::exec_unless_signalled`]).
    pub fn flag(&self) -> &'static AtomicUsize {
        self.0
    }
}

/// Installs the handler for [`SURVIVED_SIGNALS`] that records the last one received. The
/// handlers are reset to the default in the job by `exec`.
pub fn survive() -> Received {
    let _ = crate::sys::signals::catch(&SURVIVED_SIGNALS);
    Received(crate::sys::signals::caught())
}
