use std::fs;

use super::*;
use crate::store::record::{Status, read};

fn sample() -> ResultRecord {
    crate::store::record::sample_result(Status::Signal, 143, Some(15))
}

fn session(dir: &Path) -> SessionDir {
    SessionDir::sample(dir)
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn result_is_written_exactly_once_with_and_without_a_reservation() {
    for reserved in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let session = session(dir.path());
        if reserved {
            reserve_result(&session).unwrap();
            assert!(reserve_result(&session).is_err(), "reserved twice");
        }
        assert!(write_result(&session, &sample()).unwrap());
        let mut other = sample();
        other.status = Status::Lost;
        assert!(!write_result(&session, &other).unwrap());
        let back: ResultRecord = read(&dir.path().join("result.toml")).unwrap().unwrap();
        assert_eq!(back, sample());
        let text = fs::read_to_string(dir.path().join("result.toml")).unwrap();
        assert_eq!(
            text,
            toml::to_string(&sample()).unwrap(),
            "trimmed to its length"
        );
        assert_eq!(names(dir.path()), ["result.toml"], "a file left behind");
    }
}

#[test]
fn concurrent_writers_record_one_result() {
    for _ in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let session = session(dir.path());
        reserve_result(&session).unwrap();
        let written: Vec<(u8, bool)> = std::thread::scope(|scope| {
            let writers: Vec<_> = (0..4u8)
                .map(|n| {
                    let session = &session;
                    scope.spawn(move || {
                        let mut result = sample();
                        result.exit_code = n;
                        (n, write_result(session, &result).unwrap())
                    })
                })
                .collect();
            writers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let winners: Vec<u8> = written.iter().filter(|w| w.1).map(|w| w.0).collect();
        assert_eq!(winners.len(), 1, "{written:?}");
        let back: ResultRecord = read(&dir.path().join("result.toml")).unwrap().unwrap();
        assert_eq!(back.exit_code, winners[0]);
    }
}

#[test]
fn a_long_reason_is_shortened_to_fit_the_reservation() {
    let mut long = sample();
    long.reason = Some("é".repeat(5000));
    let text = result_text(&long).unwrap();
    assert!(text.len() as u64 <= RESERVED_RESULT_BYTES, "{}", text.len());
    let back: ResultRecord = toml::from_str(&text).unwrap();
    assert!(back.reason.unwrap().ends_with('…'));
}

/// Issue 17, item 9: once the reason was down to `…`, a result whose other fields did not
/// fit looped forever. Now every round shortens or drops the reason, and the other text
/// fields are bounded, so it ends and fits.
#[test]
fn a_result_that_cannot_fit_through_its_reason_alone_still_ends_and_fits() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut cases = Vec::new();
        for reason in [None, Some("…".to_owned()), Some("x".repeat(10_000))] {
            let mut huge = sample();
            huge.id = "I".repeat(5000);
            huge.started_at = Some("S".repeat(5000));
            huge.finished_at = "é".repeat(5000);
            huge.reason = reason;
            cases.push(result_text(&huge).map(|text| text.len()));
        }
        let _ = tx.send(cases);
    });
    let lengths = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("result_text did not end");
    for len in lengths {
        assert!(len.unwrap() as u64 <= RESERVED_RESULT_BYTES);
    }
}

#[test]
fn a_reservation_is_written_in_place_and_renamed() {
    let dir = tempfile::tempdir().unwrap();
    reserve(dir.path(), "daemon.pid", 64).unwrap();
    assert_eq!(names(dir.path()), [".daemon.pid.reserve"]);
    assert!(write_reserved(dir.path(), "daemon.pid", b"12 34\n", false).unwrap());
    assert_eq!(names(dir.path()), ["daemon.pid"]);
    assert_eq!(fs::read(dir.path().join("daemon.pid")).unwrap(), b"12 34\n");
}
