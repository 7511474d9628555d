//! The watcher's wait for a Slurm job to end, on the submitting machine — without
//! hammering the controller.
//!
//! **The node's record first.** `csa __node` writes `node.toml` when the job starts and
//! holds `node.lock` for its whole life; it writes `ending.toml` before it exits. Once the
//! job has started, the watcher blocks in `flock` on `node.lock` (in a thread, as `wait`
//! blocks on the session's `lock`), so it learns of the end the moment the node's process
//! is gone — no inotify instance per session (the per-user limit is 128), no polling. While
//! the job is pending, it looks for `node.toml` with a poll that backs off from 20 ms to
//! 1 s (a `stat`, no Slurm call); `slurm.log` without `node.toml` 2 s later (Slurm started
//! the batch script but csa never ran on the node) is a reason to ask Slurm at once.
//!
//! **Slurm only to catch what the node could not record.** The watcher asks Slurm
//! (`scontrol show job`, one call) only: 10 s after submission and then every 60 s while the
//! job is pending; every 60 s while it runs on another host (a lock on a network
//! filesystem may not reach across hosts: when `node.lock` comes free while Slurm still
//! runs the job, the watcher stops trusting it and polls `ending.toml` every second); never
//! while it runs on this host (there the lock is exact); and at once, then backed off from
//! 250 ms to 60 s, when there is reason to think the job ended without a record (the node's
//! process is gone without `ending.toml`, a stop was requested while pending, a resumed
//! watcher). None once `ending.toml` exists. "Slurm unreachable" is retried every 60 s and
//! never makes the session `lost`: only a job that neither the node nor Slurm knows is.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use super::client::{Query, Slurm, Unreachable};
use super::files::{self, JobRecord, NodeEnding, NodeRecord};
use super::identity;
use super::outcome::Ending;
use crate::store::session::SessionDir;

/// While pending: when the first look at Slurm is due after submission.
const PENDING_FIRST_QUERY: Duration = Duration::from_secs(10);
/// The longest interval between two Slurm calls for one session; the usual one.
const QUERY_INTERVAL: Duration = Duration::from_secs(60);
/// The first delay of the back-off when an ending without a record is suspected.
const URGENT_FIRST: Duration = Duration::from_millis(250);
/// While pending: the first and the longest pause between two looks for `node.toml`.
const PENDING_POLL: (Duration, Duration) = (Duration::from_millis(20), Duration::from_secs(1));
/// How long after Slurm started the batch script (`slurm.log` appeared) `node.toml` may
/// take to appear before the watcher asks Slurm what happened.
const LAUNCH_GRACE: Duration = Duration::from_secs(2);
/// While running with a trusted `node.lock`: a safety net for `ending.toml`.
const TRUSTED_POLL: Duration = Duration::from_secs(5);
/// While running without a trusted `node.lock` (another host): the look for `ending.toml`.
const UNTRUSTED_POLL: Duration = Duration::from_secs(1);
/// How long `ending.toml` may lag behind the end of the node's process (or behind Slurm's
/// record of the end): a network filesystem shows another host's new file late.
const ENDING_LAG_LOCAL: Duration = Duration::from_millis(500);
/// See [`ENDING_LAG_LOCAL`]; when the node runs on another host.
const ENDING_LAG_REMOTE: Duration = Duration::from_secs(5);

enum Event {
    /// `node.lock` could be taken: the node's process is gone (or the lock does not reach
    /// across hosts).
    NodeGone,
    /// Slurm's answer to a query.
    Answer(Result<Query, Unreachable>),
}

/// The state of one wait.
struct Watch<'a> {
    session: &'a SessionDir,
    job: &'a JobRecord,
    slurm: &'a Slurm,
    tx: Sender<Event>,
    rx: Receiver<Event>,
    /// `node.toml`, once the job has started.
    node: Option<NodeRecord>,
    /// The node runs on this host.
    same_host: bool,
    /// `node.lock` is believed to tell when the node's process ends.
    trusted_lock: bool,
    /// The node's process is gone (per `node.lock`).
    node_gone: bool,
    /// When the next Slurm call is due (`None`: none planned).
    next_query: Option<Instant>,
    in_flight: bool,
    /// The back-off of suspected endings, when one is suspected.
    urgent: Option<Duration>,
    poll: Duration,
    stop_seen: bool,
    unreachable_noted: bool,
    /// When `slurm.log` was first seen (the batch script started).
    launched: Option<Instant>,
    launch_suspected: bool,
    /// The job's new name (`scontrol update name=`) was noted.
    renamed_noted: bool,
}

/// Waits until the job of `job` ends and says how the watcher learned it. `resumed`: a
/// new watcher taking over (Slurm is asked at once). Never fails: every path ends in an
/// [`Ending`] (Slurm unreachable is retried for as long as it takes).
pub fn until_end(session: &SessionDir, job: &JobRecord, slurm: &Slurm, resumed: bool) -> Ending {
    let (tx, rx) = mpsc::channel();
    let now = Instant::now();
    let mut watch = Watch {
        session,
        job,
        slurm,
        tx,
        rx,
        node: None,
        same_host: false,
        trusted_lock: true,
        node_gone: false,
        next_query: Some(now + PENDING_FIRST_QUERY),
        in_flight: false,
        urgent: None,
        poll: PENDING_POLL.0,
        stop_seen: false,
        unreachable_noted: false,
        launched: None,
        launch_suspected: false,
        renamed_noted: false,
    };
    if resumed {
        watch.suspect();
    }
    watch.run()
}

impl Watch<'_> {
    fn run(&mut self) -> Ending {
        loop {
            if let Some(ending) = files::read_ending(self.session) {
                return Ending::Node(ending);
            }
            if self.node.is_none()
                && let Some(node) = files::read_node(self.session)
            {
                self.started(node);
            }
            if self.node.is_none() {
                self.check_launch();
            }
            if !self.stop_seen
                && crate::store::files::exists(
                    &self.session.file(crate::store::stop_request::STOP_TOML),
                )
            {
                // `session kill` cancels the job itself; learn the outcome soon.
                self.stop_seen = true;
                if self.node.is_none() {
                    self.suspect();
                }
            }
            let now = Instant::now();
            if !self.in_flight && self.next_query.is_some_and(|at| at <= now) {
                self.ask();
            }
            let mut wait = self.poll;
            if !self.in_flight
                && let Some(at) = self.next_query
            {
                wait = wait.min(at.saturating_duration_since(now));
            }
            match self.rx.recv_timeout(wait) {
                Ok(Event::NodeGone) => {
                    self.node_gone = true;
                    if let Some(ending) = self.ending_within(self.lag()) {
                        return Ending::Node(ending);
                    }
                    crate::note!(
                        "the node's process of Slurm job {} is gone without recording an ending; asking Slurm",
                        self.job.job_id
                    );
                    self.suspect();
                }
                Ok(Event::Answer(answer)) => {
                    self.in_flight = false;
                    if let Some(ending) = self.answered(answer) {
                        return ending;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    if self.node.is_none() {
                        self.poll = (self.poll * 3 / 2).min(PENDING_POLL.1);
                    }
                }
            }
        }
    }

    /// The job started (`node.toml` appeared): block on `node.lock` in a thread.
    fn started(&mut self, node: NodeRecord) {
        // No longer waiting for Slurm to start it.
        let at = crate::store::record::parse_timestamp(&node.started_at)
            .unwrap_or_else(std::time::SystemTime::now);
        crate::store::record::mark_started(self.session, at);
        if let Some(name) = &node.node {
            // It sees the state root.
            super::sharing::shared(self.session, name);
        }
        self.same_host = node.host == files::host_name();
        self.node = Some(node);
        self.poll = TRUSTED_POLL;
        if self.urgent.is_none() {
            self.next_query = if self.same_host {
                None
            } else {
                Some(crate::backoff::deadline(QUERY_INTERVAL))
            };
        }
        let path = self.session.file(files::NODE_LOCK);
        let tx = self.tx.clone();
        thread::spawn(move || {
            // A missing lock file tells nothing: treat it as a gone node and let Slurm say.
            if let Ok(lock) = crate::store::files::Options::read().open(&path) {
                let _ = lock.lock_shared();
            }
            let _ = tx.send(Event::NodeGone);
        });
    }

    /// Slurm creates `slurm.log` when it starts the batch script; `csa __node` writes
    /// `node.toml` moments later. A log without `node.toml` after [`LAUNCH_GRACE`] means the
    /// job did not reach csa on the node (csa missing there, the state root not shared):
    /// ask Slurm rather than wait for the next planned call.
    fn check_launch(&mut self) {
        match self.launched {
            None => {
                if crate::store::files::exists(&self.session.file(files::SLURM_LOG)) {
                    self.launched = Some(Instant::now());
                }
            }
            Some(at) if !self.launch_suspected && at.elapsed() >= LAUNCH_GRACE => {
                self.launch_suspected = true;
                self.suspect();
            }
            Some(_) => {}
        }
    }

    /// An ending without a record is suspected: ask Slurm now, then back off.
    fn suspect(&mut self) {
        let delay = self.urgent.map_or(Duration::ZERO, |last| {
            (last * 2).max(URGENT_FIRST).min(QUERY_INTERVAL)
        });
        self.urgent = Some(delay);
        self.next_query = Some(crate::backoff::deadline(delay));
    }

    /// Asks Slurm about the job, in a thread (an unreachable controller makes `scontrol`
    /// take 20 s or more to fail, during which the node's ending must still be seen).
    fn ask(&mut self) {
        self.in_flight = true;
        self.next_query = None;
        let tx = self.tx.clone();
        let slurm = self.slurm.clone();
        let id = self.job.job_id.clone();
        thread::spawn(move || {
            let _ = tx.send(Event::Answer(slurm.show_job(&id)));
        });
    }

    /// Handles Slurm's answer: the ending, or when to ask next.
    fn answered(&mut self, answer: Result<Query, Unreachable>) -> Option<Ending> {
        let info = match answer {
            Err(Unreachable(why)) => {
                if !self.unreachable_noted {
                    crate::note!(
                        "cannot ask Slurm about job {} (retrying every {} s; the session is not lost): {why}",
                        self.job.job_id,
                        QUERY_INTERVAL.as_secs()
                    );
                    self.unreachable_noted = true;
                }
                self.plan_next();
                return None;
            }
            Ok(Query::Known(info))
                if identity::proven(self.job, self.session, &info, self.slurm) =>
            {
                if info.name != self.job.job_name && !self.renamed_noted {
                    crate::note!(
                        "Slurm job {} is named {} now, not {}: renamed, and still this session's job",
                        self.job.job_id,
                        info.name,
                        self.job.job_name
                    );
                    self.renamed_noted = true;
                }
                info
            }
            Ok(other) => return Some(self.unknown(other)),
        };
        if self.unreachable_noted {
            crate::note!("Slurm answers again about job {}", self.job.job_id);
            self.unreachable_noted = false;
        }
        if info.has_ended() {
            return Some(
                self.ending_within(self.lag())
                    .map_or(Ending::Slurm(info), Ending::Node),
            );
        }
        if info.is_pending() && self.node.is_none() {
            // For `list`, `result` and `wait`: why it has not started.
            super::pending::record(self.session, &info.reason);
        }
        if self.node_gone && !self.same_host && self.trusted_lock {
            crate::note!(
                "node.lock came free while Slurm still runs job {}: locks do not reach across hosts here; polling ending.toml",
                self.job.job_id
            );
            self.trusted_lock = false;
            self.poll = UNTRUSTED_POLL;
        }
        // Still suspect: a node gone on this host (Slurm has yet to notice), or a stop
        // requested while pending (`session kill` is cancelling it).
        let suspect =
            (self.node_gone && self.trusted_lock) || (self.stop_seen && self.node.is_none());
        if !suspect {
            self.urgent = None;
        }
        self.plan_next();
        None
    }

    /// Plans the next Slurm call after an answer that did not end the wait.
    fn plan_next(&mut self) {
        if self.urgent.is_some() {
            self.suspect();
            return;
        }
        let exact = self.node.is_some() && self.same_host && self.trusted_lock;
        self.next_query = if exact {
            None
        } else {
            Some(crate::backoff::deadline(QUERY_INTERVAL))
        };
    }

    /// Slurm does not know the job (or the ID now names another job).
    fn unknown(&self, answer: Query) -> Ending {
        if let Some(ending) = self.ending_within(self.lag()) {
            return Ending::Node(ending);
        }
        if let Some(info) = self.slurm.accounting(&self.job.job_id)
            && info.name == self.job.job_name
            && info.has_ended()
        {
            return Ending::Slurm(info);
        }
        let id = &self.job.job_id;
        Ending::Unknown(match answer {
            Query::Known(other) => format!(
                "Slurm job {id} now names another job ({}): the controller lost its state, and the node recorded no ending",
                other.name
            ),
            Query::Unknown => {
                format!("Slurm no longer knows job {id}, and the node recorded no ending")
            }
        })
    }

    /// `ending.toml`, waiting up to `lag` for it to show.
    fn ending_within(&self, lag: Duration) -> Option<NodeEnding> {
        let deadline = crate::backoff::deadline(lag);
        loop {
            if let Some(ending) = files::read_ending(self.session) {
                return Some(ending);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn lag(&self) -> Duration {
        if self.node.is_some() && !self.same_host {
            ENDING_LAG_REMOTE
        } else {
            ENDING_LAG_LOCAL
        }
    }
}
