//! The session directory as section 1 of the contract lays it out: files, modes, the
//! supervisor's process group and session, and a killed session's `result.toml`.

use crate::support::{
    Csa, HANG, assert_record, assert_success, output_with_input, output_within, started_id,
};

/// Fields 5, 6 and 22 of `/proc/<pid>/stat`: process group, session, start time.
fn proc_identity(pid: i32) -> (i32, i32, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    // `fields[0]` is field 3.
    (
        fields[2].parse().unwrap(),
        fields[3].parse().unwrap(),
        fields[19].parse().unwrap(),
    )
}

#[test]
fn the_session_directory_is_laid_out_as_section_1_says() {
    let csa = Csa::new();
    // A root csa creates itself, so its modes are csa's.
    let root = csa.state.path().join("new-root");
    let out = output_with_input(
        csa.cmd()
            .env("CSA_STATE_DIR", &root)
            .args(["run", "--name", "layout", "--timeout", "10m"]),
        b"read line; echo \"[$line]\"; sleep 600\n",
    );
    let id = started_id(&out);
    let dir = root.join("sessions").join(&id);

    // daemon.pid: "<pid> <starttime>\n", the supervisor leading the job's group and session.
    let pid_file = std::fs::read_to_string(dir.join("daemon.pid")).unwrap();
    assert!(
        pid_file.ends_with('\n') && pid_file.matches(' ').count() == 1,
        "{pid_file:?}"
    );
    let (pid, start) = pid_file.trim_end().split_once(' ').unwrap();
    let (pid, start): (i32, u64) = (pid.parse().unwrap(), start.parse().unwrap());
    // `run` does not wait for the supervisor's first step (`setsid`): it may take a moment
    // to lead its group and session (docs/format.md, `daemon.pid`).
    crate::support::wait_for(
        std::time::Duration::from_secs(30),
        "the supervisor to lead its group",
        || proc_identity(pid) == (pid, pid, start),
    );
    crate::support::wait_for(std::time::Duration::from_secs(30), "the job", || {
        std::fs::read_to_string(dir.join("stdout.log")).is_ok_and(|s| s.contains("[]"))
    });

    // session.toml: the keys of docs/format.md with their types.
    let session: toml::Table = std::fs::read_to_string(dir.join("session.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(session["id"].as_str(), Some(id.as_str()));
    assert!(
        session["argv"]
            .as_array()
            .unwrap()
            .iter()
            .all(toml::Value::is_str)
    );
    assert_eq!(session["tool"].as_str(), Some("sh"));
    assert!(session["cwd"].as_str().unwrap().starts_with('/'));
    assert_eq!(session["name"].as_str(), Some("layout"));
    assert_eq!(session["timeout_ms"].as_integer(), Some(600_000));
    let created = session["created_at"].as_str().unwrap();
    assert!(
        humantime::parse_rfc3339(created).is_ok() && created.ends_with('Z'),
        "{created}"
    );
    assert_eq!(
        session["csa_version"].as_str(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        std::fs::read(dir.join("prompt.txt")).unwrap(),
        b"read line; echo \"[$line]\"; sleep 600\n"
    );
    assert_eq!(std::fs::metadata(dir.join("lock")).unwrap().len(), 0);

    let kill = output_within(
        csa.cmd().env("CSA_STATE_DIR", &root).args([
            "session",
            "kill",
            "--session",
            &id,
            "--grace",
            "0",
        ]),
        HANG,
    );
    assert_success(&kill, "csa session kill");

    assert_killed_result(&dir, &id);
    assert_private_layout(&root, &dir);
}

/// `result.toml` of a session killed with SIGKILL by `session kill --grace 0`: the keys of docs/format.md with
/// their types.
fn assert_killed_result(dir: &std::path::Path, id: &str) {
    let result: toml::Table = std::fs::read_to_string(dir.join("result.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(result["id"].as_str(), Some(id));
    assert_record(&result, "status = 'signal', exit_code = 137, signal = 9");
    for key in ["started_at", "finished_at"] {
        assert!(
            humantime::parse_rfc3339(result[key].as_str().unwrap()).is_ok(),
            "{key}"
        );
    }
    assert!(result["duration_ms"].as_integer().unwrap() >= 0);
    assert!(result["synthetic"].is_bool());
    assert!(result["reason"].is_str());
}

/// Directories 0700, files 0600, nothing else left behind.
fn assert_private_layout(root: &std::path::Path, dir: &std::path::Path) {
    use std::os::unix::fs::MetadataExt as _;
    for path in [root, &root.join("sessions"), dir] {
        assert_eq!(
            std::fs::metadata(path).unwrap().mode() & 0o777,
            0o700,
            "{}",
            path.display()
        );
    }
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", entry.file_name().display());
        names.push(entry.file_name().into_string().unwrap());
    }
    names.sort();
    assert_eq!(
        names,
        [
            "daemon.pid",
            "lock",
            "prompt.txt",
            "result.toml",
            "session.toml",
            "stderr.log",
            "stdout.log",
            "stop.toml"
        ]
    );
}
