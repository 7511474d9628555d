//! `csa show` (`csa session show`): everything about one session — command, cwd, tool,
//! name, tags, queue and position, parent and children, dependencies, times, status and
//! reason, file paths — as text and as JSON.

use crate::support::{BIN, Csa, Gate, HANG, code, stderr, stdout, wait_for};

fn show_json(csa: &Csa, handle: &str) -> serde_json::Value {
    let out = csa.output(&["show", "--json", handle]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn show(csa: &Csa, handle: &str) -> String {
    let out = csa.output(&["show", handle]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    stdout(&out)
}

/// The value after `label` on its line of `csa show`'s text.
fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find(|line| line.split_whitespace().next() == Some(label))
        .unwrap_or_else(|| panic!("no {label} line in:\n{text}"))[label.len()..]
        .trim()
}

#[test]
fn show_tells_a_queued_session_its_place_and_what_it_runs() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    let cwd = tempfile::tempdir().unwrap();
    let cwd_text = cwd.path().canonicalize().unwrap().display().to_string();
    assert_eq!(code(&csa.output(&["queue", "slots", "builds", "1"])), 0);
    let first = csa.run_args(&["--queue", "builds", "--name", "first", &gate.pass()]);
    let second = csa.run_args(&[
        "--queue",
        "builds",
        "--name",
        "second",
        "--tag",
        "ci",
        "--tag",
        "nightly",
        "--env",
        "MODE=fast",
        "--cd",
        &cwd_text,
        "--after",
        &first,
        "--timeout",
        "5m",
        "echo done",
    ]);
    wait_for(HANG, "the first to run", || {
        show_json(&csa, &first)["status"] == "running"
    });
    let text = show(&csa, &second);
    assert!(field(&text, "session").starts_with(&second), "{text}");
    assert_eq!(field(&text, "name"), "second");
    assert!(field(&text, "status").starts_with("queued"), "{text}");
    assert_eq!(field(&text, "command"), "echo done");
    assert_eq!(field(&text, "tool"), "sh");
    assert_eq!(field(&text, "cwd"), cwd_text);
    assert_eq!(field(&text, "env"), "MODE=fast");
    assert_eq!(field(&text, "tags"), "ci, nightly");
    assert!(field(&text, "queue").starts_with("builds"), "{text}");
    assert!(
        field(&text, "after").starts_with(&format!("{first} (first, running)")),
        "{text}"
    );
    assert!(field(&text, "started").starts_with("not yet"), "{text}");
    assert_eq!(field(&text, "timeout"), "5m00s");
    assert!(field(&text, "stdout.log").contains(&second), "{text}");

    let json = show_json(&csa, &second);
    assert_eq!(json["id"], second);
    assert_eq!(json["status"], "queued");
    assert_eq!(json["queue"], "builds");
    assert_eq!(json["cwd"], cwd_text);
    assert_eq!(json["tool"], "sh");
    assert_eq!(json["env"], serde_json::json!(["MODE=fast"]));
    assert_eq!(json["tags"], serde_json::json!(["ci", "nightly"]));
    assert_eq!(json["after"][0]["id"], first);
    assert_eq!(json["after"][0]["status"], "running");
    assert!(json.get("started_at").is_none(), "{json}");
    assert!(json["created_at"].is_string());
    assert!(json["queued_at"].is_string());
    assert!(json["waiting_for"].is_string(), "{json}");
    let files: Vec<&str> = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| file["name"].as_str().unwrap())
        .collect();
    assert!(files.contains(&"session.toml"), "{files:?}");

    // A third waits behind the second without dependencies: its place is shown.
    let third = csa.run_args(&["--queue", "builds", "true"]);
    wait_for(HANG, "the third's place in the queue", || {
        show_json(&csa, &third)["position"].is_u64()
    });
    assert!(
        field(&show(&csa, &third), "queue").contains('#'),
        "{}",
        show(&csa, &third)
    );

    gate.open();
    assert_eq!(code(&csa.wait(&second)), 0);
    let json = show_json(&csa, &second);
    assert_eq!(json["status"], "success");
    assert!(json["started_at"].is_string());
    assert!(json["duration_ms"].is_u64());
    let text = show(&csa, &second);
    assert!(
        field(&text, "status").starts_with("success, exit 0"),
        "{text}"
    );
    assert!(field(&text, "finished").contains("ran "), "{text}");
    assert_eq!(code(&csa.wait(&third)), 0);
}

#[test]
fn show_names_the_parent_and_children_and_the_reason() {
    let csa = Csa::new();
    let parent = csa.run_named(
        "orch",
        &format!("'{BIN}' run --name kid 'exit 4' >/dev/null 2>&1; exit 0"),
    );
    assert_eq!(code(&csa.wait(&parent)), 0);
    let json = show_json(&csa, &parent);
    let kid = json["children"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(json["children"][0]["name"], "kid");
    assert_eq!(code(&csa.wait(&kid)), 4);
    let json = show_json(&csa, &kid);
    assert_eq!(json["parent"]["id"], parent);
    assert_eq!(json["parent"]["name"], "orch");
    assert_eq!(json["status"], "failure");
    assert_eq!(json["exit_code"], 4);
    let text = show(&csa, &parent);
    assert!(
        field(&text, "children").starts_with(&format!("{kid} (kid, failure)")),
        "{text}"
    );

    // A job that timed out carries its reason.
    let slow = csa.run_args(&["--timeout", "100ms", "sleep 30"]);
    assert_eq!(code(&csa.wait(&slow)), 124);
    let text = show(&csa, &slow);
    assert!(field(&text, "status").starts_with("timeout"), "{text}");
    assert!(!field(&text, "reason").is_empty(), "{text}");

    let out = csa.output(&["show", "NOSUCHSESSION"]);
    assert_eq!(code(&out), 125, "{}", stderr(&out));
}

/// A session that ended without starting its job (its dependency failed) never ran: `show`
/// says so, not `ran 0ms`.
#[test]
fn show_says_a_skipped_session_never_ran() {
    let csa = Csa::new();
    let failing = csa.run("exit 3");
    let skipped = csa.run_args(&["--after", &failing, "echo never"]);
    assert_eq!(code(&csa.wait(&failing)), 3);
    csa.wait(&skipped);
    let text = show(&csa, &skipped);
    assert!(field(&text, "status").starts_with("skipped"), "{text}");
    assert!(field(&text, "started").starts_with("never"), "{text}");
    let finished = field(&text, "finished");
    assert!(finished.ends_with("never ran)"), "{text}");
    assert!(!finished.contains("ran 0"), "{text}");
}
