//! Reading records: malformed and missing files, errors that never echo the content,
//! timestamps.

use super::*;

#[test]
fn malformed_and_missing_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("result.toml");
    assert!(read::<ResultRecord>(&path).unwrap().is_none());
    std::fs::write(&path, "status = \"succ").unwrap();
    assert!(read::<ResultRecord>(&path).is_err());
    std::fs::write(&path, "").unwrap();
    assert!(read::<ResultRecord>(&path).is_err());
}

#[test]
fn parse_errors_never_echo_the_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("result.toml");
    std::fs::write(&path, "id = \"x\"\nstatus = \"root:x:0:0:secret\"\n").unwrap();
    let err = read::<ResultRecord>(&path).unwrap_err().to_string();
    assert!(err.starts_with("malformed state file: "), "{err}");
    assert!(!err.contains("secret"), "{err}");
}

#[test]
fn timestamps_round_trip() {
    let now = SystemTime::now();
    let text = timestamp(now);
    assert!(text.ends_with('Z'));
    let back = parse_timestamp(&text).unwrap();
    assert!(millis_between(back, now) < 2);
}
