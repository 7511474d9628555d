//! A pseudo-terminal for the full-screen commands (`csa top`, `csa status --watch` on a
//! terminal): csa runs with the terminal as its standard input, output and error and as its
//! controlling terminal (`setsid --ctty`), and a thread feeds everything it writes into a
//! terminal emulator (`vt100`), so tests read the screen a user would see.

use std::fs::File;
use std::io::Write as _;
use std::os::fd::{AsFd as _, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::pty::OpenptFlags;

use super::HANG;

/// A terminal of `rows` × `cols` with a csa command running in it.
pub struct Pty {
    master: OwnedFd,
    screen: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    /// The reader saw the end: every process holding the terminal is gone.
    closed: Arc<AtomicBool>,
    child: Child,
}

impl Pty {
    /// Starts `command` (its program and arguments; environment and working directory
    /// included) in a new terminal of `rows` × `cols`.
    pub fn spawn(command: &Command, rows: u16, cols: u16) -> Self {
        let master = rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
        rustix::pty::grantpt(&master).unwrap();
        rustix::pty::unlockpt(&master).unwrap();
        let name = rustix::pty::ptsname(&master, Vec::new()).unwrap();
        let size = rustix::termios::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(&master, size).unwrap();
        let slave = File::options()
            .read(true)
            .write(true)
            .open(name.to_str().unwrap())
            .unwrap();
        // `setsid --ctty`: a session of its own whose controlling terminal is this one, as
        // in a terminal emulator; it does not fork, so the child's PID is csa's.
        let mut wrapped = Command::new("setsid");
        wrapped.arg("--ctty").arg(command.get_program());
        wrapped.args(command.get_args());
        if let Some(dir) = command.get_current_dir() {
            wrapped.current_dir(dir);
        }
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => wrapped.env(key, value),
                None => wrapped.env_remove(key),
            };
        }
        let child = wrapped
            .env("TERM", "xterm-256color")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .spawn()
            .expect("spawn setsid --ctty (util-linux)");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(rows).unwrap(),
            std::num::NonZeroU16::new(cols).unwrap(),
            0,
        )));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let reader = File::from(master.try_clone().unwrap());
        let (to_screen, to_raw) = (Arc::clone(&screen), Arc::clone(&raw));
        let closed = Arc::new(AtomicBool::new(false));
        let at_end = Arc::clone(&closed);
        super::read_on_a_thread(
            reader,
            move |bytes| {
                to_screen.lock().unwrap().process(bytes);
                to_raw.lock().unwrap().extend_from_slice(bytes);
            },
            move || at_end.store(true, Ordering::SeqCst),
        );
        Self {
            master,
            screen,
            raw,
            closed,
            child,
        }
    }

    /// The PID of the command.
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }

    /// The screen's text now, one line per row (trailing spaces removed).
    pub fn screen(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    /// Everything the command wrote to the terminal so far.
    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    /// True while the emulated terminal shows the alternate screen.
    pub fn alternate_screen(&self) -> bool {
        self.screen.lock().unwrap().screen().alternate_screen()
    }

    /// Types `keys` (bytes as a terminal sends them: `"q"`, `"\r"` for Enter, `"\x1b[B"`
    /// for Down).
    pub fn send(&self, keys: &str) {
        let mut master = File::from(self.master.try_clone().unwrap());
        master.write_all(keys.as_bytes()).unwrap();
    }

    /// Waits until `condition` holds for the screen's text; fails the test with the
    /// screen after `limit`.
    #[track_caller]
    pub fn wait_for_screen(&self, limit: Duration, what: &str, condition: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + limit;
        let mut pause = Duration::from_millis(5);
        loop {
            let screen = self.screen();
            if condition(&screen) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {limit:?} waiting for the screen to show {what}; it shows:\n{screen}"
            );
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Waits for the screen to contain `text`.
    #[track_caller]
    pub fn wait_for_text(&self, text: &str) {
        self.wait_for_screen(HANG, text, |screen| screen.contains(text));
    }

    /// Waits for the screen to show `text` in a whole frame and returns that screen. A
    /// full-screen program draws a frame from the top row down and the terminal may get it
    /// in several writes, so a line near the top can show while the rows below it are not
    /// drawn yet; the bottom row drawn (not blank) marks the frame's end.
    #[track_caller]
    pub fn wait_for_frame(&self, text: &str) -> String {
        let whole = |screen: &vt100::Screen| {
            let (_, cols) = screen.size();
            screen
                .rows(0, u16::from(cols))
                .last()
                .is_some_and(|row| !row.trim().is_empty())
        };
        let found = std::cell::RefCell::new(String::new());
        self.wait_for_screen(HANG, &format!("{text} in a whole frame"), |_| {
            let parser = self.screen.lock().unwrap();
            let screen = parser.screen();
            let contents = screen.contents();
            let done = contents.contains(text) && whole(screen);
            *found.borrow_mut() = contents;
            done
        });
        found.into_inner()
    }

    /// Waits for the command to exit (at most [`HANG`]) and for everything it wrote to
    /// reach the screen; returns its exit code.
    #[track_caller]
    pub fn wait_exit(&mut self) -> i32 {
        let status = self.wait_status();
        status
            .code()
            .unwrap_or_else(|| panic!("killed: {status:?}"))
    }

    /// Waits for the command to end (at most [`HANG`]) and for everything it wrote to
    /// reach the screen; returns how it ended (an exit code or a signal).
    #[track_caller]
    pub fn wait_status(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + HANG;
        let status = super::exited_within(&mut self.child, HANG)
            .unwrap_or_else(|| panic!("still running:\n{}", self.screen()));
        while !self.closed.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "the terminal is still held open");
            std::thread::sleep(Duration::from_millis(5));
        }
        status
    }

    /// True when the terminal is back in the mode a shell expects: canonical input with
    /// echo (`csa top` puts it in raw mode).
    pub fn is_cooked(&self) -> bool {
        use rustix::termios::LocalModes;
        let termios = rustix::termios::tcgetattr(self.master.as_fd()).unwrap();
        termios
            .local_modes
            .contains(LocalModes::ICANON | LocalModes::ECHO)
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
