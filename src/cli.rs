//! The command line, declared with clap's derive API.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Run long jobs in the background; wait for, follow and stop them.
#[derive(Debug, Parser)]
#[command(name = "csa", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a job in the background and print its session ID
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Wait for, follow, inspect and stop sessions
    #[command(subcommand)]
    Session(SessionCommand),
    /// Internal: the supervisor that `csa run` re-executes. Refused when typed by a user.
    #[command(name = "__supervise", hide = true)]
    Supervise(SuperviseArgs),
}

const RUN_EXAMPLES: &str = "\
Examples:
  SID=$(csa run 'make test') && csa session wait --session \"$SID\"
  csa run --name build --timeout 30m -- cargo build --release
  echo 'pytest -x' | csa run";

/// Arguments of `csa run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Pass csa's standard input through to the job (default: /dev/null)
    #[arg(long)]
    pub stdin: bool,
    /// The tool that receives PROMPT (`sh` runs it as a shell script)
    #[arg(long, value_name = "NAME", default_value = "sh")]
    pub tool: String,
    /// The job's working directory (default: the current one)
    #[arg(long, value_name = "DIR")]
    pub cd: Option<PathBuf>,
    /// Set an environment variable for the job (repeatable)
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env_pair)]
    pub env: Vec<(String, String)>,
    /// Stop the job after this long (`30s`, `10m`, `2h`): SIGTERM, 5 s grace, SIGKILL
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// A label for the session
    #[arg(long, value_name = "TEXT")]
    pub name: Option<String>,
    /// Run in the foreground: output to the terminal and the spool files, exit with the
    /// job's exit code
    #[arg(long)]
    pub no_daemon: bool,
    /// Run detached (the default; accepted for compatibility)
    #[arg(long, hide = true)]
    pub daemon: bool,
    /// Print `{"id":…,"pid":…,"dir":…}` instead of the bare session ID
    #[arg(long)]
    pub json: bool,
    /// The prompt for the tool; with the default tool `sh`, a shell script. Read from
    /// standard input when neither PROMPT nor `-- PROGRAM` is given
    #[arg(value_name = "PROMPT", conflicts_with = "program")]
    pub prompt: Option<OsString>,
    /// Run PROGRAM with ARGS directly, without a shell
    #[arg(last = true, value_name = "PROGRAM [ARGS]")]
    pub program: Vec<OsString>,
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Wait for a session to end (at most 250 s), print its stdout and exit with its code
    #[command(after_help = WAIT_EXAMPLES)]
    Wait(WaitArgs),
    /// Follow a session's output live until it ends; Ctrl-C detaches
    #[command(after_help = ATTACH_EXAMPLES)]
    Attach(AttachArgs),
    /// Stop a session: SIGTERM to its process group, then SIGKILL after a grace period
    #[command(after_help = KILL_EXAMPLES)]
    Kill(KillArgs),
}

const WAIT_EXAMPLES: &str = "\
Exit codes: the job's exit code; 0 if still running after 250 s (re-run the same command);
1 for a lost session; 124 dead without a result; 125 csa error.

Examples:
  csa session wait --session 01JD4K
  csa session wait --session \"$SID\" --until-done   # CI: no 250 s cap";

/// Arguments of `csa session wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The session ID, or a unique prefix of at least 4 characters (any case)
    #[arg(long, value_name = "ID")]
    pub session: String,
    /// Wait without the 250 s cap
    #[arg(long)]
    pub until_done: bool,
}

const ATTACH_EXAMPLES: &str = "\
Exit codes: the job's exit code; 130 when detached with Ctrl-C (the job keeps running);
1 for a lost session; 125 csa error.

Examples:
  csa session attach --session 01JD4K
  csa session attach --session \"$SID\" --stderr 2>job-errors.log";

/// Arguments of `csa session attach`.
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// The session ID, or a unique prefix of at least 4 characters (any case)
    #[arg(long, value_name = "ID")]
    pub session: String,
    /// Also follow the job's stderr.log, on stderr
    #[arg(long)]
    pub stderr: bool,
}

const KILL_EXAMPLES: &str = "\
Reaches every process of the job's process group, including background children; processes
that moved to another session or process group on purpose are out of reach.
Exit codes: 0 killed or already finished; 125 refused (identity not verified) or failed.

Examples:
  csa session kill --session 01JD4K
  csa session kill --session \"$SID\" --signal INT --grace 30s
  csa session kill --session \"$SID\" --grace 0      # SIGKILL at once";

/// Arguments of `csa session kill`.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// The session ID, or a unique prefix of at least 4 characters (any case)
    #[arg(long, value_name = "ID")]
    pub session: String,
    /// The first signal sent to the process group: a name (`TERM`, `SIGINT`) or a number
    #[arg(long, value_name = "SIG", default_value = "TERM", value_parser = parse_signal)]
    pub signal: rustix::process::Signal,
    /// How long the group has to exit before SIGKILL (`5s`, `1m`; `0` = SIGKILL at once)
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_grace)]
    pub grace: Duration,
}

/// Arguments of the hidden supervisor entry point (`csa __supervise`).
#[derive(Debug, Args)]
pub struct SuperviseArgs {
    /// The session ID
    #[arg(long)]
    pub session_id: String,
    /// The absolute path of the session directory
    #[arg(long)]
    pub session_dir: PathBuf,
    /// The inherited descriptor that holds the exclusive lock on `lock`
    #[arg(long)]
    pub lock_fd: i32,
    /// The job's time limit in milliseconds
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Where the job's standard input comes from
    #[arg(long, value_enum, default_value = "null")]
    pub stdin_from: crate::record::StdinSource,
    /// The job's argv
    #[arg(last = true, required = true)]
    pub argv: Vec<OsString>,
}

/// Parses `KEY=VALUE` for `--env`; the key must be non-empty and free of `=` and NUL.
fn parse_env_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() && !key.contains('\0') && !value.contains('\0') => {
            Ok((key.to_owned(), value.to_owned()))
        }
        _ => Err(format!("expected KEY=VALUE, got `{text}`")),
    }
}

/// Parses a positive duration such as `30s`, `10m`, `2h` or `1h30m` (humantime syntax).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim())
        .map_err(|err| format!("invalid duration `{text}`: {err} (examples: 30s, 10m, 2h)"))?;
    if duration.is_zero() {
        return Err(format!("duration `{text}` must be greater than zero"));
    }
    Ok(duration)
}

/// Parses a grace period: a humantime duration (`5s`, `1m`) or `0` for none.
fn parse_grace(text: &str) -> Result<Duration, String> {
    if text
        .trim()
        .trim_end_matches(|c: char| c.is_ascii_alphabetic())
        == "0"
    {
        return Ok(Duration::ZERO);
    }
    parse_duration(text)
}

/// Parses a signal given as a name with or without `SIG` (`TERM`, `sigterm`, `SIGTERM`) or
/// as a number (`15`). Only the standard, named signals are accepted.
pub fn parse_signal(text: &str) -> Result<rustix::process::Signal, String> {
    let upper = text.trim().to_ascii_uppercase();
    let number = upper.parse::<i32>().ok().or_else(|| {
        let name = format!("SIG{}", upper.strip_prefix("SIG").unwrap_or(&upper));
        (1..32).find(|&n| signal_hook::low_level::signal_name(n) == Some(name.as_str()))
    });
    number
        .filter(|&n| signal_hook::low_level::signal_name(n).is_some())
        .and_then(rustix::process::Signal::from_named_raw)
        .ok_or_else(|| format!("unknown signal `{text}` (examples: TERM, INT, HUP, KILL, 15)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn env_pairs() {
        assert_eq!(
            parse_env_pair("A=b=c"),
            Ok(("A".to_owned(), "b=c".to_owned()))
        );
        assert!(parse_env_pair("A").is_err());
        assert!(parse_env_pair("=x").is_err());
    }

    #[test]
    fn signals() {
        use rustix::process::Signal;
        for text in ["TERM", "SIGTERM", "sigterm", "term", "15", " 15 "] {
            assert_eq!(parse_signal(text), Ok(Signal::TERM), "{text}");
        }
        assert_eq!(parse_signal("KILL"), Ok(Signal::KILL));
        assert_eq!(parse_signal("2"), Ok(Signal::INT));
        assert_eq!(parse_signal("usr1"), Ok(Signal::USR1));
        for bad in ["0", "99", "-1", "FOO", "SIG", ""] {
            assert!(parse_signal(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn grace_periods() {
        assert_eq!(parse_grace("0"), Ok(Duration::ZERO));
        assert_eq!(parse_grace("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_grace("5s"), Ok(Duration::from_secs(5)));
        assert!(parse_grace("x").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
