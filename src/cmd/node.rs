//! `csa __node`: the Slurm batch script's one command, on the compute node
//! ([`crate::executor::slurm::node`] runs the session's job and records its ending).

use anyhow::Result;

use crate::cmd::args::NodeArgs;

/// Runs `csa __node`. Returns the job's exit code.
pub fn exec(args: &NodeArgs) -> Result<u8> {
    crate::executor::slurm::node::run(
        &args.session_dir,
        &args.session_id,
        crate::tree::stop_for_timeout,
    )
}
