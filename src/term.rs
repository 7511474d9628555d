//! Terminal output: whether to colour, how wide the terminal is, the human formats of ages,
//! durations and sizes used by `list`, `clean` and `tools`, and quoting words for a POSIX
//! shell.

pub mod strip;

use std::borrow::Cow;
use std::io::IsTerminal as _;
use std::time::Duration;

/// An ANSI SGR colour for a status word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    /// SGR 31.
    Red,
    /// SGR 32.
    Green,
    /// SGR 33.
    Yellow,
    /// SGR 35.
    Magenta,
    /// SGR 36.
    Cyan,
    /// SGR 2 (faint).
    Dim,
}

impl Colour {
    fn sgr(self) -> &'static str {
        match self {
            Self::Red => "31",
            Self::Green => "32",
            Self::Yellow => "33",
            Self::Magenta => "35",
            Self::Cyan => "36",
            Self::Dim => "2",
        }
    }
}

/// When to colour (`--color=WHEN`, every command).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColourChoice {
    /// Colour on a terminal, unless `NO_COLOR` says not to or `CLICOLOR_FORCE` says to
    /// anyway ([`stdout_colour`]).
    #[default]
    Auto,
    /// Always, whatever the output and the environment.
    Always,
    /// Never.
    Never,
}

/// The choice of `--color`, set once by the command line.
static CHOICE: std::sync::OnceLock<ColourChoice> = std::sync::OnceLock::new();

/// Sets what `--color` asked for (the first call wins).
pub fn set_colour_choice(choice: ColourChoice) {
    let _ = CHOICE.set(choice);
}

/// A standard stream csa writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// True when csa's output on standard output is coloured: [`escapes_allowed`] for it.
pub fn stdout_colour() -> bool {
    escapes_allowed(Stream::Stdout)
}

/// True when what csa writes to `stream` may carry escape sequences — the colours csa adds,
/// and a job's own escapes passed through by `wait` (else removed, [`strip`]): with
/// `--color=always` or `never`, as asked; else (`auto`) never when `NO_COLOR` is set and not
/// empty (<https://no-color.org>), always when `CLICOLOR_FORCE` is set and not `0`
/// (<https://bixense.com/clicolors/>), otherwise when `stream` is a terminal.
pub fn escapes_allowed(stream: Stream) -> bool {
    let set = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    match CHOICE.get().copied().unwrap_or_default() {
        ColourChoice::Always => true,
        ColourChoice::Never => false,
        ColourChoice::Auto if set("NO_COLOR").is_some() => false,
        ColourChoice::Auto if set("CLICOLOR_FORCE").is_some_and(|value| value != "0") => true,
        ColourChoice::Auto => match stream {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        },
    }
}

/// `text` wrapped in the SGR sequence of `colour` when `enabled`, else unchanged.
pub fn paint(text: &str, colour: Colour, enabled: bool) -> String {
    if enabled {
        format!("\x1b[{}m{text}\x1b[0m", colour.sgr())
    } else {
        text.to_owned()
    }
}

/// The width of the terminal on standard output in columns; else `$COLUMNS` when it is a
/// positive number; else `None` (output is not truncated).
pub fn stdout_width() -> Option<usize> {
    let stdout = std::io::stdout();
    if stdout.is_terminal()
        && let Ok(size) = rustix::termios::tcgetwinsize(&stdout)
        && size.ws_col > 0
    {
        return Some(usize::from(size.ws_col));
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
}

/// `text` cut to at most `width` characters, ending in `…` when cut. Control characters
/// (newlines, tabs, escapes) become spaces so a row stays one line.
pub fn one_line(text: &str, width: Option<usize>) -> Cow<'_, str> {
    let fits = width.is_none_or(|width| text.len() <= width || text.chars().count() <= width);
    if fits && !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match width {
        Some(width) if clean.chars().count() > width => {
            let mut cut: String = clean.chars().take(width.saturating_sub(1)).collect();
            cut.push('…');
            Cow::Owned(cut)
        }
        _ => Cow::Owned(clean),
    }
}

/// A compact duration: `850ms`, `12.3s`, `4m05s`, `2h07m`, `3d04h`.
pub fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    let secs = d.as_secs();
    if ms < 1000 {
        format!("{ms}ms")
    } else if secs < 60 {
        format!("{}.{}s", secs, d.subsec_millis() / 100)
    } else {
        minutes_and_more(secs)
    }
}

/// A duration to the second, in its two largest units: `0s`, `12s`, `4m05s`, `2h07m`,
/// `3d04h` (what `csa status` and `csa top` show: whole seconds).
pub fn clock(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 60 {
        format!("{secs}s")
    } else {
        minutes_and_more(secs)
    }
}

/// `secs` (60 or more) in its two largest units: `4m05s`, `2h07m`, `3d04h`.
fn minutes_and_more(secs: u64) -> String {
    if secs < 3600 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else if secs < 86_400 {
        format!("{}h{:02}m", secs / 3600, secs % 3600 / 60)
    } else {
        format!("{}d{:02}h", secs / 86_400, secs % 86_400 / 3600)
    }
}

/// How long ago, in the largest whole unit: `12s ago`, `5m ago`, `3h ago`, `2d ago`.
pub fn age(d: Duration) -> String {
    let secs = d.as_secs();
    let (n, unit) = match secs {
        0..60 => (secs, "s"),
        60..3600 => (secs / 60, "m"),
        3600..86_400 => (secs / 3600, "h"),
        _ => (secs / 86_400, "d"),
    };
    format!("{n}{unit} ago")
}

/// A count with its noun, singular for exactly one: `1 slot`, `0 slots`, `3 slots`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A size in bytes for people: `512 B`, `12.3 KiB`, `4.0 MiB`, `1.2 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n;
    let mut unit = 0;
    while value >= 1024 * 1024 && unit + 1 < UNITS.len() {
        value /= 1024;
        unit += 1;
    }
    // One decimal, computed in integers to stay exact.
    let tenths = value * 10 / 1024;
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

/// `arg` as a POSIX shell word: unchanged when plain, else in single quotes.
pub fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_a_shell() {
        assert_eq!(quote("cargo"), "cargo");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn human_formats() {
        assert_eq!(duration(Duration::from_millis(850)), "850ms");
        assert_eq!(duration(Duration::from_millis(12_345)), "12.3s");
        assert_eq!(duration(Duration::from_secs(245)), "4m05s");
        assert_eq!(duration(Duration::from_secs(2 * 3600 + 7 * 60)), "2h07m");
        assert_eq!(
            duration(Duration::from_secs(3 * 86_400 + 4 * 3600)),
            "3d04h"
        );
        assert_eq!(clock(Duration::from_millis(999)), "0s");
        assert_eq!(clock(Duration::from_secs(59)), "59s");
        assert_eq!(clock(Duration::from_secs(245)), "4m05s");
        assert_eq!(clock(Duration::from_secs(2 * 3600 + 7 * 60 + 5)), "2h07m");
        assert_eq!(age(Duration::from_secs(12)), "12s ago");
        assert_eq!(age(Duration::from_secs(3 * 3600 + 59)), "3h ago");
        assert_eq!(age(Duration::from_secs(9 * 86_400)), "9d ago");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(12_595), "12.2 KiB");
        assert_eq!(bytes(4 << 20), "4.0 MiB");
    }

    #[test]
    fn rows_stay_on_one_line() {
        assert_eq!(one_line("a\nb\tc", None), "a b c");
        assert_eq!(one_line("abcdef", Some(4)), "abc…");
        assert_eq!(one_line("abcd", Some(4)), "abcd");
        assert_eq!(paint("x", Colour::Red, false), "x");
        assert_eq!(paint("x", Colour::Red, true), "\x1b[31mx\x1b[0m");
    }
}
