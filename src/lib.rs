//! csa: run long jobs in the background and wait for, follow and stop them — as a library.
//!
//! The binary (`src/main.rs`) only parses the command line and dispatches; everything it
//! does is here, in layers whose imports point only down (docs/internals/architecture.md):
//!
//! - the command line: [`cli`] (clap's grammar, dispatch, hints, completion);
//! - the commands: [`cmd`] (one module per subcommand: arguments → a domain request →
//!   the domain → print);
//! - the domain: sessions and their [`store`], [`liveness`], the supervisor
//!   ([`supervise`]), [`admission`] (dependencies, queue slots), [`queue`]s, [`tree`]s,
//!   stopping ([`stop`]), waiting ([`wait`]), [`executor`]s, [`tool`]s;
//! - the system: [`sys`] (every raw system call), [`exit`] codes, [`report`] (the one
//!   writer to standard error), [`term`], [`values`].
//!
//! `.ci/layers` checks the layering: an import from a lower layer to a higher one, or a
//! cycle between top-level modules, fails CI.

pub mod admission;
pub mod backoff;
pub mod cli;
pub mod cmd;
pub mod directive;
pub mod executor;
pub mod exit;
pub mod fleet;
pub mod heal;
pub mod interrupt;
pub mod liveness;
pub mod queue;
pub mod report;
pub mod run;
pub mod stop;
pub mod store;
pub mod supervise;
pub mod sys;
pub mod tail;
pub mod term;
pub mod tool;
pub mod tree;
pub mod values;
pub mod wait;
