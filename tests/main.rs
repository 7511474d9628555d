//! csa's integration tests: one test binary (faster to build) driving the real `csa`
//! binary with a temporary state root per test.

// csa itself signals only through its checked `sys::Pid` (clippy.toml); the tests signal
// processes they started, through helpers that refuse PIDs below 2
// (`support_faults::signal`).
#![allow(clippy::disallowed_methods)]

mod procs;
mod recipes;
mod support;
mod support_everyday;
mod support_faults;

mod after;
mod agents;
mod attach;
mod clean;
mod colour;
mod completion;
mod contract;
mod directives;
mod durations;
mod executors;
mod faults;
mod handles;
mod help_and_man;
mod hostile;
mod kill;
mod leftovers;
mod limits;
mod list;
mod list_columns;
mod logs_follow;
mod owners;
mod plurals;
mod queue;
mod queue_control;
mod rm_rerun;
mod run_wait;
mod shortcuts;
mod show;
mod slurm;
mod status;
mod strangers;
mod tags;
mod timeout;
mod times;
mod tool_defaults;
mod tools;
mod top;
mod top_keys;
mod top_layout;
mod tree;
mod tree_stop;
mod usage_hints;
mod wait_escapes;
mod wait_many;
mod wait_progress;
mod working_dir;
