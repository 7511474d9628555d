//! The contract's output formats: `run --json`, the `SESSION_STARTED` directive, and help and
//! version printed as usual.

use crate::support::{Csa, assert_exit, assert_success, directive, is_ulid, stderr};

#[test]
fn run_json_prints_id_pid_dir_in_that_order() {
    let csa = Csa::new();
    let out = csa.output(&["run", "--json", "exit 0"]);
    assert_success(&out, "csa run --json");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.ends_with("}\n"), "{stdout:?}");
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let id = value["id"].as_str().unwrap();
    assert!(is_ulid(id), "{stdout}");
    let pid = value["pid"].as_u64().unwrap();
    let dir = csa.session_dir(id);
    let expected = serde_json::json!(dir.to_str().unwrap()).to_string();
    assert_eq!(
        stdout,
        format!("{{\"id\":\"{id}\",\"pid\":{pid},\"dir\":{expected}}}\n")
    );
    assert_exit(&csa.wait(id), 0);
}

#[test]
fn session_started_matches_the_contract_template() {
    let csa = Csa::new();
    let out = csa.output(&["run", "exit 0"]);
    assert_success(&out, "csa run");
    let id = String::from_utf8_lossy(&out.stdout).trim_end().to_owned();
    let text = stderr(&out);
    let line = directive(&text, "SESSION_STARTED").expect("SESSION_STARTED");
    let pid = csa.supervisor_pid(&id);
    let dir = csa.session_dir(&id);
    // A path without quotes or backslashes: the template's `dir="<DIR>"` verbatim.
    assert_eq!(
        line,
        format!(
            "CSA:SESSION_STARTED id={id} pid={pid} dir=\"{}\" wait_cmd=\"{csa_} session wait --session {id}\" attach_cmd=\"{csa_} session attach --session {id}\" kill_cmd=\"{csa_} session kill --session {id}\"",
            dir.display(),
            csa_ = csa.pasted_csa()
        )
    );
    assert_exit(&csa.wait(&id), 0);
}

#[test]
fn help_and_version_still_print_normally() {
    let csa = Csa::new();
    let out = csa.output(&["run", "--help"]);
    assert_exit(&out, 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: csa run"));
    let out = csa.output(&["--version"]);
    assert_exit(&out, 0);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("csa {}\n", env!("CARGO_PKG_VERSION"))
    );
}
