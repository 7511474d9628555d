//! The progress line of a `wait` for several sessions, for a person at a terminal: how many
//! of the sessions have ended and how many of those failed, with the time waited, redrawn in
//! place on stderr (`indicatif`).
//!
//! Drawn only when stderr is a terminal and may carry escape sequences
//! ([`term::escapes_allowed`]: not with `--color=never` or `NO_COLOR`): on a pipe or a file,
//! what `wait` writes stays exactly the same, byte for byte. The line is cleared while a
//! session's output and its `CSA:` line are printed ([`Progress::report`]), so it never
//! garbles them, and for good at the end — also when Ctrl-C, a hang-up or SIGTERM ends the
//! wait (csa then dies of that signal, as it would without the line).

use std::fmt;
use std::io::{self, IsTerminal as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use console::Term;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle, TermLike};

use crate::term::{self, Stream};

/// How often the line is redrawn while nothing ends (its clock and spinner move).
const TICK: Duration = Duration::from_millis(250);

/// What the line shows: `⠙ 3/10 sessions ended, 1 failed [12s] ███▌      `. The counts are
/// csa's own keys, so that the redraw right after a session's output already counts it.
const TEMPLATE: &str =
    "{spinner} {ended}/{len} sessions ended, {failed} failed [{elapsed}] {wide_bar}";

/// The signals that end a `wait` at a terminal; the line is cleared before it ends.
const ENDING_SIGNALS: [i32; 3] = [libc::SIGHUP, libc::SIGINT, libc::SIGTERM];

/// Columns the line leaves free at the right: the `^C` a terminal echoes at Ctrl-C then
/// stays on the line's row, so clearing the row clears it too (a line to the last column
/// would push the echo onto a row of its own, and leave the line on the screen).
const MARGIN: u16 = 3;

/// Standard error as indicatif draws on it, [`MARGIN`] columns narrower.
#[derive(Debug)]
struct Margin(Term);

impl TermLike for Margin {
    fn width(&self) -> u16 {
        TermLike::width(&self.0).saturating_sub(MARGIN).max(1)
    }
    fn height(&self) -> u16 {
        TermLike::height(&self.0)
    }
    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_up(n)
    }
    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_down(n)
    }
    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_right(n)
    }
    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_left(n)
    }
    fn write_line(&self, s: &str) -> io::Result<()> {
        self.0.write_line(s)
    }
    fn write_str(&self, s: &str) -> io::Result<()> {
        self.0.write_str(s)
    }
    fn clear_line(&self) -> io::Result<()> {
        self.0.clear_line()
    }
    fn flush(&self) -> io::Result<()> {
        self.0.flush()
    }
}

/// How long an ending signal waits for the line to be cleared: the main thread may hold
/// the line while it is blocked writing a session's output to a reader that stopped
/// reading (`csa wait A B | less`), and Ctrl-C must end csa all the same.
const CLEAR_LIMIT: Duration = Duration::from_millis(200);

/// Clears `line` for good, giving up after `limit`.
fn clear_within(line: ProgressBar, limit: Duration) {
    let (done, cleared) = std::sync::mpsc::channel();
    let clearing = std::thread::Builder::new().spawn(move || {
        line.finish_and_clear();
        let _ = done.send(());
    });
    if clearing.is_ok() {
        let _ = cleared.recv_timeout(limit);
    }
}

/// The progress line; does nothing when it is not shown.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    /// How many of the sessions have ended (the line's `{ended}`).
    ended: Arc<AtomicU64>,
    /// How many of the sessions that ended did not succeed (the line's `{failed}`).
    failed: Arc<AtomicU64>,
}

impl Progress {
    /// A line for a wait for `total` sessions: shown for a multi wait (`multi`) when stderr
    /// is a terminal that may get escape sequences, else hidden.
    pub fn new(total: usize, multi: bool) -> Self {
        let ended = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let shown =
            multi && std::io::stderr().is_terminal() && term::escapes_allowed(Stream::Stderr);
        let bar = shown.then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(u64::try_from(total).unwrap_or(u64::MAX)),
                ProgressDrawTarget::term_like_with_hz(Box::new(Margin(Term::stderr())), 20),
            );
            let key = |count: &Arc<AtomicU64>| {
                let count = Arc::clone(count);
                move |_: &ProgressState, out: &mut dyn fmt::Write| {
                    let _ = write!(out, "{}", count.load(Ordering::Relaxed));
                }
            };
            if let Ok(style) = ProgressStyle::with_template(TEMPLATE) {
                bar.set_style(
                    style
                        .with_key("ended", key(&ended))
                        .with_key("failed", key(&failed))
                        .progress_chars("█▉▊▋▌▍▎▏ "),
                );
            }
            // Ctrl-C, a closed terminal or a kill: the line goes first, then csa ends as the
            // signal would have ended it. Set up before the line is first drawn.
            let line = bar.clone();
            let _ = crate::interrupt::on_first_signal(&ENDING_SIGNALS, move |signal| {
                clear_within(line, CLEAR_LIMIT);
                crate::sys::die_of(signal);
            });
            bar.enable_steady_tick(TICK);
            bar
        });
        Self { bar, ended, failed }
    }

    /// Runs `print` (which writes a session's output and its `CSA:` line, and returns
    /// whether the session failed) with the line cleared, counts the session, and draws the
    /// line again with the new counts. What `print` returns is passed on; an error counts
    /// the session as ended and failed.
    pub fn report<E>(&self, print: impl FnOnce() -> Result<bool, E>) -> Result<bool, E> {
        let Some(bar) = &self.bar else {
            return print();
        };
        let outcome = bar.suspend(|| {
            let outcome = print();
            // Counted before the redraw that ends the suspension, so that it shows them.
            self.ended.fetch_add(1, Ordering::Relaxed);
            if !matches!(outcome, Ok(false)) {
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
            outcome
        });
        // The bar's own length follows.
        bar.inc(1);
        outcome
    }

    /// Clears the line for good (also when dropped).
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
