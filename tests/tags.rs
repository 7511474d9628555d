//! Tags: `csa run --tag`, kept in session.toml; `session list --tag` and `session clean
//! --tag` select the sessions with every tag given.

use crate::support::{Csa, assert_contains, assert_success, stdout};

fn ids(csa: &Csa, args: &[&str]) -> Vec<String> {
    let mut all = vec!["session", "list", "--json"];
    all.extend_from_slice(args);
    let out = csa.output(&all);
    assert_success(&out, "csa session list --json");
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|row| row["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn tags_are_recorded_and_listed() {
    let csa = Csa::new();
    let both = csa.run_with("--tag ci.7 --tag unit-tests", "true");
    let one = csa.run_with("--tag ci.7", "true");
    let none = csa.run("true");
    for id in [&both, &one, &none] {
        csa.wait(id);
    }
    let text = std::fs::read_to_string(csa.session_dir(&both).join("session.toml")).unwrap();
    let record: toml::Table = text.parse().unwrap();
    assert_eq!(
        record["tags"].as_array().unwrap(),
        &vec![toml::Value::from("ci.7"), toml::Value::from("unit-tests")]
    );
    let untagged = std::fs::read_to_string(csa.session_dir(&none).join("session.toml")).unwrap();
    assert!(!untagged.contains("tags"), "{untagged}");

    assert_eq!(ids(&csa, &["--tag", "ci.7"]), [one.clone(), both.clone()]);
    assert_eq!(
        ids(&csa, &["--tag", "ci.7", "--tag", "unit-tests"]),
        std::slice::from_ref(&both)
    );
    assert!(ids(&csa, &["--tag", "nope"]).is_empty());
    assert_eq!(ids(&csa, &["--tag", "ci.7", "--limit", "1"]), [one]);
    // The table too.
    let out = csa.output(&["session", "list", "--long", "--tag", "unit-tests"]);
    let table = stdout(&out);
    assert!(table.contains(&both) && !table.contains(&none), "{table}");
    // JSON shows the tags.
    let out = csa.output(&["session", "list", "--json", "--tag", "unit-tests"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["tags"], serde_json::json!(["ci.7", "unit-tests"]));
}

#[test]
fn clean_by_tag_removes_the_tagged_sessions_that_ended() {
    let csa = Csa::new();
    let done = csa.run_with("--tag batch", "true");
    let untagged = csa.run("true");
    let running = csa.run_with("--tag batch", "sleep 300");
    csa.wait(&done);
    csa.wait(&untagged);
    // With --tag, no age limit unless one is given.
    let out = csa.output(&["session", "clean", "--tag", "batch", "--older-than", "1d"]);
    assert_success(&out, "clean --tag --older-than");
    assert!(csa.session_dir(&done).is_dir());
    let out = csa.output(&["session", "clean", "--tag", "batch"]);
    assert_success(&out, "clean --tag");
    let text = stdout(&out);
    assert_contains(&text, &[&format!("removed {done}")]);
    assert!(!csa.session_dir(&done).exists());
    assert!(
        csa.session_dir(&untagged).is_dir(),
        "an untagged session was removed"
    );
    assert!(
        csa.session_dir(&running).is_dir(),
        "a running session was removed"
    );
    csa.kill_group(&running);
}
