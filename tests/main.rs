//! csa's integration tests: one test binary (faster to build) driving the real `csa`
//! binary with a temporary state root per test.

mod procs;
mod support;

mod attach;
mod kill;
mod run_wait;
mod timeout;
