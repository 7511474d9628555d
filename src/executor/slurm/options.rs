//! Checking the `sbatch` options a user gives (`--slurm-arg`, `[executors.slurm] args`)
//! before anything is created: one session is one Slurm job, so options that would make it
//! many jobs, none, or a job csa cannot watch are refused with one line each saying what to
//! write instead; and an option `sbatch` does not have is refused here, where the message
//! can say where it came from, rather than by `sbatch` after the session exists.
//!
//! Which options `sbatch` has comes from `sbatch --help` (run once, on this machine: no
//! call to the controller); when it cannot be run, only the refused options are checked
//! and `sbatch` judges the rest.

use std::collections::HashMap;
use std::ffi::OsString;

use anyhow::Result;

use super::client::Slurm;
use crate::exit::{Failure, USAGE};

/// Options refused, by their long name, with why and what to do instead.
const REFUSED: [(&str, &str); 12] = [
    (
        "array",
        "a csa session is one Slurm job, and --array makes one job per task: start one session per task and wait for them by tag (for i in $(seq 0 9); do csa run --executor slurm --tag sweep -- ./task \"$i\"; done; csa session wait --tag sweep --until-done)",
    ),
    (
        "wrap",
        "csa submits its own batch script: give the command as csa run's PROMPT, or after --",
    ),
    (
        "test-only",
        "no job would run, so there would be no session: check the request with sbatch --test-only itself",
    ),
    (
        "wait",
        "csa returns at once and waits on its own: csa session wait --session ID",
    ),
    ("parsable", "csa sets it itself"),
    (
        "job-name",
        "csa names the job after the session: give the name with csa run --name",
    ),
    (
        "output",
        "the job's output goes to the session's stdout.log and stderr.log, and Slurm's own messages to slurm.log",
    ),
    (
        "error",
        "the job's output goes to the session's stdout.log and stderr.log, and Slurm's own messages to slurm.log",
    ),
    ("open-mode", "csa sets it itself"),
    (
        "requeue",
        "a requeued job would run the session's job twice; csa submits with --no-requeue",
    ),
    (
        "chdir",
        "the job's working directory is csa run's: give it with csa run --cd",
    ),
    (
        "clusters",
        "csa watches a job on the cluster of SLURM_CONF: point SLURM_CONF at the other cluster instead",
    ),
];

/// The short options of the refused ones.
const REFUSED_SHORT: [(char, &str); 7] = [
    ('a', "array"),
    ('W', "wait"),
    ('J', "job-name"),
    ('o', "output"),
    ('e', "error"),
    ('D', "chdir"),
    ('M', "clusters"),
];

/// Whether an option takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    None,
    Required,
    Optional,
}

/// The options `sbatch --help` lists: long names, and short letters with their long name.
#[derive(Debug, Default)]
struct Known {
    long: HashMap<String, Value>,
    short: HashMap<char, String>,
}

/// The options given, resolved to their long names, with their values (in order).
#[derive(Debug, Clone, Default)]
pub struct Given(Vec<(String, Option<String>)>);

impl Given {
    /// The value of the last `--name` given (a later option wins in `sbatch`).
    pub fn last(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(given, _)| given == name)
            .and_then(|(_, value)| value.as_deref())
    }
}

/// Checks `args` (the configured options first, then `--slurm-arg`s; `configured` of them
/// came from the configuration), and returns them resolved. Errors (exit 2): the first
/// refused or unknown option.
pub fn check(args: &[OsString], configured: usize, slurm: &Slurm) -> Result<Given> {
    if args.is_empty() {
        return Ok(Given::default());
    }
    let known = slurm.help().map(|help| parse_help(&help));
    let args: Vec<String> = args
        .iter()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    read(&args, known.as_ref()).map_err(|(at, why)| {
        let from = if at < configured {
            "[executors.slurm] args"
        } else {
            "--slurm-arg"
        };
        Failure::new(USAGE, format!("{why} ({}, from {from})", args[at])).into()
    })
}

/// `args` resolved; errors: the index of the first refused or unknown option, and why.
fn read(args: &[String], known: Option<&Known>) -> Result<Given, (usize, String)> {
    let mut given = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let at = i;
        let (name, mut value) = option_name(&args[at], known).map_err(|why| (at, why))?;
        if let Some((_, why)) = REFUSED.iter().find(|(refused, _)| *refused == name) {
            return Err((at, format!("cannot pass --{name} to sbatch: {why}")));
        }
        let takes = known
            .and_then(|known| known.long.get(&name).copied())
            .unwrap_or(Value::Optional);
        i += 1;
        if takes == Value::Required && value.is_none() {
            let Some(next) = args.get(i) else {
                return Err((at, format!("--{name} needs a value")));
            };
            value = Some(next.clone());
            i += 1;
        }
        given.push((name, value));
    }
    Ok(Given(given))
}

/// The long name of the option `arg`, and its value when `arg` carries it (`--name=value`,
/// `-Xvalue`). Errors: not an option, or one `sbatch` does not have.
fn option_name(arg: &str, known: Option<&Known>) -> Result<(String, Option<String>), String> {
    if let Some(long) = arg.strip_prefix("--") {
        let (name, value) = match long.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (long, None),
        };
        if name.is_empty() {
            return Err("not an sbatch option: csa passes no script or arguments to sbatch".into());
        }
        return match known {
            None => Ok((name.to_owned(), value)),
            Some(known) => resolve(known, name).map(|name| (name, value)),
        };
    }
    if let Some(short) = arg.strip_prefix('-')
        && let Some(letter) = short.chars().next()
    {
        let rest = &short[letter.len_utf8()..];
        let value = (!rest.is_empty()).then(|| rest.to_owned());
        if let Some((_, name)) = REFUSED_SHORT.iter().find(|(l, _)| *l == letter) {
            return Ok(((*name).to_owned(), value));
        }
        return match known {
            None => Ok((letter.to_string(), value)),
            Some(known) => known
                .short
                .get(&letter)
                .map(|name| (name.clone(), value))
                .ok_or_else(|| {
                    format!("unknown sbatch option -{letter}: sbatch --help lists no such option")
                }),
        };
    }
    Err(if arg == ":" {
        "heterogeneous jobs are many jobs in one: a csa session is one Slurm job".into()
    } else {
        "not an sbatch option: csa submits its own batch script, so sbatch takes no script or arguments (write --option=value as one --slurm-arg)".into()
    })
}

/// `name` or the one option it abbreviates, as `getopt_long` accepts an unambiguous
/// prefix. The refused options count as known (`--test-only` is not in `--help`).
fn resolve(known: &Known, name: &str) -> Result<String, String> {
    if known.long.contains_key(name) || REFUSED.iter().any(|(refused, _)| *refused == name) {
        return Ok(name.to_owned());
    }
    let mut matches: Vec<&String> = known.long.keys().filter(|k| k.starts_with(name)).collect();
    matches.sort();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!(
            "unknown sbatch option --{name}: sbatch --help lists no such option"
        )),
        many => Err(format!(
            "--{name} is ambiguous for sbatch (--{})",
            many.iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", --")
        )),
    }
}

/// The options listed by `sbatch --help`: lines such as `  -p, --partition=partition …`,
/// `      --export[=names] …` and `  -H, --hold …`.
fn parse_help(help: &str) -> Known {
    let mut known = Known::default();
    for line in help.lines() {
        let line = line.trim_start();
        let (short, rest) = match line.strip_prefix('-') {
            Some(after) if !after.starts_with('-') => {
                let mut chars = after.chars();
                let letter = chars.next();
                match chars.as_str().strip_prefix(", ") {
                    Some(rest) => (letter, rest),
                    None => continue,
                }
            }
            _ => (None, line),
        };
        let Some(long) = rest.strip_prefix("--") else {
            continue;
        };
        let end = long
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(long.len());
        let name = &long[..end];
        if name.is_empty() {
            continue;
        }
        let value = match &long[end..] {
            after if after.starts_with("[=") => Value::Optional,
            after if after.starts_with('=') => Value::Required,
            _ => Value::None,
        };
        known.long.insert(name.to_owned(), value);
        if let Some(letter) = short {
            known.short.insert(letter, name.to_owned());
        }
    }
    known
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELP: &str = "Usage: sbatch [OPTIONS(0)...] [ : [OPTIONS(N)...]] script(0) [args(0)...]\n\
        \n\
        Parallel run options:\n  -a, --array=indexes         job array index values\n      --export[=names]        specify environment variables to export\n  -H, --hold                  submit job in held state\n  -p, --partition=partition   partition requested\n      --parsable              outputs only the jobid\n  -t, --time=minutes          time limit\n      --time-min=minutes      minimum time limit (if distinct)\n";

    fn checked(args: &[&str], known: &Known) -> Result<Given, String> {
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        read(&args, Some(known)).map_err(|(_, why)| why)
    }

    #[test]
    fn options_are_read_from_sbatch_help() {
        let known = parse_help(HELP);
        assert_eq!(known.long.get("partition"), Some(&Value::Required));
        assert_eq!(known.long.get("export"), Some(&Value::Optional));
        assert_eq!(known.long.get("hold"), Some(&Value::None));
        assert_eq!(known.short.get(&'p').map(String::as_str), Some("partition"));
        assert!(checked(&["--partition=debug", "-t", "5", "--hold"], &known).is_ok());
        let given = checked(&["-p", "one", "--part=two", "-pthree", "-t", "5"], &known).unwrap();
        assert_eq!(given.last("partition"), Some("three"));
        assert_eq!(given.last("time"), Some("5"));
        assert!(checked(&["--export=NONE"], &known).is_ok());
        let err = |args: &[&str]| checked(args, &known).unwrap_err();
        assert!(err(&["--array=0-9"]).contains("--tag"));
        assert!(err(&["-a", "0-9"]).contains("cannot pass --array"));
        assert!(err(&["--wrap", "true"]).contains("PROMPT"));
        assert!(err(&["--test-only"]).contains("sbatch --test-only"));
        assert!(err(&["--no-such-option"]).contains("unknown sbatch option --no-such-option"));
        assert!(err(&["--tim=5"]).contains("ambiguous"));
        assert!(err(&["--time"]).contains("needs a value"));
        assert!(err(&["-Z"]).contains("unknown sbatch option -Z"));
        assert!(err(&["script.sh"]).contains("not an sbatch option"));
        // A value given as its own argument is not taken for a script.
        assert!(checked(&["--partition", "script-looking"], &known).is_ok());
    }
}
