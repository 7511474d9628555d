//! `csa run` + `csa session wait`: the core round trip on real processes.

mod ids;
mod job;
mod round_trip;
mod supervisor;
