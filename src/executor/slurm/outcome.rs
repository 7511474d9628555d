//! Turning what the watcher learned into the session's result: the node's own record of
//! the ending (exact), or — when the node could record none — Slurm's (lossy: a signal
//! shows as `0:S`, a cancellation as `0:15` or `0:0`, see docs/slurm.md), or `lost` when
//! neither the node nor Slurm knows the job. The supervisor applies a stop request
//! (`stop.toml`) when it records the result ([`crate::store::stop_request::record_result`]), so that a
//! session stopped by `session kill` reads as stopped whatever the job returned.

use std::time::SystemTime;

use super::client::JobInfo;
use super::files::{JobRecord, NodeEnding, NodeRecord};
use super::verdict::{self, Word};
use crate::exit;
use crate::store::record::endings;
use crate::store::record::{self, ResultRecord, Status};
use crate::store::session::SessionDir;
use crate::store::stop_request as request;

/// How the reason of a job that never started ends (a stop request keeps such a reason,
/// [`crate::store::stop_request::apply`]).
pub const NEVER_STARTED: &str = "the job was never started";

/// How the watcher learned that the job ended.
#[derive(Debug, Clone)]
pub enum Ending {
    /// The node recorded the ending (`ending.toml`).
    Node(NodeEnding),
    /// The node recorded the ending, and Slurm had its word on it
    /// ([`NodeEnding::needs_slurm`], [`verdict`]).
    Explained(NodeEnding, Word),
    /// The watcher's own result, for a job that never ran.
    Watcher(ResultRecord),
    /// The node recorded none; Slurm's record of the job.
    Slurm(JobInfo),
    /// Neither the node nor Slurm knows the job: why.
    Unknown(String),
}

/// The result for `ending` of `job` (`None` when the job was never submitted), before a
/// stop request is applied.
pub fn result(session: &SessionDir, job: Option<&JobRecord>, ending: Ending) -> ResultRecord {
    let node = super::files::read_node(session);
    let mut result = match ending {
        Ending::Node(node) => return node.result,
        Ending::Watcher(result) => return result,
        Ending::Explained(node, word) => {
            return match job {
                Some(job) => verdict::apply(node, job, &word),
                None => node.result,
            };
        }
        Ending::Slurm(info) => from_slurm(session, job, node.as_ref(), &info),
        Ending::Unknown(why) => {
            let mut lost = endings::lost_result(session);
            lost.reason = Some(why);
            return lost;
        }
    };
    // Cancelled by `session kill` before it ran: the signal it asked for, and say so
    // rather than what Slurm's cancellation looked like.
    if node.is_none()
        && let Some(request) = request::requested(session)
    {
        let signal = request.signal;
        result.status = Status::Signal;
        result.signal = Some(signal);
        result.exit_code = exit::from_signal(signal);
        result.reason = Some(format!(
            "cancelled while pending in Slurm{}; {NEVER_STARTED}",
            job.map(|job| format!(" (job {})", job.job_id))
                .unwrap_or_default()
        ));
    }
    result
}

/// A result from Slurm's record of a job whose node recorded no ending. `synthetic`: csa
/// did not see the job end.
fn from_slurm(
    session: &SessionDir,
    job: Option<&JobRecord>,
    node: Option<&NodeRecord>,
    info: &JobInfo,
) -> ResultRecord {
    let id = job.map_or_else(String::new, |job| format!(" {}", job.job_id));
    let on = if info.nodes.is_empty() || info.nodes == "(null)" {
        String::new()
    } else {
        format!(" on {}", info.nodes)
    };
    let slurm = format!(
        "Slurm job{id} ended {} ({}:{}){on}",
        info.state, info.exit_code, info.exit_signal
    );
    let started = node.is_some();
    let mut missing = why_slurms(session, started, &info.state);
    let signal = (info.exit_signal > 0).then_some(info.exit_signal);
    let (status, exit_code, signal, what) = match info.state.as_str() {
        _ if !started && launch_failed(info) => {
            // Not a signal of the job's: Slurm's own code for a job it could not launch.
            missing = String::new();
            (
                Status::Failure,
                1,
                None,
                not_launched(session, info, &slurm, &on),
            )
        }
        "COMPLETED" => (Status::Success, 0, None, slurm.clone()),
        "TIMEOUT" | "DEADLINE" => (
            Status::Timeout,
            exit::TIMEOUT,
            None,
            format!("{slurm}: Slurm's time limit expired"),
        ),
        "CANCELLED" if !started => (
            Status::Signal,
            exit::from_signal(15),
            Some(15),
            format!("{slurm}: cancelled in Slurm while pending; {NEVER_STARTED}"),
        ),
        "CANCELLED" | "PREEMPTED" => {
            let signal = signal.unwrap_or(15);
            let by = if info.state == "PREEMPTED" {
                "preempted by Slurm"
            } else {
                "cancelled in Slurm"
            };
            (
                Status::Signal,
                exit::from_signal(signal),
                Some(signal),
                format!("{slurm}: {by}"),
            )
        }
        "OUT_OF_MEMORY" => (
            Status::Signal,
            exit::from_signal(9),
            Some(9),
            format!("{slurm}: killed for exceeding its memory"),
        ),
        "NODE_FAIL" | "BOOT_FAIL" => (
            Status::Failure,
            1,
            None,
            format!("{slurm}: the node failed"),
        ),
        _ => match (signal, info.exit_code) {
            (Some(signal), _) => (
                Status::Signal,
                exit::from_signal(signal),
                Some(signal),
                slurm.clone(),
            ),
            (None, code) if code > 0 => (
                Status::Failure,
                u8::try_from(code & 0xff).unwrap_or(u8::MAX),
                None,
                slurm.clone(),
            ),
            (None, _) => (Status::Failure, 1, None, slurm.clone()),
        },
    };
    let now = SystemTime::now();
    // A job that never reached its node never started (docs/format.md: no `started_at`).
    let started_at = node.map(|node| record::parse_timestamp(&node.started_at).unwrap_or(now));
    let outcome = (status, exit_code, signal);
    let mut result = ResultRecord::ended(session.id_string(), outcome, started_at, now);
    result.synthetic = true;
    result.reason = Some(format!("{what}{missing}"));
    result
}

/// The reason of a job Slurm could not launch ([`launch_failed`]) on a node that does not
/// see the state root; `slurm` and `on` say what Slurm recorded and where.
fn not_launched(session: &SessionDir, info: &JobInfo, slurm: &str, on: &str) -> String {
    let root = crate::store::session::StateRoot::of_session(session);
    let why = match info.reason.as_str() {
        "" | "None" => "JobLaunchFailure",
        reason => reason,
    };
    let node = if info.nodes.is_empty() {
        "NODE"
    } else {
        info.nodes.as_str()
    };
    format!(
        "{slurm}: Slurm could not start the batch script{on} ({why}): the node cannot open the session's slurm.log, so it does not see the state root {}; {NEVER_STARTED} (put the state root on a filesystem every node shares, or keep jobs off that node with --slurm-arg=--exclude={node})",
        root.path().display()
    )
}

/// True when Slurm could not launch the batch script at all (`JobLaunchFailure`, signal
/// 53 in its exit code): on a node that does not see the session directory, `slurmstepd`
/// cannot open `slurm.log`.
pub fn launch_failed(info: &JobInfo) -> bool {
    info.state == "FAILED" && (info.reason == "JobLaunchFailure" || info.exit_signal == 53)
}

/// Why the result is Slurm's record rather than the node's, for the reason.
fn why_slurms(session: &SessionDir, started: bool, state: &str) -> String {
    if started {
        return "; the node recorded no ending (killed, or out of memory?), so this is Slurm's record"
            .to_owned();
    }
    if state == "CANCELLED" {
        return String::new();
    }
    let log = session.file(super::files::SLURM_LOG);
    let said = last_line(&log)
        .map(|line| format!(" It says: {line}"))
        .unwrap_or_default();
    format!(
        "; the job never reached csa on the node (is the state root on a filesystem the nodes share, and csa installed there? see {}).{said}",
        log.display()
    )
}

/// The last non-empty line of a (small) log, at most 300 characters.
fn last_line(path: &std::path::Path) -> Option<String> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut file = crate::store::files::Options::read().open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(4096))).ok()?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).ok()?;
    let text = String::from_utf8_lossy(&tail);
    let line = text.lines().map(str::trim).rfind(|line| !line.is_empty())?;
    Some(line.chars().take(300).collect())
}
