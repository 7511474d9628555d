//! Acting on the first ending signal from a thread of its own, for commands that block
//! elsewhere and must tidy up the terminal before they end (`csa top` restores it, a `wait`
//! for many clears its progress line).

use std::io;
use std::os::fd::IntoRawFd as _;
use std::sync::atomic::Ordering;
use std::thread;

use rustix::pipe::PipeFlags;

use crate::sys;

/// Catches `signals` with csa's own handler ([`sys::signals::catch`], which writes a byte
/// to a pipe) and calls `then` with the first that arrives, on a thread of its own: the
/// caller goes on meanwhile. `then` usually ends the process. Interrupted system calls of
/// the other threads go on (`SA_RESTART`).
///
/// Errors: the pipe cannot be made, or the handler cannot be installed.
pub fn on_first_signal(signals: &[i32], then: impl FnOnce(i32) + Send + 'static) -> io::Result<()> {
    let (read, write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC)?;
    // The handler must never block on a full pipe; the thread blocks reading it.
    rustix::fs::fcntl_setfl(&write, rustix::fs::OFlags::NONBLOCK)?;
    sys::signals::wake_through(write.into_raw_fd());
    sys::signals::catch(signals)?;
    thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            let caught = sys::signals::caught();
            let mut byte = [0u8; 1];
            loop {
                let signal = caught.load(Ordering::SeqCst);
                if let Ok(signal) = i32::try_from(signal)
                    && signal != 0
                {
                    then(signal);
                    return;
                }
                match rustix::io::read(&read, &mut byte) {
                    Ok(0) => return,
                    Ok(_) | Err(rustix::io::Errno::INTR) => {}
                    Err(_) => return,
                }
            }
        })
        .map(drop)
}
