//! `csa __supervise` (hidden): the supervisor `csa run` re-executes. Its command line
//! becomes the supervisor's request ([`crate::supervise::Request`]); everything else is
//! [`crate::supervise`]'s.

use anyhow::Result;

use crate::cmd::args::SuperviseArgs;

/// Runs the supervisor and returns the job's exit code (see [`crate::supervise::main`]).
pub fn exec(args: SuperviseArgs) -> Result<u8> {
    let SuperviseArgs {
        session_id,
        session_dir,
        lock_fd,
        timeout_ms,
        idle_timeout_ms,
        stdin_from,
        admission: gate,
        executor,
        argv_fd,
        argv,
    } = args;
    crate::supervise::main(&crate::supervise::Request {
        session_id,
        session_dir,
        lock_fd,
        limits: crate::executor::Limits::from_ms(timeout_ms, idle_timeout_ms),
        stdin_from,
        admission: crate::admission::Request {
            after: gate.after,
            queue: gate.queue,
            slots_default: gate.slots_default,
            queue_fd: gate.queue_fd,
            queue_seq: gate.queue_seq,
        },
        executor: crate::executor::Request {
            executor: executor.executor,
            resume: executor.resume,
        },
        argv_fd,
        argv,
    })
}
