//! `csa run` (see [`crate::run`]).

pub use crate::run::exec;
