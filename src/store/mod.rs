//! The store: the state root and everything csa keeps under it for a session — the root
//! itself, session IDs, handles and names, the layout of a session directory
//! ([`session`]); the TOML records and how they are read and written ([`record`]); stop
//! requests (`stop.toml`, [`stop_request`]); tags ([`tags`]); and the one safe way to open,
//! read, list, create, rename and remove anything under the root ([`files`]), with the
//! state root's ownership check ([`files::root`]).

pub mod files;
pub mod record;
pub mod session;
pub mod stop_request;
pub mod tags;
