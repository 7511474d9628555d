//! The watcher: the supervisor of a Slurm session. It submits the job unless `csa run` did
//! (or waits for `csa run` to record it), waits for its end and returns the result to
//! record; a node's ending Slurm may have caused is explained by asking Slurm once.

use anyhow::{Context as _, Result};

use super::client::{Cancel, Slurm};
use super::files::JobRecord;
use super::outcome::{self, Ending};
use super::{deferred, files, not_run, refused, resume, sharing, submit, verdict, watch};
use crate::interrupt::Received;
use crate::queue::slot::Slot;
use crate::store::record::{self, ResultRecord, SessionRecord, Status};
use crate::store::session::{self, SessionDir};
use crate::store::stop_request as request;

/// The watcher (`csa __supervise --executor slurm`, once the session is admitted — dependencies,
/// queue slot — is passed): submits the job (unless `--resume`, or `csa run` did) with what
/// `submit.toml` keeps ([`deferred`]), waits for its end and
/// returns the result to record (the supervisor applies a stop request and writes it).
/// `waits_for_nothing`: the session had no dependencies and no queue (then `csa run`
/// submitted the job). `slot`, the session's queue slot, is held until the job has ended. `received` is the
/// supervisor's last termination signal: one that arrives before submission means the job
/// is never submitted; later ones are ignored (the job is stopped through `session kill`,
/// not by signalling its watcher).
///
/// Errors: `session.toml` unreadable.
pub fn supervise(
    session: &SessionDir,
    args: &crate::executor::Request,
    waits_for_nothing: bool,
    received: &Received,
    mut slot: Option<Slot>,
) -> Result<ResultRecord> {
    // The slot is held until the job has ended; what waiting for it used is not needed.
    if let Some(slot) = &mut slot {
        slot.job_started();
    }
    // `csa run` submits a job that waits for nothing itself, while this watcher starts.
    let run_submits = !args.resume && waits_for_nothing;
    // What to submit, when this watcher submits the job: what `csa run` kept
    // (`submit.toml`); a resumed watcher whose session has none submits with no options.
    let deferred = if run_submits {
        None
    } else {
        deferred::read(session)
    };
    if deferred.is_none() && !args.resume && !run_submits {
        let reason = format!(
            "cannot read {} ({}); the job was never submitted",
            deferred::SUBMIT_TOML,
            session.path.display()
        );
        return Ok(not_run(session, Status::Failure, None, reason));
    }
    let request = &match deferred {
        Some(deferred) => submit::Request {
            args: deferred.args.into_iter().map(Into::into).collect(),
            csa: deferred.csa.into(),
            ..submit::Request::default()
        },
        None => submit::Request {
            csa: std::env::current_exe().map_or_else(|_| "csa".into(), Into::into),
            ..submit::Request::default()
        },
    };
    let record: SessionRecord = record::read(&session.file(session::SESSION_TOML))?
        .with_context(|| format!("session.toml is missing ({})", session.path.display()))?;
    let (job, ending) = if args.resume {
        match resume::job(session) {
            // Never submitted: the first watcher died before it could.
            (None, None) => submit_job(session, &record, request, received),
            found => found,
        }
    } else if run_submits {
        match awaited(session) {
            Awaited::Job(job) => {
                // A stop that came meanwhile may not have seen the job.
                if request::requested(session).is_some() || received.signal().is_some() {
                    let slurm = Slurm::recorded(job.slurm_conf.as_deref(), job.cluster.as_deref());
                    let _ = slurm.cancel(&job.job_id, Cancel::Plain);
                }
                (Some(job), None)
            }
            // Refused: `run` recorded the result.
            Awaited::Result(result) => return Ok(result),
            // `run` died before it recorded the job: look for it as a new watcher would.
            Awaited::Gone => resume::job(session),
        }
    } else {
        submit_job(session, &record, request, received)
    };
    let ending = match (ending, &job) {
        (Some(ending), _) => ending,
        (None, Some(job)) => {
            let slurm = Slurm::recorded(job.slurm_conf.as_deref(), job.cluster.as_deref());
            watch::until_end(session, job, &slurm, args.resume)
        }
        (None, None) => Ending::Unknown("no Slurm job was recorded".to_owned()),
    };
    let ending = explain(session, ending, job.as_ref());
    if let (Ending::Slurm(info), Some(job)) = (&ending, &job)
        && files::read_node(session).is_none()
        && outcome::launch_failed(info)
    {
        // For the warning of the next `csa run`.
        sharing::unshared(session, &info.nodes, &job.job_id);
    }
    files::not_queued(session);
    drop(slot);
    Ok(outcome::result(session, job.as_ref(), ending))
}

/// Asks Slurm once about a node's ending that Slurm may have caused
/// ([`files::NodeEnding::needs_slurm`]); notes the answer in `watch.log`.
fn explain(session: &SessionDir, ending: Ending, job: Option<&JobRecord>) -> Ending {
    let (Ending::Node(node), Some(job)) = (&ending, job) else {
        return ending;
    };
    if !node.needs_slurm() {
        return ending;
    }
    let slurm = Slurm::recorded(job.slurm_conf.as_deref(), job.cluster.as_deref());
    let (word, calls) = verdict::ask(job, session, &slurm);
    let said = match &word {
        verdict::Word::Said(info) => format!("{} (reason {})", info.state, info.reason),
        verdict::Word::Silent(why) => format!("nothing ({why})"),
    };
    crate::note!(
        "the node of Slurm job {} noted signals {:?} from outside csa and {} out-of-memory kills; Slurm says {said} ({calls} calls)",
        job.job_id,
        node.outside_signals,
        node.oom_kills
    );
    let Ending::Node(node) = ending else {
        unreachable!("matched above")
    };
    Ending::Explained(node, word)
}

/// What `csa run` left once it was done submitting.
enum Awaited {
    /// The job, in `slurm.toml`.
    Job(JobRecord),
    /// The result `run` recorded (Slurm refused the job, or it could not be recorded).
    Result(ResultRecord),
    /// Neither: `run` exited (it is no longer this process's parent) without either.
    Gone,
}

/// Waits until `csa run`, which submits the job while this watcher starts, has recorded the
/// job (`slurm.toml`) or a result, or has exited. Polls (a `stat` or two) with a pause
/// growing from 1 ms to 50 ms: `sbatch` answers within milliseconds.
fn awaited(session: &SessionDir) -> Awaited {
    let parent = rustix::process::getppid();
    let mut pause = crate::backoff::Backoff::new(
        std::time::Duration::from_millis(1),
        std::time::Duration::from_millis(50),
    );
    loop {
        let now = rustix::process::getppid();
        let run_gone = now != parent || now.is_none_or(|pid| pid.as_raw_nonzero().get() == 1);
        if let Ok(Some(job)) = files::read_job(session) {
            return Awaited::Job(job);
        }
        if let Ok(Some(result)) = record::read::<ResultRecord>(&session.file(session::RESULT_TOML))
        {
            return Awaited::Result(result);
        }
        if run_gone {
            return Awaited::Gone;
        }
        pause.sleep();
    }
}

/// Submits the job (for a session that waited for its queue slot or dependencies) and
/// records it. Returns the job (none when it was not submitted) and the ending when it is
/// already known.
fn submit_job(
    session: &SessionDir,
    record: &SessionRecord,
    request: &submit::Request,
    received: &Received,
) -> (Option<JobRecord>, Option<Ending>) {
    let stopped = || request::requested(session).is_some() || received.signal().is_some();
    if stopped() {
        let signal = request::requested(session)
            .map(|request| request.signal)
            .or_else(|| received.signal())
            .unwrap_or(15);
        let reason = format!(
            "stopped before it was submitted to Slurm; {}",
            outcome::NEVER_STARTED
        );
        let result = not_run(session, Status::Signal, Some(signal), reason);
        return (None, Some(Ending::Watcher(result)));
    }
    let slurm = Slurm::from_env();
    let job = match submit::submit(session, record, request, &slurm) {
        Ok(job) => job,
        Err(message) => {
            let result = refused(session, &format!("{message:#}"));
            return (None, Some(Ending::Watcher(result)));
        }
    };
    if let Err(err) = files::record_job(session, &job) {
        let _ = slurm.cancel(&job.job_id, Cancel::Plain);
        let reason = format!(
            "cannot record Slurm job {} ({err:#}); the job was cancelled",
            job.job_id
        );
        let result = not_run(session, Status::Failure, None, reason);
        return (Some(job), Some(Ending::Watcher(result)));
    }
    if stopped() {
        // A stop that raced the submission: `session kill` may not have seen the job yet.
        let _ = slurm.cancel(&job.job_id, Cancel::Plain);
    }
    (Some(job), None)
}
