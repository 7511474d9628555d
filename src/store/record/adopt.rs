//! Recovering a result whose rename to `result.toml` did not reach the disk.
//!
//! A result is written into the session's reservation, `.result.toml.reserve`, fsynced, and
//! renamed to `result.toml`; the supervisor then lets go of its lock, and only then can a
//! waiter see the result. The directory is not fsynced after the rename (one disk flush
//! less between a job's end and its waiter's return, BENCHMARKS.md, "Completion
//! lateness"), so after a crash the rename may be undone — but the text is durable in the
//! reservation. The next look at a session whose lock is free and which has no
//! `result.toml` adopts that text ([`adopt_reserved_result`]) before it would record the
//! session as `lost`. So a result a waiter has seen is never contradicted later: it is on
//! disk, under one name or the other, and nothing else is ever recorded in its place.

use std::io::{self, Read as _};
use std::os::unix::fs::MetadataExt as _;

use anyhow::Result;

use super::write::{RESERVED_RESULT_BYTES, reservation_name};
use super::{ResultRecord, read};
use crate::store::files;
use crate::store::session::{self, SessionDir};

/// The result the session's reservation holds complete, renamed into place as
/// `result.toml` (with the directory fsynced); `None` when there is no reservation or it
/// holds no complete result (never written, or cut short by a crash). Call only when the
/// session's supervisor is gone. Writers of the result take turns with this through the
/// reservation's `flock`; when `result.toml` appears meanwhile, that is returned.
///
/// A text counts as complete when it parses as the session's result and serializes back to
/// exactly the same bytes: a text cut short loses its trailing fields or lines, and a
/// reservation never written holds zeros.
///
/// Errors: `result.toml` exists but is malformed.
pub fn adopt_reserved_result(session: &SessionDir) -> Result<Option<ResultRecord>> {
    let reservation = session.file(&reservation_name(session::RESULT_TOML));
    let target = session.file(session::RESULT_TOML);
    // Only a regular file of ours, never followed: anything else is not a reservation.
    let Ok(mut file) = files::Options::read_write().open(&reservation) else {
        return read(&target);
    };
    let Ok(ours) = file.metadata() else {
        return Ok(None);
    };
    if file.lock().is_err() {
        return Ok(None);
    }
    if let Some(result) = read::<ResultRecord>(&target)? {
        return Ok(Some(result));
    }
    // A writer before us may have renamed it while we waited for the lock.
    match files::metadata(&reservation) {
        Ok(now) if now.dev() == ours.dev() && now.ino() == ours.ino() => {}
        _ => return read(&target),
    }
    let mut text = String::new();
    let read_whole = (&mut file)
        .take(RESERVED_RESULT_BYTES + 1)
        .read_to_string(&mut text);
    if read_whole.is_err() {
        return Ok(None);
    }
    let Ok(result) = toml::from_str::<ResultRecord>(&text) else {
        return Ok(None);
    };
    let complete = result.id == session.id_string()
        && toml::to_string(&result).is_ok_and(|again| again == text);
    if !complete {
        return Ok(None);
    }
    match files::rename_noreplace(&reservation, &target) {
        Ok(true) => {
            files::sync_dir(&session.path);
            Ok(Some(result))
        }
        Ok(false) => read(&target),
        Err(err) if err.kind() == io::ErrorKind::NotFound => read(&target),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::record::{Status, reserve_result, write_result};

    fn session(dir: &std::path::Path) -> SessionDir {
        SessionDir::sample(dir)
    }

    fn sample(id: &str) -> ResultRecord {
        ResultRecord {
            id: id.into(),
            status: Status::Success,
            exit_code: 0,
            signal: None,
            started_at: Some("2026-11-21T10:00:00.123Z".into()),
            finished_at: "2026-11-21T10:00:01.456Z".into(),
            duration_ms: 1333,
            synthetic: false,
            reason: Some("why".into()),
            leftover_processes: Some(0),
        }
    }

    #[test]
    fn a_complete_reservation_is_adopted_and_a_partial_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let session = session(dir.path());
        let reservation = dir.path().join(".result.toml.reserve");
        // Never written: zeros.
        reserve_result(&session).unwrap();
        assert!(adopt_reserved_result(&session).unwrap().is_none());
        // Cut short after a line: parses, but does not serialize back the same.
        let text = toml::to_string(&sample(&session.id_string())).unwrap();
        let cut = &text[..text.find("synthetic").unwrap()];
        std::fs::write(&reservation, cut).unwrap();
        assert!(adopt_reserved_result(&session).unwrap().is_none());
        // Another session's result.
        std::fs::write(&reservation, toml::to_string(&sample("X")).unwrap()).unwrap();
        assert!(adopt_reserved_result(&session).unwrap().is_none());
        // Complete: adopted, renamed into place, and stable.
        std::fs::write(&reservation, &text).unwrap();
        let adopted = adopt_reserved_result(&session).unwrap().unwrap();
        assert_eq!(adopted, sample(&session.id_string()));
        assert!(!reservation.exists());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("result.toml")).unwrap(),
            text
        );
        assert_eq!(
            adopt_reserved_result(&session).unwrap(),
            Some(adopted.clone())
        );
        // A later writer finds it recorded and writes nothing.
        let mut other = sample(&session.id_string());
        other.status = Status::Lost;
        assert!(!write_result(&session, &other).unwrap());
    }
}
