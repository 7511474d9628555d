//! The `--time` csa gives a job with a `--timeout`: a backstop above csa's own timeout
//! (the timeout, plus its 5 s grace, plus one minute, in whole minutes), kept within the
//! time limit of the job's partition — above it, Slurm would keep the job pending forever
//! (`PartitionTimeLimit`). A `--timeout` that does not fit the partition at all is refused
//! before anything is created. The user's own `--time` is left alone.
//!
//! The partition's limit costs one call (`sinfo`), only for a session with a `--timeout`
//! and no `--time` of its own.

use std::ffi::OsString;
use std::time::Duration;

use anyhow::Result;

use super::client::Slurm;
use super::options::Given;
use crate::exit::{Failure, USAGE};
use crate::stop::sequence::TIMEOUT_GRACE;

/// The `--time=MINUTES` option for a job whose `--timeout` is `timeout`, given the options
/// `given`; `None` when the user gave a `--time`. Errors (exit 2): the timeout and its
/// grace exceed the time limit of every partition the job may run in.
pub fn backstop(timeout: Duration, given: &Given, slurm: &Slurm) -> Result<Option<OsString>> {
    if given.last("time").is_some() {
        return Ok(None);
    }
    let needed = timeout.saturating_add(TIMEOUT_GRACE);
    let mut minutes = whole_minutes(needed).saturating_add(1);
    let named = given
        .last("partition")
        .map(str::to_owned)
        .or_else(|| std::env::var("SBATCH_PARTITION").ok())
        .filter(|name| !name.is_empty());
    if let Some((partition, limit)) = slurm
        .partition_limits()
        .and_then(|limits| limit_of(&limits, named.as_deref()))
    {
        if whole_minutes(needed) > limit {
            return Err(Failure::new(
                USAGE,
                format!(
                    "--timeout {} plus its {} s grace exceeds the time limit of Slurm partition {partition} ({limit} min): the job would stay pending forever; give a shorter --timeout, or another partition (csa run)",
                    humantime::format_duration(timeout),
                    TIMEOUT_GRACE.as_secs()
                ),
            )
            .into());
        }
        minutes = minutes.min(limit);
    }
    Ok(Some(format!("--time={minutes}").into()))
}

/// `duration` in minutes, rounded up.
fn whole_minutes(duration: Duration) -> u64 {
    duration.as_secs().div_ceil(60)
}

/// The partition(s) the job goes to — `named` (`a,b`), else the default one — and the
/// highest limit among them in minutes; `None` when a limit is infinite or unknown.
fn limit_of(limits: &[(String, bool, Option<u64>)], named: Option<&str>) -> Option<(String, u64)> {
    let chosen: Vec<&(String, bool, Option<u64>)> = match named {
        Some(list) => list
            .split(',')
            .map(|name| limits.iter().find(|(n, _, _)| n == name))
            .collect::<Option<_>>()?,
        None => limits.iter().filter(|(_, default, _)| *default).collect(),
    };
    let mut highest: Option<(String, u64)> = None;
    for (name, _, limit) in chosen {
        let limit = (*limit)?;
        if highest.as_ref().is_none_or(|(_, seen)| limit > *seen) {
            highest = Some((name.clone(), limit));
        }
    }
    highest
}

/// Parses a time limit as `sinfo` prints it (`infinite`, `10:00` = 10 min, `2:00:00`,
/// `1-00:00:00`) into whole minutes; `None` for no limit or a text it cannot read.
pub fn parse_limit(text: &str) -> Option<u64> {
    let text = text.trim();
    if matches!(text, "infinite" | "UNLIMITED" | "n/a" | "") {
        return None;
    }
    let (days, clock) = match text.split_once('-') {
        Some((days, clock)) => (days.parse::<u64>().ok()?, clock),
        None => (0, text),
    };
    let parts: Vec<u64> = clock
        .split(':')
        .map(|part| part.parse().ok())
        .collect::<Option<_>>()?;
    let seconds = match parts.as_slice() {
        [minutes] => minutes * 60,
        [minutes, seconds] => minutes * 60 + seconds,
        [hours, minutes, seconds] => hours * 3600 + minutes * 60 + seconds,
        _ => return None,
    };
    Some((days * 86_400 + seconds) / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_read_as_sinfo_prints_them() {
        assert_eq!(parse_limit("10:00"), Some(10));
        assert_eq!(parse_limit("2:00:00"), Some(120));
        assert_eq!(parse_limit("1-00:00:00"), Some(1440));
        assert_eq!(parse_limit("infinite"), None);
        let limits = vec![
            ("debug".to_owned(), true, None),
            ("short".to_owned(), false, Some(10)),
            ("long".to_owned(), false, Some(600)),
        ];
        assert_eq!(limit_of(&limits, None), None);
        assert_eq!(limit_of(&limits, Some("short")), Some(("short".into(), 10)));
        assert_eq!(
            limit_of(&limits, Some("short,long")),
            Some(("long".into(), 600))
        );
        assert_eq!(limit_of(&limits, Some("short,debug")), None);
        assert_eq!(limit_of(&limits, Some("nowhere")), None);
    }
}
