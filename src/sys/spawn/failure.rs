//! Recording an `execve` failure as the session's result, from the child, before it exits
//! (see [`super`]).

use std::ffi::CString;

/// A result's text around a decimal error number.
pub struct Around {
    /// The text before the decimal `errno`.
    pub before: Vec<u8>,
    /// The text after it.
    pub after: Vec<u8>,
}

/// What a failure of the child's `chdir` or `execve` writes as the session's result,
/// prepared before the fork: the result's text around the error number, one for each, and
/// where it goes (see [`crate::store::record::write_result`]: into the reservation, then
/// renamed without replacing).
pub struct OnExecFailure {
    /// The result when `execve` fails.
    pub exec: Around,
    /// The result when `chdir` to the working directory fails.
    pub chdir: Around,
    /// The reservation of `result.toml` (written in place).
    pub reservation: CString,
    /// `result.toml`.
    pub result: CString,
    /// The session directory (fsynced after the rename).
    pub dir: CString,
    /// The reservation of `stop.toml`, removed once the result is written (nothing is left
    /// to stop).
    pub stop_reservation: CString,
}

/// Writes the result of a failed `execve` or `chdir` (see [`OnExecFailure`]): `text` with
/// `errno` in
/// a buffer on the stack, into the reservation, fsynced, renamed to `result.toml` unless one
/// exists, and the directory fsynced; then removes the reservation of `stop.toml`. Best
/// effort: on any error the session reads as `lost`. Raw system calls only, no allocation,
/// no panic (see [`child`]).
pub(super) fn record_failure(failure: &OnExecFailure, text: &Around, errno: i32) {
    use rustix::fs::{self as rfs, Mode, OFlags};
    let around = text;
    let mut text = [0u8; 4096];
    let mut len = 0;
    let mut digits = [0u8; 12];
    let mut first = digits.len();
    let mut n = errno.unsigned_abs();
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + u8::try_from(n % 10).unwrap_or(0);
        first -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let parts: [&[u8]; 3] = [
        &around.before,
        digits.get(first..).unwrap_or(&[]),
        &around.after,
    ];
    for byte in parts.iter().flat_map(|part| part.iter()) {
        if let Some(slot) = text.get_mut(len) {
            *slot = *byte;
            len += 1;
        }
    }
    let text = text.get(..len).unwrap_or(&[]);
    let Ok(file) = rfs::open(
        failure.reservation.as_c_str(),
        OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    let written = rfs::flock(&file, rfs::FlockOperation::LockExclusive).is_ok()
        && rustix::io::pwrite(&file, text, 0) == Ok(text.len())
        && rfs::ftruncate(&file, text.len() as u64).is_ok()
        && rfs::fsync(&file).is_ok();
    let renamed = written
        && rfs::renameat_with(
            rfs::CWD,
            failure.reservation.as_c_str(),
            rfs::CWD,
            failure.result.as_c_str(),
            rfs::RenameFlags::NOREPLACE,
        )
        .is_ok();
    if renamed {
        if let Ok(dir) = rfs::open(
            failure.dir.as_c_str(),
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            let _ = rfs::fsync(&dir);
        }
        let _ = rfs::unlink(failure.stop_reservation.as_c_str());
    }
}
