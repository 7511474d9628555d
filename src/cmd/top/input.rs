//! Keys to actions: what each key means in each mode of the view. Pure: no state is read
//! but the mode, nothing is changed.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Up,
    Down,
    PageUp,
    PageDown,
    First,
    Last,
    /// Open the selected tree (its children get rows).
    Open,
    /// Close the selected tree (or the tree the selected row is in).
    Close,
    /// Trees collapsed into one row each, or every session flat.
    ToggleTree,
    /// Follow the selected session's output in a pane (or close the pane).
    Follow,
    /// Show the other stream (stdout, stderr) in the pane.
    SwitchStream,
    /// Ask for a filter.
    AskFilter,
    /// Ask to kill the selected session.
    AskKill,
    /// Ask for a tag whose sessions to kill.
    AskKillTag,
    /// Ask for the slot count of the selected session's queue.
    AskSlots,
    Help,
    /// Esc in the normal mode: close the pane, else clear the filter.
    Back,
    /// A character typed into a prompt.
    Type(char),
    /// Backspace in a prompt.
    Erase,
    /// Enter in a prompt; `y` when asked to confirm.
    Submit,
    /// Esc in a prompt; `n` (or Esc) when asked to confirm; any key on the help.
    Cancel,
}

/// What the view is doing, as far as keys are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMode {
    /// Browsing the sessions.
    Normal,
    /// Typing into a prompt (filter, tag, slot count).
    Prompt,
    /// Asked to confirm (y/n).
    Confirm,
    /// The help is shown.
    Help,
}

/// The action `key` stands for in `mode`, if any. Key releases and repeats of a release
/// are ignored (terminals that report them).
pub fn action(mode: KeyMode, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && key.code == KeyCode::Char('c') {
        // Ctrl-C leaves a prompt, a question or the help first, as Esc does.
        return Some(if mode == KeyMode::Normal {
            Action::Quit
        } else {
            Action::Cancel
        });
    }
    match mode {
        KeyMode::Normal => normal(key.code, ctrl),
        KeyMode::Prompt => match key.code {
            KeyCode::Enter => Some(Action::Submit),
            KeyCode::Esc => Some(Action::Cancel),
            KeyCode::Backspace => Some(Action::Erase),
            KeyCode::Char(c) if !ctrl => Some(Action::Type(c)),
            _ => None,
        },
        KeyMode::Confirm => match key.code {
            KeyCode::Char('y' | 'Y') => Some(Action::Submit),
            KeyCode::Char('n' | 'N') | KeyCode::Esc => Some(Action::Cancel),
            _ => None,
        },
        KeyMode::Help => Some(Action::Cancel),
    }
}

fn normal(code: KeyCode, ctrl: bool) -> Option<Action> {
    Some(match code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Up => Action::Up,
        KeyCode::Down => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Home => Action::First,
        KeyCode::End => Action::Last,
        KeyCode::Char('b') if ctrl => Action::PageUp,
        KeyCode::Char('f') if ctrl => Action::PageDown,
        KeyCode::Right | KeyCode::Char('+') => Action::Open,
        KeyCode::Left | KeyCode::Char('-') => Action::Close,
        KeyCode::Char('t') => Action::ToggleTree,
        KeyCode::Enter => Action::Follow,
        KeyCode::Tab => Action::SwitchStream,
        KeyCode::Char('/') => Action::AskFilter,
        KeyCode::Char('k') => Action::AskKill,
        KeyCode::Char('K') => Action::AskKillTag,
        KeyCode::Char('s') => Action::AskSlots,
        KeyCode::Char('?') => Action::Help,
        KeyCode::Esc => Action::Back,
        _ => return None,
    })
}

/// The keys, as the help lists them: (keys, what they do).
pub const HELP: [(&str, &str); 14] = [
    ("↑ ↓ PgUp PgDn Home End", "move"),
    (
        "Enter",
        "follow the session's output in a pane (again: close it)",
    ),
    ("Tab", "in the pane: stdout or stderr"),
    (
        "/",
        "filter: words, tag:T, queue:Q, status:S (all must match)",
    ),
    ("Esc", "close the pane, else clear the filter"),
    ("k", "kill the selected session (asks first)"),
    (
        "K",
        "kill every running or queued session with a tag (asks)",
    ),
    ("s", "set the slot count of the session's queue"),
    ("t", "trees: one row each, or every session flat"),
    ("→ +", "open the selected tree"),
    ("← -", "close the tree"),
    ("?", "this help"),
    ("q Ctrl-C", "quit"),
    ("", "HANDLE is what to type for `csa session …`"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn the_same_key_means_different_things_in_each_mode() {
        let k = key(KeyCode::Char('k'));
        assert_eq!(action(KeyMode::Normal, k), Some(Action::AskKill));
        assert_eq!(action(KeyMode::Prompt, k), Some(Action::Type('k')));
        assert_eq!(action(KeyMode::Confirm, k), None);
        assert_eq!(action(KeyMode::Help, k), Some(Action::Cancel));
        let y = key(KeyCode::Char('y'));
        assert_eq!(action(KeyMode::Confirm, y), Some(Action::Submit));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(KeyMode::Normal, ctrl_c), Some(Action::Quit));
        assert_eq!(action(KeyMode::Prompt, ctrl_c), Some(Action::Cancel));
    }
}
