//! csa's integration tests: one test binary (faster to build) driving the real `csa`
//! binary with a temporary state root per test.

mod procs;
mod support;
mod support_everyday;
mod support_faults;

mod attach;
mod clean;
mod contract;
mod faults;
mod hostile;
mod kill;
mod list;
mod run_wait;
mod tags;
mod timeout;
mod tools;
mod wait_many;
