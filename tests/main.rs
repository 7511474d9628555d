//! csa's integration tests: one test binary (faster to build) driving the real `csa`
//! binary with a temporary state root per test.

mod support;
mod support_faults;

mod faults;
mod hostile;
mod run_wait;
