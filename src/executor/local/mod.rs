//! The local executor: the job runs as a child of its supervisor on this machine.

mod job;
mod leftovers;

pub use job::{TIMEOUT_GRACE, run_job};
pub use leftovers::stop_finished;
