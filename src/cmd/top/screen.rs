//! The terminal while `csa top` owns it: raw mode, the alternate screen, the cursor hidden,
//! and standard error captured — and restored on every way out.
//!
//! - a normal quit and an error: [`Screen`]'s `Drop`;
//! - a panic: a panic hook restores the terminal before the panic message is printed (the
//!   release build aborts on panic, so no `Drop` would run);
//! - SIGTERM, SIGHUP, SIGINT: the signal thread hands the signal to the main loop, which
//!   returns (and `Drop` restores); [`restore`] is also what the signal thread calls itself
//!   when the main loop does not return in time.
//!
//! While the screen is on, standard error is a pipe: the notes of the commands run from the
//! view (`csa session kill`'s lines) would otherwise be written over the picture. A thread
//! reads them and hands each line to the view; the original standard error comes back
//! with the terminal.

use std::io::{self, BufRead as _, Write as _};
use std::os::fd::OwnedFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use ratatui::crossterm::{cursor, execute, terminal};

/// True while the terminal is in the view's state.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// The original standard error while it is captured.
static SAVED_STDERR: Mutex<Option<OwnedFd>> = Mutex::new(None);

/// The terminal in the view's state; restored when dropped.
#[derive(Debug)]
pub struct Screen(());

impl Screen {
    /// Puts the terminal in the view's state and installs the panic hook; `note` receives
    /// each line written to standard error meanwhile (on a thread of its own). Errors when
    /// the terminal cannot be set up (it is restored first).
    pub fn enter(note: impl Fn(String) + Send + 'static) -> io::Result<Self> {
        install_panic_hook();
        ACTIVE.store(true, Ordering::SeqCst);
        let screen = Self(());
        terminal::enable_raw_mode()?;
        // Cleared here: ratatui's own clear asks the terminal where the cursor is, and the
        // answer would go to the thread that reads keys.
        execute!(
            io::stdout(),
            terminal::EnterAlternateScreen,
            terminal::Clear(terminal::ClearType::All),
            cursor::Hide
        )?;
        capture_stderr(note)?;
        Ok(screen)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

/// Gives the terminal back as it was: the original standard error, cooked mode, the main
/// screen, the cursor shown. Does nothing when it is not in the view's state; never
/// fails (what cannot be restored — a terminal that hung up — is left).
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let saved = SAVED_STDERR
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    if let Some(saved) = saved {
        let _ = rustix::stdio::dup2_stderr(&saved);
    }
    let _ = terminal::disable_raw_mode();
    let mut stdout = io::stdout();
    let _ = execute!(stdout, terminal::LeaveAlternateScreen, cursor::Show);
    let _ = stdout.flush();
}

/// Restores the terminal before the panic message is printed (and before the abort of
/// a release build).
fn install_panic_hook() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// Points standard error at a pipe whose lines go to `note`, keeping the original.
fn capture_stderr(note: impl Fn(String) + Send + 'static) -> io::Result<()> {
    let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let saved = rustix::io::fcntl_dupfd_cloexec(rustix::stdio::stderr(), 3)?;
    std::thread::Builder::new()
        .name("stderr".to_owned())
        .spawn(move || {
            let lines = io::BufReader::new(std::fs::File::from(read)).lines();
            for line in lines.map_while(Result::ok) {
                note(line);
            }
        })?;
    *SAVED_STDERR
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(saved);
    rustix::stdio::dup2_stderr(&write)?;
    Ok(())
}
