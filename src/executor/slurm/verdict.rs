//! Slurm's word on an ending the node recorded but may not have caused: a signal reached
//! `csa __node` from outside csa, or the kernel killed a process of the job for lack of
//! memory. The job's own ending is exact, but says nothing of *why* — a job that traps
//! SIGTERM and exits 0 at Slurm's time limit would read `success`. So the watcher asks
//! Slurm once ([`ask`]: `scontrol show job`, `sacct` when the controller no longer knows
//! the job) and the result takes Slurm's state ([`apply`]): `TIMEOUT` → `timeout` (124),
//! `CANCELLED`/`PREEMPTED` → `signal`, `NODE_FAIL` → `failure`, `OUT_OF_MEMORY` → said in
//! the reason (and a `success` becomes a `failure`), with a reason that quotes Slurm. Any
//! other state (the job ended on its own after, say, `--signal=B:USR1`) leaves the job's
//! own ending, noting the signal.

use std::thread;
use std::time::Duration;

use super::client::{JobInfo, Query, Slurm, Unreachable};
use super::files::{JobRecord, NodeEnding};
use super::identity;
use crate::exit;
use crate::store::record::{ResultRecord, Status};
use crate::store::session::SessionDir;

/// The pauses before each question while Slurm has not finished the job yet (it reads
/// `COMPLETING` until the node has reported the batch shell's end, usually within a few
/// hundred milliseconds) or cannot be reached. The first lets the node report; most
/// endings cost one call.
const PAUSES: [Duration; 7] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(15),
    Duration::from_secs(30),
];

/// What Slurm said.
#[derive(Debug, Clone)]
pub enum Word {
    /// Slurm's record of the ended job.
    Said(JobInfo),
    /// Slurm could not say: why.
    Silent(String),
}

/// Asks Slurm how `job` ended (see [`PAUSES`]). Returns the number of controller calls
/// made with the answer.
pub fn ask(job: &JobRecord, session: &SessionDir, slurm: &Slurm) -> (Word, u32) {
    let mut calls = 0;
    let mut why = String::new();
    for pause in PAUSES {
        thread::sleep(pause);
        calls += 1;
        match slurm.show_job(&job.job_id) {
            Ok(Query::Known(info)) if identity::proven(job, session, &info, slurm) => {
                if info.has_ended() {
                    return (Word::Said(info), calls);
                }
                // Being cleaned up after its time limit: Slurm says so already.
                if info.reason == "TimeLimit" {
                    let timeout = JobInfo {
                        state: "TIMEOUT".to_owned(),
                        ..info
                    };
                    return (Word::Said(timeout), calls);
                }
                why = format!("Slurm still reads job {} as {}", job.job_id, info.state);
            }
            Ok(Query::Known(other)) => {
                return (
                    Word::Silent(format!(
                        "job {} now names another job ({})",
                        job.job_id, other.name
                    )),
                    calls,
                );
            }
            Ok(Query::Unknown) => {
                calls += 1;
                let word = match slurm.accounting(&job.job_id) {
                    Some(info) if info.name == job.job_name && info.has_ended() => Word::Said(info),
                    _ => Word::Silent(format!("Slurm no longer knows job {}", job.job_id)),
                };
                return (word, calls);
            }
            Err(Unreachable(message)) => why = format!("cannot reach Slurm: {message}"),
        }
    }
    (Word::Silent(why), calls)
}

/// The result of `node`'s ending of `job` once Slurm had its `word` (see the module
/// documentation).
pub fn apply(node: NodeEnding, job: &JobRecord, word: &Word) -> ResultRecord {
    let NodeEnding {
        mut result,
        outside_signals,
        oom_kills,
    } = node;
    let own = own_ending(&result);
    let received = received(&outside_signals);
    let info = match word {
        Word::Said(info) => info,
        Word::Silent(why) => {
            let mut notes = Vec::new();
            if let Some(received) = &received {
                notes.push(format!("{received} came from outside csa"));
            }
            if oom_kills > 0 {
                notes.push(out_of_memory(oom_kills));
            }
            notes.push(format!("Slurm could not say why ({why})"));
            append(&mut result, &notes.join("; "));
            return result;
        }
    };
    let on = if info.nodes.is_empty() || info.nodes == "(null)" {
        String::new()
    } else {
        format!(" on {}", info.nodes)
    };
    let slurm = format!("Slurm job {} {}{on}", job.job_id, info.state);
    let after = match &received {
        Some(received) if !own.contains(super::NEVER_STARTED) => format!(" after {received}"),
        _ => String::new(),
    };
    let last_signal = outside_signals
        .iter()
        .rev()
        .copied()
        .find(|&signal| signal != libc::SIGCONT);
    match info.state.as_str() {
        "TIMEOUT" | "DEADLINE" => {
            set(&mut result, Status::Timeout, exit::TIMEOUT, None);
            result.reason = Some(format!(
                "Slurm's time limit expired ({slurm}); {own}{after}"
            ));
        }
        "CANCELLED" | "PREEMPTED" => {
            let signal = last_signal.unwrap_or(libc::SIGTERM);
            set(
                &mut result,
                Status::Signal,
                exit::from_signal(signal),
                Some(signal),
            );
            let by = if info.state == "PREEMPTED" {
                "preempted by Slurm"
            } else {
                "cancelled in Slurm"
            };
            result.reason = Some(format!("{by} ({slurm}); {own}{after}"));
        }
        "NODE_FAIL" | "BOOT_FAIL" => {
            set(&mut result, Status::Failure, 1, None);
            result.reason = Some(format!("the node failed ({slurm}); {own}{after}"));
        }
        "OUT_OF_MEMORY" => {
            if result.status == Status::Success {
                set(&mut result, Status::Failure, 1, None);
            }
            result.reason = Some(format!(
                "{} ({slurm}); {own}",
                out_of_memory(oom_kills.max(1))
            ));
        }
        _ => {
            let mut notes = Vec::new();
            if let Some(received) = &received {
                notes.push(format!("{received} came from outside csa ({slurm})"));
            }
            if oom_kills > 0 {
                notes.push(format!("{} ({slurm})", out_of_memory(oom_kills)));
                if result.status == Status::Success {
                    set(&mut result, Status::Failure, 1, None);
                }
            }
            append(&mut result, &notes.join("; "));
        }
    }
    result
}

fn set(result: &mut ResultRecord, status: Status, exit_code: u8, signal: Option<i32>) {
    result.status = status;
    result.exit_code = exit_code;
    result.signal = signal;
}

/// Adds `note` to the result's reason.
fn append(result: &mut ResultRecord, note: &str) {
    if note.is_empty() {
        return;
    }
    result.reason = Some(match result.reason.take() {
        Some(reason) => format!("{reason}; {note}"),
        None => note.to_owned(),
    });
}

/// `the kernel killed N process(es) of the job for lack of memory`.
fn out_of_memory(kills: u64) -> String {
    let processes = if kills == 1 { "process" } else { "processes" };
    format!("out of memory: the kernel killed {kills} {processes} of the job")
}

/// What the job did itself, for a reason: `the job exited 0`, `the job was ended by
/// SIGTERM`, or the reason of a job that never started.
fn own_ending(result: &ResultRecord) -> String {
    match (result.status, result.signal, &result.reason) {
        (_, _, Some(reason)) if reason.contains(super::NEVER_STARTED) => reason.clone(),
        (Status::Signal, Some(signal), _) => format!("the job was ended by {}", name(signal)),
        (Status::Timeout, _, Some(reason)) => format!("csa's --timeout struck first ({reason})"),
        (Status::Success | Status::Failure, _, _) => {
            format!("the job exited {}", result.exit_code)
        }
        _ => format!("the job ended with status {}", result.status.as_str()),
    }
}

/// `SIGCONT and SIGTERM`: the outside signals, for a reason; `None` when there were none.
fn received(signals: &[i32]) -> Option<String> {
    let names: Vec<String> = signals.iter().map(|&signal| name(signal)).collect();
    match names.as_slice() {
        [] => None,
        [one] => Some(one.clone()),
        [rest @ .., last] => Some(format!("{} and {last}", rest.join(", "))),
    }
}

fn name(signal: i32) -> String {
    signal_hook::low_level::signal_name(signal)
        .map_or_else(|| format!("signal {signal}"), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> JobRecord {
        JobRecord {
            job_id: "42".into(),
            job_name: "csa-X".into(),
            cluster: None,
            slurm_conf: None,
            submitted_at: "2026-11-21T10:00:00.000Z".into(),
        }
    }

    fn ending(status: Status, exit_code: u8, signal: Option<i32>, outside: &[i32]) -> NodeEnding {
        let mut result = ResultRecord::new(
            "01JD0000000000000000000000".into(),
            (status, exit_code, signal),
            std::time::SystemTime::UNIX_EPOCH,
            std::time::SystemTime::UNIX_EPOCH,
        );
        result.reason = None;
        NodeEnding {
            result,
            outside_signals: outside.to_vec(),
            oom_kills: 0,
        }
    }

    fn said(state: &str) -> Word {
        Word::Said(JobInfo {
            name: "csa-X".into(),
            state: state.into(),
            reason: "None".into(),
            exit_code: 0,
            exit_signal: 0,
            nodes: "n1".into(),
            stdout: String::new(),
        })
    }

    #[test]
    fn slurms_endings_are_never_a_plain_success() {
        let trapped = || ending(Status::Success, 0, None, &[18, 15]);
        let timeout = apply(trapped(), &job(), &said("TIMEOUT"));
        assert_eq!((timeout.status, timeout.exit_code), (Status::Timeout, 124));
        let reason = timeout.reason.unwrap();
        assert!(
            reason.contains("time limit") && reason.contains("exited 0 after SIGCONT and SIGTERM"),
            "{reason}"
        );
        let cancelled = apply(trapped(), &job(), &said("CANCELLED"));
        assert_eq!(
            (cancelled.status, cancelled.exit_code, cancelled.signal),
            (Status::Signal, 143, Some(15))
        );
        let failed = apply(trapped(), &job(), &said("NODE_FAIL"));
        assert_eq!((failed.status, failed.exit_code), (Status::Failure, 1));
        assert!(failed.reason.unwrap().contains("NODE_FAIL on n1"));
        // The checkpoint idiom: USR1, then the job exits 0 on its own.
        let own = apply(
            ending(Status::Success, 0, None, &[10]),
            &job(),
            &said("COMPLETED"),
        );
        assert_eq!(own.status, Status::Success);
        assert!(
            own.reason
                .unwrap()
                .contains("SIGUSR1 came from outside csa")
        );
        let silent = apply(trapped(), &job(), &Word::Silent("down".into()));
        assert_eq!(silent.status, Status::Success);
        assert!(silent.reason.unwrap().contains("could not say why (down)"));
    }

    #[test]
    fn out_of_memory_is_said() {
        let mut node = ending(Status::Success, 0, None, &[]);
        node.oom_kills = 1;
        let result = apply(node, &job(), &said("OUT_OF_MEMORY"));
        assert_eq!(result.status, Status::Failure);
        assert!(result.reason.unwrap().contains("out of memory"));
        let killed = apply(
            ending(Status::Signal, 137, Some(9), &[]),
            &job(),
            &said("OUT_OF_MEMORY"),
        );
        assert_eq!((killed.status, killed.signal), (Status::Signal, Some(9)));
    }
}
