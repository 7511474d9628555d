//! `csa top`: the fleet live, full screen — counts, queues, sessions (running first, trees
//! as one row each), a pane following a session's output, and keys to filter, kill and set
//! slots.
//!
//! No server: it reads the store as every command does, through [`crate::fleet`], which
//! only looks. What changes the store goes through the same code as the commands:
//! [`crate::cmd::kill::stop`] (`csa session kill`, `--tag`) and
//! [`crate::queue::Queue::store_slots`] (`csa queue slots`).
//!
//! Apart, as in ratatui applications: [`state`] (what is on screen, and how an action
//! changes it), [`input`] (keys to actions), [`draw`] (the picture). This module is the
//! loop that ties them: it blocks on one channel of [`events`] — keys, inotify changes,
//! signals, notes — until the next clock tick (1 s, only while something runs or waits;
//! times move), with a full re-scan every 15 s as a safety net (2 s without inotify).

mod draw;
mod events;
mod filter;
mod follow;
mod input;
mod screen;
mod state;

use std::io::{self, BufWriter, IsTerminal as _};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::Event as TermEvent;

use self::events::Event;
use self::follow::Follow;
use self::state::{Effect, View};
use crate::cmd::args::TopArgs;
use crate::exit::{self, CSA_ERROR, Failure};
use crate::fleet::output::Spools;
use crate::fleet::watch::{Change, Watcher};
use crate::fleet::{Changes, Fleet};
use crate::stop::sequence::StopSequence;
use crate::store::session::StateRoot;

/// How often the times on screen move (while something runs or waits).
const TICK: Duration = Duration::from_secs(1);
/// How often the whole store is read again, as a safety net, with inotify.
const RESCAN: Duration = Duration::from_secs(15);
/// The same without inotify.
const RESCAN_WITHOUT_INOTIFY: Duration = Duration::from_secs(2);
/// The least time between two frames (a job writing fast to the followed output).
const FRAME: Duration = Duration::from_millis(30);
/// Test hook: `CSA_TEST_TOP_PANIC=1` makes `csa top` panic after its first frame, so the
/// suite can check the terminal is restored on a panic. Not part of the user-facing
/// interface.
const PANIC_VARIABLE: &str = "CSA_TEST_TOP_PANIC";
/// How sessions are killed from the view: as `csa session kill` without options.
const KILL: StopSequence = StopSequence {
    signal: rustix::process::Signal::TERM,
    grace: Duration::from_secs(5),
};

/// Runs `csa top` until `q`, Ctrl-C or a signal. Exit 0; 128 + N for signal N; 125 when
/// the store cannot be read or there is no terminal.
pub fn exec(args: &TopArgs) -> Result<u8> {
    if !io::stdin().is_terminal() || !io::stdout().is_terminal() {
        return Err(Failure::new(
            CSA_ERROR,
            "csa top needs a terminal on standard input and output; `csa status` prints the same picture once (or every second with --watch)",
        )
        .into());
    }
    let root = StateRoot::from_env()?;
    let fleet = Fleet::open(root.clone(), super::queue::config()?)?;
    let (tx, rx) = mpsc::channel();
    let to_loop = tx.clone();
    let watcher = Watcher::start(&root, move |change| {
        to_loop.send(Event::Store(change)).is_ok()
    });
    let view = View::new(&fleet, args.filter.as_deref().unwrap_or(""));
    let to_loop = tx.clone();
    let screen = screen::Screen::enter(move |line| {
        let _ = to_loop.send(Event::Note(line));
    })
    .context("cannot set up the terminal")?;
    events::read_terminal(tx.clone()).context("cannot read the terminal")?;
    events::catch_signals(tx.clone()).context("cannot catch signals")?;
    let backend = CrosstermBackend::new(BufWriter::with_capacity(1 << 16, io::stdout()));
    let mut terminal = Terminal::new(backend).context("cannot set up the terminal")?;
    let mut top = Top {
        fleet,
        view,
        watcher,
        spools: Spools::default(),
        root,
        tx,
        colour: crate::term::stdout_colour(),
    };
    let code = top.run(&mut terminal, &rx);
    drop(terminal);
    drop(screen);
    code
}

/// The running view.
struct Top {
    fleet: Fleet,
    view: View,
    watcher: Option<Watcher>,
    spools: Spools,
    root: StateRoot,
    tx: Sender<Event>,
    colour: bool,
}

type Screen = Terminal<CrosstermBackend<BufWriter<io::Stdout>>>;

/// What the events of one wake-up call for.
#[derive(Debug, Default)]
struct Woke {
    /// What to read again.
    changes: Changes,
    /// Read the followed output again.
    output: bool,
    /// Draw again.
    dirty: bool,
}

impl Top {
    /// The loop: draw when something changed, block until an event or the next tick.
    fn run(&mut self, terminal: &mut Screen, rx: &mpsc::Receiver<Event>) -> Result<u8> {
        self.follow_live()?;
        // Often while the store is not watched (no inotify, or no store yet).
        let rescan = |watcher: &Option<Watcher>| {
            if watcher.as_ref().is_some_and(|w| w.store) {
                RESCAN
            } else {
                RESCAN_WITHOUT_INOTIFY
            }
        };
        let mut next_tick = Instant::now() + TICK;
        let mut next_scan = Instant::now() + rescan(&self.watcher);
        let mut dirty = true;
        let mut drawn = Instant::now()
            .checked_sub(FRAME)
            .unwrap_or_else(Instant::now);
        loop {
            if dirty && drawn.elapsed() >= FRAME {
                let now = (SystemTime::now(), self.colour);
                let (fleet, view, spools) = (&self.fleet, &mut self.view, &mut self.spools);
                terminal
                    .draw(|frame| draw::draw(frame, fleet, view, spools, now))
                    .context("cannot draw")?;
                dirty = false;
                drawn = Instant::now();
                assert!(
                    std::env::var_os(PANIC_VARIABLE).is_none(),
                    "{PANIC_VARIABLE} is set: a panic to show the terminal is restored"
                );
            }
            let until = if dirty {
                drawn + FRAME
            } else {
                next_tick.min(next_scan)
            };
            let first = match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(event) => Some(event),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return Ok(exit::SUCCESS),
            };
            let mut woke = Woke::default();
            for event in first.into_iter().chain(rx.try_iter()) {
                if let Some(code) = self.handle(event, terminal, &mut woke)? {
                    return Ok(code);
                }
            }
            let Woke {
                mut changes,
                mut output,
                dirty: touched,
            } = woke;
            dirty |= touched;
            let now = Instant::now();
            if now >= next_scan {
                changes.rescan = true;
                if let Some(watcher) = &mut self.watcher {
                    watcher.store = watcher.watch_store();
                }
                next_scan = now + rescan(&self.watcher);
            }
            if now >= next_tick {
                next_tick = now + TICK;
                // Times move only for what runs or waits.
                let counts = self.fleet.counts();
                dirty |= counts.running + counts.queued > 0;
                // Also where inotify does not tell (another machine's writes).
                output |= self.view.follow.is_some();
            }
            if !changes.is_empty() {
                self.fleet.refresh(&changes)?;
                self.follow_live()?;
                self.view.relayout(&self.fleet);
                let fleet = &self.fleet;
                self.spools.retain(|id| {
                    fleet
                        .find(id)
                        .is_some_and(|at| fleet.sessions()[at].is_live())
                });
                dirty = true;
            }
            if output && let Some(follow) = &mut self.view.follow {
                dirty |= follow.reload();
            }
        }
    }

    /// Takes in one event; returns the exit code when it ends the view.
    fn handle(
        &mut self,
        event: Event,
        terminal: &mut Screen,
        woke: &mut Woke,
    ) -> Result<Option<u8>> {
        match event {
            Event::Terminal(TermEvent::Key(key)) => {
                if let Some(action) = input::action(self.view.key_mode(), key)
                    && let Some(effect) = self.view.apply(action, &self.fleet)
                    && self.perform(effect)
                {
                    return Ok(Some(exit::SUCCESS));
                }
                woke.dirty = true;
            }
            Event::Terminal(TermEvent::Resize(..)) => {
                terminal.autoresize().context("cannot draw")?;
                woke.dirty = true;
            }
            Event::Terminal(_) => {}
            Event::TerminalGone => return Ok(Some(exit::from_signal(libc::SIGHUP))),
            Event::Signal(signal) => return Ok(Some(exit::from_signal(signal))),
            Event::Store(Change::Session(id)) => {
                woke.output |= self.view.follow.as_ref().is_some_and(|f| f.id() == id);
                woke.changes.sessions.insert(id);
            }
            Event::Store(Change::Queues) => woke.changes.queues = true,
            Event::Store(Change::Rescan) => woke.changes.rescan = true,
            Event::Store(Change::Output(_)) => woke.output = true,
            Event::Note(line) | Event::Done(line) => {
                self.view.message = Some(line);
                woke.dirty = true;
            }
        }
        Ok(None)
    }

    /// Watches the live sessions not watched yet, and reads those once more (they may
    /// have changed before their watch).
    fn follow_live(&mut self) -> Result<()> {
        let Some(watcher) = &mut self.watcher else {
            return Ok(());
        };
        let fresh = watcher.follow(&self.fleet);
        if !fresh.is_empty() {
            self.fleet.refresh(&Changes {
                sessions: fresh.into_iter().collect(),
                ..Changes::default()
            })?;
        }
        Ok(())
    }

    /// Carries out `effect`. Returns true to quit.
    fn perform(&mut self, effect: Effect) -> bool {
        match effect {
            Effect::Quit => return true,
            Effect::Kill(id, what) => {
                self.view.message = Some(format!("stopping {what}…"));
                let sessions = vec![self.root.session(id)];
                self.in_background(move || {
                    crate::cmd::kill::stop(&sessions, KILL).map(|()| format!("{what} stopped"))
                });
            }
            Effect::KillTag(tag) => {
                self.view.message = Some(format!("stopping the sessions tagged {tag}…"));
                let root = self.root.clone();
                self.in_background(move || {
                    let tags = [tag.clone()];
                    let sessions = crate::cmd::kill::tagged_live_sessions(&root, &tags)?;
                    let count = sessions.len();
                    crate::cmd::kill::stop(&sessions, KILL)?;
                    Ok(format!(
                        "{} tagged {tag} stopped",
                        crate::term::count(count as u64, "session", "sessions")
                    ))
                });
            }
            Effect::SetSlots(name, slots) => {
                // The name may come from a session's file: a queue name, or nothing.
                let stored = crate::values::parse_label(&name).and_then(|name| {
                    crate::queue::Queue::new(&self.root, &name).store_slots(slots)
                });
                self.view.message = Some(match stored {
                    Ok(()) => format!(
                        "queue {name} now has {}",
                        crate::term::count(u64::from(slots), "slot", "slots")
                    ),
                    Err(err) => format!("csa: {err:#}"),
                });
            }
            Effect::Follow(id) => {
                let dir = id.map(|id| self.root.session(id));
                self.view.follow = dir.map(Follow::new);
                if let Some(watcher) = &mut self.watcher
                    && !watcher.follow_output(id, &self.fleet)
                {
                    self.view.message =
                        Some("cannot watch its output; it is read again every second".to_owned());
                }
            }
        }
        false
    }

    /// Runs `work` on a thread of its own; what it returns becomes the message line.
    fn in_background(&self, work: impl FnOnce() -> Result<String> + Send + 'static) {
        let tx = self.tx.clone();
        let started = std::thread::Builder::new()
            .name("command".to_owned())
            .spawn(move || {
                let message = work().unwrap_or_else(|err| format!("csa: {err:#}"));
                let _ = tx.send(Event::Done(message));
            });
        if let Err(err) = started {
            let _ = self
                .tx
                .send(Event::Done(format!("csa: cannot start: {err}")));
        }
    }
}
