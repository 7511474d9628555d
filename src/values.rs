//! Parsers for values users write — `KEY=VALUE` pairs, names, labels, durations and signal
//! names — for the command line's value parsers and the configuration files alike. Each
//! error is one line saying what is wrong and what is expected.

use std::time::Duration;

use anyhow::{Result, anyhow, bail};

/// Parses `KEY=VALUE` for `--env`; the key must be non-empty and free of `=` and NUL.
pub fn parse_env_pair(text: &str) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() && !key.contains('\0') && !value.contains('\0') => {
            Ok((key.to_owned(), value.to_owned()))
        }
        _ => Err(anyhow!("expected KEY=VALUE, got `{text}`")),
    }
}

/// Refuses an empty PROMPT (as an empty prompt on standard input is refused): a shell
/// script or an agent's prompt of nothing is a mistake, not a job.
pub fn non_empty_prompt(prompt: std::ffi::OsString) -> Result<std::ffi::OsString> {
    if prompt.is_empty() {
        Err(anyhow!(
            "the prompt is empty: give a script (`csa run 'make test'`) or a program (`csa run -- make test`)"
        ))
    } else {
        Ok(prompt)
    }
}

/// The longest session name (`--name`), in bytes: the longest session handle.
pub const MAX_NAME_LEN: usize = 1024;

/// Parses a session name (`--name`): not empty nor only white space, no control
/// characters (it is shown in one table row and typed back as a session handle), at most
/// [`MAX_NAME_LEN`] bytes, and not `last`, which as a handle means the newest session.
pub fn parse_name(text: &str) -> Result<String> {
    let why = if text.trim().is_empty() {
        "a session name cannot be empty; leave out --name for none"
    } else if text.chars().any(char::is_control) {
        "a session name cannot contain control characters (newlines, tabs, escapes)"
    } else if text.chars().any(is_invisible_format) {
        "a session name cannot contain invisible format characters (bidirectional overrides, zero-width characters)"
    } else if text.len() > MAX_NAME_LEN {
        "a session name is at most 1024 bytes"
    } else if text == "last" {
        "`last` is reserved: as a session handle it means the newest session"
    } else {
        return Ok(text.to_owned());
    };
    Err(anyhow!(why))
}

/// True for the invisible format characters (Unicode category Cf, as listed in Unicode's
/// UTS #39 and the "Trojan Source" paper): bidirectional embeddings, overrides and isolates,
/// zero-width spaces and joiners, marks and the byte-order mark. They make a name look like
/// another or reorder the text around it.
pub fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

/// The longest queue name or tag (characters).
pub const MAX_LABEL_LEN: usize = 64;

/// Parses a queue name (`--queue`, `csa queue …`) or a tag (`--tag`): 1 to 64 characters
/// of `A-Z a-z 0-9 _ . -`, so that it is safe as a file name and needs no quoting. `.` and
/// `..` alone are refused.
pub fn parse_label(text: &str) -> Result<String> {
    let valid = !text.is_empty()
        && text.len() <= MAX_LABEL_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && text != "."
        && text != "..";
    if valid {
        Ok(text.to_owned())
    } else {
        Err(anyhow!(
            "`{text}` is not a valid name: use 1 to {MAX_LABEL_LEN} characters of A-Z, a-z, 0-9, `_`, `.`, `-`"
        ))
    }
}

/// The longest duration a user may write (`--timeout`, `--grace`, `--older-than`, a tool's
/// `timeout`): 100 years of 365.25 days, as humantime counts a year. Longer ones are
/// refused where they are parsed, so that no deadline or date computed from one can
/// overflow; 100 years is as good as "never" for any of them.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 31_557_600);

/// Parses a positive duration such as `30s`, `10m`, `2h` or `1h30m` (humantime syntax), at
/// most [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration> {
    let duration = humantime::parse_duration(text.trim())
        .map_err(|err| anyhow!("invalid duration `{text}`: {err} (examples: 30s, 10m, 2h)"))?;
    if duration.is_zero() {
        bail!("duration `{text}` must be greater than zero");
    }
    bounded(text, duration)
}

/// A time limit as users write it (`--timeout`, `--idle-timeout`, a tool's `timeout` and
/// `idle_timeout`): a duration, or no limit at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub Option<Duration>);

/// Parses a time limit: a positive duration as [`parse_duration`] takes it, or `none` for
/// no limit — which overrides a tool's default. A zero duration is refused, naming `none`.
pub fn parse_limit(text: &str) -> Result<Limit> {
    let trimmed = text.trim();
    if trimmed.eq_ignore_ascii_case("none") {
        return Ok(Limit(None));
    }
    match humantime::parse_duration(trimmed) {
        Ok(duration) if duration.is_zero() => Err(anyhow!(
            "time limit `{text}` must be greater than zero; give `none` for no limit"
        )),
        Ok(duration) => bounded(text, duration).map(|d| Limit(Some(d))),
        Err(_) => Err(anyhow!(
            "invalid time limit `{text}`: give a duration such as 30s, 10m or 2h, or `none` for no limit"
        )),
    }
}

/// Parses a period that may be zero, such as `0`, `5s`, `12h` or `7d` (humantime syntax), at
/// most [`MAX_DURATION`]: `--grace` and `--older-than`.
pub fn parse_period(text: &str) -> Result<Duration> {
    let duration = humantime::parse_duration(text.trim())
        .map_err(|err| anyhow!("invalid duration `{text}`: {err} (examples: 0, 5s, 12h, 7d)"))?;
    bounded(text, duration)
}

/// `duration` when it is at most [`MAX_DURATION`].
fn bounded(text: &str, duration: Duration) -> Result<Duration> {
    if duration > MAX_DURATION {
        bail!("duration `{text}` is too long: at most 100 years");
    }
    Ok(duration)
}

/// Parses a count users write (`--tail N` lines, `--limit N` sessions): a whole number, 0
/// or more. The error says what was given and what to write, rather than Rust's "invalid
/// digit found in string".
pub fn parse_count(text: &str) -> Result<usize> {
    text.trim()
        .parse::<usize>()
        .map_err(|_| anyhow!("`{text}` is not a count: give a whole number such as 20"))
}

/// Parses a signal given as a name with or without `SIG` (`TERM`, `sigterm`, `SIGTERM`) or
/// as a number (`15`). Only the standard, named signals are accepted.
pub fn parse_signal(text: &str) -> Result<rustix::process::Signal> {
    let upper = text.trim().to_ascii_uppercase();
    let number = upper.parse::<i32>().ok().or_else(|| {
        let name = format!("SIG{}", upper.strip_prefix("SIG").unwrap_or(&upper));
        (1..32).find(|&n| signal_hook::low_level::signal_name(n) == Some(name.as_str()))
    });
    number
        .filter(|&n| signal_hook::low_level::signal_name(n).is_some())
        .and_then(rustix::process::Signal::from_named_raw)
        .ok_or_else(|| anyhow!("unknown signal `{text}` (examples: TERM, INT, HUP, KILL, 15)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(
            parse_label("codex-3.x_A").ok(),
            Some("codex-3.x_A".to_owned())
        );
        for bad in ["", ".", "..", "a/b", "a b", "ü", &"x".repeat(65)] {
            assert!(parse_label(bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse_label(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn env_pairs() {
        assert_eq!(
            parse_env_pair("A=b=c").ok(),
            Some(("A".to_owned(), "b=c".to_owned()))
        );
        assert!(parse_env_pair("A").is_err());
        assert!(parse_env_pair("=x").is_err());
    }

    #[test]
    fn signals() {
        use rustix::process::Signal;
        for text in ["TERM", "SIGTERM", "sigterm", "term", "15", " 15 "] {
            assert_eq!(parse_signal(text).ok(), Some(Signal::TERM), "{text}");
        }
        assert_eq!(parse_signal("KILL").ok(), Some(Signal::KILL));
        assert_eq!(parse_signal("2").ok(), Some(Signal::INT));
        assert_eq!(parse_signal("usr1").ok(), Some(Signal::USR1));
        for bad in ["0", "99", "-1", "FOO", "SIG", ""] {
            assert!(parse_signal(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn grace_periods() {
        assert_eq!(parse_period("0").ok(), Some(Duration::ZERO));
        assert_eq!(parse_period("0s").ok(), Some(Duration::ZERO));
        assert_eq!(parse_period("5s").ok(), Some(Duration::from_secs(5)));
        assert!(parse_period("x").is_err());
        assert_eq!(parse_period("100y").ok(), Some(MAX_DURATION));
        for long in ["101y", "300000000000years", "18446744073709551615s"] {
            assert!(parse_period(long).is_err(), "{long}");
        }
    }

    #[test]
    fn limits() {
        let secs = |n| Limit(Some(Duration::from_secs(n)));
        assert_eq!(parse_limit("30s").ok(), Some(secs(30)));
        assert_eq!(parse_limit(" 1h30m ").ok(), Some(secs(5400)));
        for none in ["none", "NONE", " none "] {
            assert_eq!(parse_limit(none).ok(), Some(Limit(None)), "{none}");
        }
        for bad in ["soon", "", "-1s", "0", "0s"] {
            let err = parse_limit(bad).unwrap_err().to_string();
            assert!(err.contains("`none` for no limit"), "{bad}: {err}");
        }
        assert!(parse_limit("101y").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").ok(), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m").ok(), Some(Duration::from_secs(600)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("500000000000y").is_err());
        assert!(parse_duration("101years").is_err());
        assert_eq!(parse_duration("100years").ok(), Some(MAX_DURATION));
        // Whole milliseconds in a u64, as `timeout_ms` and `--timeout-ms` carry them.
        assert!(u64::try_from(MAX_DURATION.as_millis()).is_ok());
    }
}
