//! Session handles: full ID, prefix, suffix, `last` and names, given positionally or with
//! `--session`, for every single-session command.

use crate::support::{
    Csa, assert_contains, assert_error, assert_exit, assert_success, stderr, stdout,
};

/// The single-session commands that take a handle.
const COMMANDS: [&str; 4] = ["attach", "kill", "result", "logs"];

fn result_id(csa: &Csa, args: &[&str]) -> String {
    let mut all = vec!["session", "result", "--json"];
    all.extend_from_slice(args);
    let out = csa.output(&all);
    assert_success(&out, &format!("result {args:?}"));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    json["id"].as_str().unwrap().to_owned()
}

#[test]
fn every_handle_form_works_positionally_and_with_the_option() {
    let csa = Csa::new();
    let first = csa.run_args(&["--name", "api tests/unit", "echo first"]);
    let second = csa.run("echo second");
    assert_exit(&csa.wait(&first), 0);
    assert_exit(&csa.wait(&second), 0);
    let suffix = &first[first.len() - 6..];
    for (handle, expected) in [
        (first.as_str(), &first),
        (&first.to_lowercase(), &first),
        ("last", &second),
        ("api tests/unit", &first),
        (suffix, &first),
        (&suffix.to_lowercase(), &first),
    ] {
        assert_eq!(&result_id(&csa, &[handle]), expected, "positional {handle}");
        assert_eq!(
            &result_id(&csa, &["--session", handle]),
            expected,
            "--session {handle}"
        );
    }
    for command in COMMANDS {
        let out = csa.output(&["session", command, "last"]);
        assert_success(&out, command);
        let out = csa.output(&["session", command, "last", "--session", "last"]);
        assert_eq!(out.status.code(), Some(2), "{command}: both forms");
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        let out = csa.output(&["session", command]);
        assert_eq!(out.status.code(), Some(2), "{command}: no handle");
    }
    let out = csa.output(&["session", "logs", "api tests/unit"]);
    assert_eq!(stdout(&out), "first\n");
}

#[test]
fn a_name_is_the_newest_session_with_it() {
    let csa = Csa::new();
    let older = csa.run_with("--name build", "exit 1");
    let newer = csa.run_with("--name build", "exit 2");
    csa.wait(&older);
    csa.wait(&newer);
    assert_eq!(result_id(&csa, &["build"]), newer);
    // After the newer one is cleaned away, the name leads to the older one.
    std::fs::remove_dir_all(csa.session_dir(&newer)).unwrap();
    assert_eq!(result_id(&csa, &["build"]), older);
    // Names are exact and case-sensitive.
    let out = csa.output(&["session", "result", "Build"]);
    assert_error(&out, 125, "csa: no such session");
}

/// A name that is also the start of another session's ID must not pick either silently.
#[test]
fn a_name_that_is_also_an_id_prefix_is_ambiguous() {
    let csa = Csa::new();
    let first = csa.run("true");
    let prefix = first[..10].to_owned();
    let named = csa.run_args(&["--name", &prefix, "true"]);
    for id in [&first, &named] {
        csa.wait(id);
    }
    let out = csa.output(&["session", "result", &prefix]);
    assert_exit(&out, 125);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_contains(&err, &["ambiguous", &first, &named, "ID prefix", "name"]);
    // The full ID and `last` still pick one.
    assert_eq!(result_id(&csa, &[&first]), first);
    assert_eq!(result_id(&csa, &["last"]), named);
}

#[test]
fn last_in_an_empty_store_and_unknown_names_say_what_was_tried() {
    let csa = Csa::new();
    let out = csa.output(&["session", "attach", "last"]);
    assert_error(&out, 125, "newest session");
    let out = csa.output(&["session", "logs", "no-such-name"]);
    assert_error(&out, 125, "as a session name");
}

#[test]
fn names_that_cannot_be_handles_are_refused() {
    let csa = Csa::new();
    for name in ["", "  ", "last", "a\nb", "tab\there"] {
        let out = csa.output(&["run", "--name", name, "true"]);
        assert_eq!(out.status.code(), Some(2), "--name {name:?}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("csa: invalid arguments:"), "{err}");
    }
    csa.assert_no_session("a refused name");
}

#[test]
fn kill_by_name_stops_that_session() {
    let csa = Csa::new();
    let id = csa.run_with("--name sleeper", "sleep 300");
    let out = csa.output(&["session", "kill", "sleeper", "--grace", "0"]);
    assert_success(&out, "kill sleeper");
    let result = csa.result(&id).expect("result after kill");
    assert_eq!(result["status"].as_str(), Some("signal"));
}
