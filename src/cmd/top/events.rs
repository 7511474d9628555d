//! What wakes the view: keys and resizes (a thread blocked reading the terminal), changes
//! in the store (the inotify thread of [`crate::fleet::watch`]), output of the followed
//! session, signals, lines written to standard error, and the end of a command run from
//! the view. One channel; the main loop blocks on it until the next clock tick.

use std::sync::mpsc::Sender;
use std::thread;
use std::time::Duration;

use ratatui::crossterm::event;

use crate::fleet::watch::Change;

/// One wake-up of the main loop.
#[derive(Debug)]
pub enum Event {
    /// A key, a resize, or anything else the terminal reported.
    Terminal(event::Event),
    /// Reading the terminal failed (it hung up): quit.
    TerminalGone,
    /// The store changed.
    Store(Change),
    /// A termination signal arrived (its number).
    Signal(i32),
    /// A line written to standard error (a note of a command run from the view).
    Note(String),
    /// A command run from the view ended: what to say about it.
    Done(String),
}

/// The signals that end the view (after restoring the terminal): 128 + N is the exit code.
pub const ENDING_SIGNALS: [i32; 3] = [libc::SIGHUP, libc::SIGINT, libc::SIGTERM];

/// How long the main loop has to return after a signal before the signal thread restores
/// the terminal and exits itself.
const SIGNAL_GRACE: Duration = Duration::from_secs(2);

/// Starts the thread that reads the terminal.
pub fn read_terminal(tx: Sender<Event>) -> std::io::Result<()> {
    thread::Builder::new()
        .name("terminal".to_owned())
        .spawn(move || {
            loop {
                let Ok(event) = event::read() else {
                    let _ = tx.send(Event::TerminalGone);
                    return;
                };
                if tx.send(Event::Terminal(event)).is_err() {
                    return;
                }
            }
        })
        .map(drop)
}

/// Catches [`ENDING_SIGNALS`] (csa's own handler, [`crate::sys::signals`], which writes a
/// byte to a pipe) and hands the first to the main loop; if the loop has not ended the
/// process [`SIGNAL_GRACE`] later (stuck writing to a terminal that hung up), restores the
/// terminal and exits with 128 + N.
pub fn catch_signals(tx: Sender<Event>) -> std::io::Result<()> {
    crate::interrupt::on_first_signal(&ENDING_SIGNALS, move |signal| {
        let _ = tx.send(Event::Signal(signal));
        thread::sleep(SIGNAL_GRACE);
        super::screen::restore();
        std::process::exit(crate::exit::from_signal(signal).into());
    })
}
