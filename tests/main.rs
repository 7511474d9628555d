//! csa's integration tests: one test binary (faster to build) driving the real `csa`
//! binary with a temporary state root per test.

mod procs;
mod recipes;
mod support;
mod support_everyday;
mod support_faults;

mod after;
mod agents;
mod attach;
mod clean;
mod completion;
mod contract;
mod directives;
mod faults;
mod handles;
mod help_and_man;
mod hostile;
mod kill;
mod leftovers;
mod list;
mod queue;
mod run_wait;
mod slurm;
mod tags;
mod timeout;
mod tool_defaults;
mod tools;
mod tree;
mod usage_hints;
mod wait_many;
