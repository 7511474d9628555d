//! The spool files as a look sees them: their size and modification time, the one way csa
//! tells whether a job has written (the idle timeout, `top`'s "quiet" column).

use std::time::SystemTime;

use super::{STDERR_LOG, STDOUT_LOG, SessionDir};

/// A spool file as last seen; `None` when it is missing or not a regular file.
pub type SpoolStamp = Option<Stamp>;

/// A spool file's size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Its size in bytes.
    pub len: u64,
    /// When it was last written.
    pub modified: SystemTime,
}

/// The stamp of the file `name` of `session` (not following a symbolic link at its name or on the way to it).
pub fn spool_stamp(session: &SessionDir, name: &str) -> SpoolStamp {
    let meta = crate::store::files::metadata(&session.file(name)).ok()?;
    if !meta.is_file() {
        return None;
    }
    Some(Stamp {
        len: meta.len(),
        modified: meta.modified().ok()?,
    })
}

/// The stamps of `stdout.log` and `stderr.log`, in that order.
pub fn spool_stamps(session: &SessionDir) -> [SpoolStamp; 2] {
    [
        spool_stamp(session, STDOUT_LOG),
        spool_stamp(session, STDERR_LOG),
    ]
}
