//! The signals that reach `csa __node`, the batch shell of a csa job: which the job gets,
//! and which came from outside csa.
//!
//! Slurm signals a batch job in three ways: the batch shell alone (`--signal=B:SIG@T`,
//! `scancel --batch`, and — under `proctrack/cgroup` — every signal but SIGKILL, which goes
//! only to the direct children of `slurmstepd`); the batch shell's process group
//! (`scancel --full --signal=SIG`, which `session kill` uses); or the whole process tree (the
//! end of a job — time limit, cancellation, node failure — under `proctrack/linuxproc`).
//! A job that the batch shell `exec`s gets each of these once. So that csa's job does too,
//! `csa __node` relays every signal of [`RELAYED`] that arrives to the job's process group —
//! unless the job has it already: a witness process in the group that blocks every signal
//! ([`crate::sys::witness::Witness`]) shows whether the signal was sent to the group or the
//! tree as well. `csa __node` itself survives them all, to record the ending.
//!
//! A signal that arrives without a stop request (`stop.toml`) came from outside csa; the
//! node notes it in `ending.toml`, and the watcher asks Slurm once what happened
//! (docs/slurm.md). With a stop request (`session kill`), the first terminating signal also
//! starts csa's own grace period, after which every process of the job left gets SIGKILL:
//! Slurm has no immediate SIGKILL (`scancel --signal=KILL` waits the cluster's `KillWait`).

use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use rustix::process::Signal;

use crate::interrupt::{self, Interruptible, Received, SURVIVED_SIGNALS};
use crate::stop::{self, Scope};
use crate::store::session::SessionDir;
use crate::store::stop_request as request;
use crate::sys::{self, Pid, witness::Witness};

/// The signals relayed to the job: those the supervisor survives (SIGTERM, SIGINT, SIGHUP,
/// SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM) and SIGCONT, which Slurm sends before SIGTERM when it
/// ends a job.
pub const RELAYED: [i32; 8] = {
    let s = SURVIVED_SIGNALS;
    [s[0], s[1], s[2], s[3], s[4], s[5], s[6], libc::SIGCONT]
};

/// How long csa keeps sending SIGKILL to a stopped job's processes (they may fork meanwhile).
const KILL_LIMIT: Duration = Duration::from_secs(10);

/// The relay of one `csa __node` (see the module documentation).
#[derive(Debug)]
pub struct Relay {
    state: Arc<Mutex<State>>,
    received: Received,
    session: SessionDir,
}

#[derive(Debug)]
struct State {
    /// Signals from outside csa, in the order noticed.
    outside: Vec<i32>,
    /// The grace period of a stop request has begun.
    escalating: bool,
    witness: Option<Witness>,
}

impl Relay {
    /// Installs the handlers for [`RELAYED`], starts the witness and the thread that
    /// relays. Call it from the main thread (the witness lives as long as it), early:
    /// before the handlers are in place, SIGTERM ends `csa __node` without an ending.
    pub fn start(session: &SessionDir) -> Self {
        let received = interrupt::survive();
        // SIGCONT ends nothing: its arrival is only noted, to be relayed.
        let _ = sys::signals::observe(&RELAYED[SURVIVED_SIGNALS.len()..]);
        let witness = match Witness::start() {
            Ok(witness) => {
                if let Some(pid) = Pid::new(witness.pid()) {
                    stop::spare(pid);
                }
                Some(witness)
            }
            Err(err) => {
                crate::note!(
                    "cannot start the signal witness ({err}); every signal will be relayed to the job"
                );
                None
            }
        };
        let relay = Self {
            state: Arc::new(Mutex::new(State {
                outside: Vec::new(),
                escalating: false,
                witness,
            })),
            received,
            session: session.clone(),
        };
        if let Err(err) = relay.listen() {
            crate::note!("cannot relay signals to the job: {err}");
        }
        relay
    }

    /// The termination signals received so far (for the job's start).
    pub fn received(&self) -> &Received {
        &self.received
    }

    /// The signals that came from outside csa (without a stop request), in the order
    /// noticed — those that arrived since the relay last looked included.
    pub fn outside(&self) -> Vec<i32> {
        let arrived = sys::signals::take_arrived();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if request::requested(&self.session).is_none() {
            note_outside(&mut state.outside, arrived);
        }
        state.outside.clone()
    }

    /// Starts the thread that wakes on each signal and relays it.
    fn listen(&self) -> std::io::Result<()> {
        let interruptible = Interruptible::new(self.received.clone())?;
        let state = Arc::clone(&self.state);
        let session = self.session.clone();
        thread::Builder::new()
            .name("relay".into())
            .spawn(move || {
                while let Ok(arrived) = interruptible.next_arrivals() {
                    relay(&session, &state, arrived);
                }
            })
            .map(drop)
    }
}

/// Relays the signals of `arrived` (bit N: signal N), SIGCONT first.
fn relay(session: &SessionDir, state: &Arc<Mutex<State>>, arrived: u64) {
    let mut guard = state.lock().unwrap_or_else(PoisonError::into_inner);
    let stop = request::requested(session);
    for signal in in_order(arrived) {
        let direct = guard
            .witness
            .as_ref()
            .is_some_and(|witness| witness.saw(signal));
        if !direct && let Some(sig) = Signal::from_named_raw(signal) {
            // The whole group, this process included (the handler knows its own signals).
            let _ = Scope::of_current_process().signal(sig, None);
        }
        if let Some(witness) = guard.witness.as_mut()
            && witness.forget(signal).is_err()
        {
            guard.witness = None;
        }
        match &stop {
            None => note_outside(&mut guard.outside, 1 << signal),
            Some(request) if signal != libc::SIGCONT && !guard.escalating => {
                guard.escalating = true;
                let grace = if request.signal == libc::SIGKILL {
                    Duration::ZERO
                } else {
                    Duration::from_millis(request.grace_ms)
                };
                thread::spawn(move || escalate(grace));
            }
            Some(_) => {}
        }
    }
}

/// Adds the signals of `arrived` to `outside`, each once.
fn note_outside(outside: &mut Vec<i32>, arrived: u64) {
    for signal in in_order(arrived) {
        if !outside.contains(&signal) {
            outside.push(signal);
        }
    }
}

/// The signals of a mask, SIGCONT first (Slurm sends it before SIGTERM: a stopped job
/// should wake to get the next one), then by number.
fn in_order(mask: u64) -> impl Iterator<Item = i32> {
    let cont = libc::SIGCONT;
    std::iter::once(cont)
        .chain((1..64).filter(move |&n| n != cont))
        .filter(move |&n| mask & (1 << n) != 0)
}

/// csa's grace period after a stop request's signal, then SIGKILL to every process of the
/// job left (this one aside, which records the ending).
fn escalate(grace: Duration) {
    let me = Pid::current();
    let scope = Scope::of_current_process();
    if !scope.wait_until_empty(Some(me), grace) {
        scope.kill_all(Some(me), KILL_LIMIT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigcont_comes_first() {
        let mask = (1 << 15) | (1 << 18) | (1 << 10);
        assert_eq!(in_order(mask).collect::<Vec<_>>(), vec![18, 10, 15]);
        let mut outside = vec![15];
        note_outside(&mut outside, mask);
        assert_eq!(outside, vec![15, 18, 10]);
    }
}
