//! `csa status`: the fleet at a glance, once — the counts by state, one line per queue,
//! then the running sessions (every session with `--all`); `--watch` redraws it every
//! second, `--json` prints the counts and the queues' figures.
//!
//! It reads the store as `csa top` does ([`crate::fleet`]) and only looks: nothing is
//! recorded, resumed or removed. Without a terminal there are no colours and no escape
//! sequences (and none with `NO_COLOR` set).

pub mod cells;
pub mod rows;
pub mod text;

use std::io::{self, IsTerminal as _, Write as _};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Result;
use serde::Serialize;

use crate::cmd::args::StatusArgs;
use crate::fleet::output::Spools;
use crate::fleet::{Changes, Counts, Fleet};
use crate::store::record::State;
use crate::store::session::StateRoot;

/// How often `--watch` redraws.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// Runs `csa status`. Exit 0; 125 when the store cannot be read. With `--watch`, runs
/// until interrupted or its reader goes away.
pub fn exec(args: &StatusArgs) -> Result<u8> {
    let root = StateRoot::from_env()?;
    let mut fleet = Fleet::open(root, super::queue::config()?)?;
    if args.json {
        return print(&json(&fleet)?, "the status");
    }
    let mut spools = Spools::default();
    let terminal = io::stdout().is_terminal();
    if !args.watch {
        let picture = picture(&fleet, &mut spools, args.all, terminal);
        return print(&picture, "the status");
    }
    let mut first = true;
    loop {
        let started = Instant::now();
        let mut picture = picture(&fleet, &mut spools, args.all, terminal);
        if terminal {
            // Home, each line cleared to its end, the rest of the screen cleared: no
            // flicker, no scrolling.
            let mut frame = String::from(if first { "\x1b[H\x1b[2J" } else { "\x1b[H" });
            for line in picture.lines() {
                frame.push_str(line);
                frame.push_str("\x1b[K\n");
            }
            frame.push_str("\x1b[J");
            picture = frame;
        } else {
            picture.push('\n');
        }
        first = false;
        let mut stdout = io::stdout().lock();
        let written = stdout
            .write_all(picture.as_bytes())
            .and_then(|()| stdout.flush());
        if written
            .as_ref()
            .is_err_and(|err| err.kind() == io::ErrorKind::BrokenPipe)
        {
            return Ok(0);
        }
        crate::exit::stdout_written(written, "the status")?;
        drop(stdout);
        std::thread::sleep(WATCH_EVERY.saturating_sub(started.elapsed()));
        fleet.refresh(&Changes {
            rescan: true,
            ..Changes::default()
        })?;
        let live = |id| {
            fleet
                .find(id)
                .is_some_and(|at| fleet.sessions()[at].is_live())
        };
        spools.retain(live);
    }
}

/// The picture of the fleet: every tree with something running (all of them with `all`),
/// as one row each, and a footer naming what is left out.
fn picture(fleet: &Fleet, spools: &mut Spools, all: bool, terminal: bool) -> String {
    let sessions = fleet.sessions();
    let running = |at: usize| {
        sessions[at].state == State::Running
            || fleet.rollup(at).is_some_and(|rollup| rollup.running > 0)
    };
    let lines = rows::trees(fleet, &std::collections::HashSet::new(), |at| {
        all || running(at)
    });
    let left_out = (0..sessions.len())
        .filter(|&at| fleet.is_root(at) && !all && !running(at))
        .count();
    let footer = if left_out == 0 {
        String::new()
    } else {
        let noun = if left_out == 1 { "session" } else { "sessions" };
        format!("{left_out} queued or ended {noun} not shown: `csa status --all` lists them")
    };
    let style = text::Style {
        colour: crate::term::stdout_colour(),
        width: crate::term::stdout_width(),
        height: terminal.then(terminal_height).flatten(),
    };
    text::picture(fleet, &lines, spools, SystemTime::now(), style, &footer)
}

/// The height of the terminal on standard output, in rows.
fn terminal_height() -> Option<usize> {
    let size = rustix::termios::tcgetwinsize(io::stdout()).ok()?;
    (size.ws_row > 0).then_some(usize::from(size.ws_row))
}

/// `csa status --json`.
#[derive(Debug, Serialize)]
struct Json {
    /// The counts by state.
    counts: Counts,
    /// Each queue's figures.
    queues: Vec<QueueJson>,
}

/// A queue in `csa status --json`.
#[derive(Debug, Serialize)]
struct QueueJson {
    #[serde(flatten)]
    figures: crate::fleet::QueueFigures,
    /// Jobs ended per minute over the last 10 minutes.
    per_minute: f64,
    /// Slots held per slot.
    utilisation: f64,
}

fn json(fleet: &Fleet) -> Result<String> {
    let queues = fleet
        .queues(SystemTime::now())
        .into_iter()
        .map(|figures| QueueJson {
            per_minute: figures.per_minute(),
            utilisation: figures.utilisation(),
            figures,
        })
        .collect();
    let json = Json {
        counts: fleet.counts(),
        queues,
    };
    let mut text = serde_json::to_string_pretty(&json)?;
    text.push('\n');
    Ok(text)
}

fn print(text: &str, what: &str) -> Result<u8> {
    let mut stdout = io::stdout().lock();
    crate::exit::stdout_written(
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush()),
        what,
    )?;
    Ok(0)
}
