//! What is on screen: the rows (flat or by tree, filtered), the selection, the mode (a
//! prompt, a question, the help), the pane and the message line — and how an action
//! changes it. Commands that change the store are not run here: [`View::apply`] returns
//! them as an [`Effect`] for the main loop.

use std::collections::HashSet;

use ulid::Ulid;

use super::filter::Filter;
use super::follow::Follow;
use super::input::{Action, KeyMode};
use crate::cmd::status::cells::title;
use crate::cmd::status::rows::{self, Line};
use crate::fleet::Fleet;

/// What a prompt asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// The filter (and the one before, which Esc puts back).
    Filter(String),
    /// The tag whose sessions to kill.
    KillTag,
    /// The slot count of this queue.
    Slots(String),
}

/// The mode of the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Help,
    /// A prompt and what was typed so far.
    Prompt(Ask, String),
    /// A question; on `y`, the effect.
    Confirm(String, Effect),
}

/// A command for the main loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Quit,
    /// Stop this session (and the sessions under it) as `csa session kill` does; the
    /// words that name it.
    Kill(Ulid, String),
    /// Stop every running or queued session with this tag, as `csa session kill --tag`.
    KillTag(String),
    /// Set a queue's slot count, as `csa queue slots`.
    SetSlots(String, u32),
    /// The pane now follows this session (or nothing).
    Follow(Option<Ulid>),
}

/// What is on screen.
#[derive(Debug)]
pub struct View {
    /// Trees collapsed into one row each (else every session flat).
    pub tree: bool,
    /// The trees opened.
    pub open: HashSet<Ulid>,
    /// The filter as typed.
    pub filter_text: String,
    filter: Filter,
    /// The rows.
    pub lines: Vec<Line>,
    /// The selected row.
    pub cursor: usize,
    /// The first row shown.
    pub offset: usize,
    /// The rows the table shows at once (set by the drawing).
    pub height: usize,
    selected: Option<Ulid>,
    pub mode: Mode,
    /// The pane following a session's output.
    pub follow: Option<Follow>,
    /// The message line (until the next key).
    pub message: Option<String>,
}

impl View {
    /// The view of `fleet`, filtered by `filter`.
    pub fn new(fleet: &Fleet, filter: &str) -> Self {
        let mut view = Self {
            tree: true,
            open: HashSet::new(),
            filter_text: filter.to_owned(),
            filter: Filter::parse(filter),
            lines: Vec::new(),
            cursor: 0,
            offset: 0,
            height: 20,
            selected: None,
            mode: Mode::Normal,
            follow: None,
            message: None,
        };
        view.relayout(fleet);
        view
    }

    /// How keys are read now.
    pub fn key_mode(&self) -> KeyMode {
        match self.mode {
            Mode::Normal => KeyMode::Normal,
            Mode::Help => KeyMode::Help,
            Mode::Prompt(..) => KeyMode::Prompt,
            Mode::Confirm(..) => KeyMode::Confirm,
        }
    }

    /// The rows again, after the fleet or the filter changed; the same session stays
    /// selected when it still has a row.
    pub fn relayout(&mut self, fleet: &Fleet) {
        let sessions = fleet.sessions();
        self.lines = if self.filter.is_empty() && self.tree {
            rows::trees(fleet, &self.open, |_| true)
        } else {
            rows::flat(fleet, |at| {
                self.filter.matches(&sessions[at], &title(&sessions[at]))
            })
        };
        if let Some(id) = self.selected
            && let Some(at) = fleet.find(id)
            && let Some(row) = self.lines.iter().position(|line| line.at == at)
        {
            self.cursor = row;
        }
        self.cursor = self.cursor.min(self.lines.len().saturating_sub(1));
        self.scroll();
        self.selected = self
            .lines
            .get(self.cursor)
            .map(|line| sessions[line.at].id());
    }

    /// The selected session's position in the fleet, if a row is selected.
    pub fn selected_at(&self) -> Option<usize> {
        self.lines.get(self.cursor).map(|line| line.at)
    }

    /// Keeps the selected row on screen.
    pub fn scroll(&mut self) {
        let height = self.height.max(1);
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if self.cursor >= self.offset + height {
            self.offset = self.cursor + 1 - height;
        }
        self.offset = self.offset.min(self.lines.len().saturating_sub(height));
    }

    /// Applies `action`; returns what the main loop must do, if anything.
    pub fn apply(&mut self, action: Action, fleet: &Fleet) -> Option<Effect> {
        if !matches!(action, Action::Type(_) | Action::Erase) {
            self.message = None;
        }
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Normal => self.normal(action, fleet),
            Mode::Help => None,
            Mode::Prompt(ask, text) => self.prompt(ask, text, action, fleet),
            Mode::Confirm(_, effect) => (action == Action::Submit).then_some(effect),
        }
    }

    fn normal(&mut self, action: Action, fleet: &Fleet) -> Option<Effect> {
        let page = self.height.max(2) - 1;
        let last = self.lines.len().saturating_sub(1);
        match action {
            Action::Quit => return Some(Effect::Quit),
            Action::Up => self.cursor = self.cursor.saturating_sub(1),
            Action::Down => self.cursor = (self.cursor + 1).min(last),
            Action::PageUp => self.cursor = self.cursor.saturating_sub(page),
            Action::PageDown => self.cursor = (self.cursor + page).min(last),
            Action::First => self.cursor = 0,
            Action::Last => self.cursor = last,
            Action::Open | Action::Close => self.open_or_close(action == Action::Open, fleet),
            Action::ToggleTree => {
                self.tree = !self.tree;
                self.message = Some(if self.tree {
                    "trees: one row each (→ opens one)".to_owned()
                } else {
                    "every session flat".to_owned()
                });
                self.relayout(fleet);
            }
            Action::Follow => {
                let following = self.follow.as_ref().map(Follow::id);
                let selected = self.selected_at().map(|at| fleet.sessions()[at].id());
                let next = if following == selected {
                    None
                } else {
                    selected
                };
                return Some(Effect::Follow(next));
            }
            Action::SwitchStream => {
                if let Some(follow) = &mut self.follow {
                    follow.switch();
                }
            }
            Action::Back => {
                if self.follow.is_some() {
                    return Some(Effect::Follow(None));
                }
                self.set_filter("", fleet);
            }
            Action::AskFilter => {
                let before = self.filter_text.clone();
                self.mode = Mode::Prompt(Ask::Filter(before.clone()), before);
            }
            Action::AskKill => self.ask_kill(fleet),
            Action::AskKillTag => {
                let tag = self
                    .selected_at()
                    .and_then(|at| fleet.sessions()[at].tags().first());
                self.mode = Mode::Prompt(Ask::KillTag, tag.cloned().unwrap_or_default());
            }
            Action::AskSlots => self.ask_slots(fleet),
            Action::Help => self.mode = Mode::Help,
            Action::Type(_) | Action::Erase | Action::Submit | Action::Cancel => {}
        }
        self.scroll();
        self.selected = self.selected_at().map(|at| fleet.sessions()[at].id());
        None
    }

    fn prompt(
        &mut self,
        ask: Ask,
        mut text: String,
        action: Action,
        fleet: &Fleet,
    ) -> Option<Effect> {
        match action {
            Action::Type(c) => text.push(c),
            Action::Erase => {
                text.pop();
            }
            Action::Cancel => {
                if let Ask::Filter(before) = ask {
                    self.set_filter(&before, fleet);
                }
                return None;
            }
            Action::Submit => return self.submit(ask, text.trim(), fleet),
            _ => {}
        }
        if matches!(ask, Ask::Filter(_)) {
            // The rows follow the filter as it is typed.
            self.set_filter(&text, fleet);
        }
        self.mode = Mode::Prompt(ask, text);
        None
    }

    fn submit(&mut self, ask: Ask, text: &str, fleet: &Fleet) -> Option<Effect> {
        match ask {
            Ask::Filter(_) => self.set_filter(text, fleet),
            Ask::KillTag if text.is_empty() => {}
            Ask::KillTag => {
                let count = fleet
                    .sessions()
                    .iter()
                    .filter(|s| s.is_live() && !s.unrecorded && s.tags().iter().any(|t| t == text))
                    .count();
                if count == 0 {
                    self.message = Some(format!("no running or queued session has the tag {text}"));
                } else {
                    let noun = if count == 1 { "session" } else { "sessions" };
                    self.mode = Mode::Confirm(
                        format!(
                            "Kill the {count} running or queued {noun} tagged {text} (SIGTERM, SIGKILL after 5 s)? y/n"
                        ),
                        Effect::KillTag(text.to_owned()),
                    );
                }
            }
            Ask::Slots(queue) => match crate::queue::parse_slots(text) {
                Ok(slots) => return Some(Effect::SetSlots(queue, slots)),
                Err(why) => self.message = Some(format!("{why:#}")),
            },
        }
        None
    }

    fn set_filter(&mut self, text: &str, fleet: &Fleet) {
        text.clone_into(&mut self.filter_text);
        self.filter = Filter::parse(text);
        self.relayout(fleet);
    }

    fn ask_kill(&mut self, fleet: &Fleet) {
        let Some(at) = self.selected_at() else {
            return;
        };
        let session = &fleet.sessions()[at];
        if !session.is_live() || session.unrecorded {
            self.message = Some(format!("session {} has ended", session.handle));
            return;
        }
        let below = fleet
            .rollup(at)
            .map(|rollup| rollup.total - rollup.done)
            .filter(|&n| n > 0)
            .map_or_else(String::new, |n| {
                format!(" and the {n} live sessions under it")
            });
        self.mode = Mode::Confirm(
            format!(
                "Kill session {} ({}){below} (SIGTERM, SIGKILL after 5 s)? y/n",
                session.handle,
                crate::term::one_line(&title(session), Some(40))
            ),
            Effect::Kill(session.id(), format!("session {}", session.handle)),
        );
    }

    fn ask_slots(&mut self, fleet: &Fleet) {
        let queues = fleet.queues(std::time::SystemTime::now());
        // The selected session's queue; with no row selected, the first queue. A session in
        // no queue has no slots to set: say so rather than offer another queue's.
        let selected = self.selected_at().map(|at| &fleet.sessions()[at]);
        let queue = if let Some(session) = selected {
            let Some(name) = session.queue() else {
                self.message = Some(format!(
                    "session {} is in no queue: select a session of the queue whose slots to set",
                    session.handle
                ));
                return;
            };
            name.to_owned()
        } else if let Some(first) = queues.first() {
            first.name.clone()
        } else {
            self.message = Some("there is no queue".to_owned());
            return;
        };
        let now = queues
            .iter()
            .find(|q| q.name == queue)
            .map_or(String::new(), |q| q.slots.to_string());
        self.mode = Mode::Prompt(Ask::Slots(queue), now);
    }

    /// Opens the selected tree, or closes it (or, on a row inside an opened tree, the
    /// tree it is in, selecting its root).
    fn open_or_close(&mut self, open: bool, fleet: &Fleet) {
        let Some(line) = self.lines.get(self.cursor).copied() else {
            return;
        };
        let id = fleet.sessions()[line.at].id();
        if open {
            if line.rollup.is_some() {
                self.open.insert(id);
            }
        } else if line.open {
            self.open.remove(&id);
        } else if line.depth > 0
            && let Some(parent) = self.lines[..self.cursor]
                .iter()
                .rposition(|above| above.depth + 1 == line.depth)
        {
            self.cursor = parent;
            self.open
                .remove(&fleet.sessions()[self.lines[parent].at].id());
        }
        self.selected = self.selected_at().map(|at| fleet.sessions()[at].id());
        self.relayout(fleet);
    }
}
