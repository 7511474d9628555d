//! The C library's memory allocator, tuned for a supervisor: a process that lives as long as
//! its job and mostly sleeps, so every page it dirties counts against every session
//! (BENCHMARKS.md, "Memory").
//!
//! glibc reads its tunables from `GLIBC_TUNABLES` once, when the process starts. `csa run`
//! starts the supervisor with [`TUNED`] in front of the variable (keeping any value the
//! caller had in [`RESTORE`]), and the supervisor puts the caller's environment back first
//! thing ([`restore`]), so the job — and anything else the supervisor starts — sees the
//! environment of `csa run` unchanged. The tunables:
//! - `tcache_count=0`: no per-thread cache of freed chunks. Freed memory goes back to the
//!   arena, where `malloc_trim` can return it; the cache kept a third of a supervisor's heap
//!   (8 of 28 KiB) dirty.
//! - `arena_max=1`: a thread that blocks in `flock` for a queued session uses the main arena
//!   instead of mapping one of its own.
//!
//! Unknown tunables (another C library, an older glibc) are ignored.

use std::ffi::{OsStr, OsString};

/// The tunables of a supervisor.
pub const TUNED: &str = "glibc.malloc.tcache_count=0:glibc.malloc.arena_max=1";

/// Where `csa run` keeps the caller's own `GLIBC_TUNABLES`, if it had one.
pub const RESTORE: &str = "CSA_RESTORE_GLIBC_TUNABLES";

/// The supervisor's additions to the environment `csa run` passes on: `GLIBC_TUNABLES`
/// with [`TUNED`] first, and the caller's value, if any, kept in [`RESTORE`].
pub fn for_supervisor(caller: Option<&OsStr>) -> Vec<(OsString, OsString)> {
    let mut tunables = OsString::from(TUNED);
    let mut vars = Vec::new();
    if let Some(value) = caller {
        tunables.push(":");
        tunables.push(value);
        vars.push((OsString::from(RESTORE), value.to_owned()));
    }
    vars.push((OsString::from("GLIBC_TUNABLES"), tunables));
    vars
}

/// Puts the caller's `GLIBC_TUNABLES` back (or removes it) when `csa run` tuned this
/// process; a supervisor started otherwise is left alone. Call first thing, while the
/// process has a single thread.
pub fn restore() {
    let tuned = std::env::var_os("GLIBC_TUNABLES")
        .is_some_and(|value| value.as_encoded_bytes().starts_with(TUNED.as_bytes()));
    if !tuned {
        return;
    }
    let caller = std::env::var_os(RESTORE);
    crate::sys::set_env_single_threaded("GLIBC_TUNABLES", caller.as_deref());
    crate::sys::set_env_single_threaded(RESTORE, None);
}
