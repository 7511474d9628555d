//! `csa __node` (hidden): the command an executor runs where it placed a job, when that is
//! not under its supervisor — the one command of a Slurm job's batch script, on the
//! compute node ([`crate::executor::on_node`] runs the session's job and records its
//! ending).

use anyhow::Result;

use crate::cmd::args::NodeArgs;

/// Runs `csa __node`. Returns the job's exit code.
pub fn exec(args: &NodeArgs) -> Result<u8> {
    crate::executor::on_node(
        &args.session_dir,
        &args.session_id,
        crate::tree::stop_for_timeout,
    )
}
