//! `csa session clean`: removes old finished sessions, never a running one.

use std::time::Duration;

use crate::support::{Csa, assert_contains, assert_exit, assert_success, stdout};
use crate::support_everyday::{fake_session, finish};

const DAY: Duration = Duration::from_secs(86_400);

#[test]
fn clean_removes_finished_sessions_and_never_a_running_one() {
    let csa = Csa::new();
    let running = csa.run("sleep 300");
    let done = csa.run("echo some output");
    csa.wait(&done);

    let out = csa.output(&["session", "clean", "--older-than", "0s", "--dry-run"]);
    assert_success(&out, "clean --dry-run");
    let text = stdout(&out);
    assert_contains(&text, &[&format!("would remove {done}")]);
    assert!(!text.contains(&running), "{text}");
    assert_contains(&text, &["would remove 1 session, "]);
    assert!(
        csa.session_dir(&done).is_dir(),
        "--dry-run removed a session"
    );

    let out = csa.output(&["session", "clean", "--older-than", "0s"]);
    assert_success(&out, "clean");
    let text = stdout(&out);
    assert_contains(&text, &[&format!("removed {done}  success")]);
    let last = text.lines().last().unwrap();
    assert!(last.starts_with("removed 1 session, "), "{text}");
    let freed: u64 = last
        .split_whitespace()
        .nth(3)
        .and_then(|n| n.parse().ok())
        .expect("bytes freed");
    assert!(freed >= "some output\n".len() as u64, "{text}");
    assert!(!csa.session_dir(&done).exists());
    assert!(csa.session_dir(&running).is_dir());
    assert!(
        csa.result(&running).is_none(),
        "clean touched a running session"
    );
    csa.kill_group(&running);
}

#[test]
fn clean_goes_by_when_a_session_ended_default_seven_days() {
    let csa = Csa::new();
    let old = fake_session(&csa, 10 * DAY, "old", true);
    finish(&old, "failure", 2, 9 * DAY);
    // Created long ago, but ended an hour ago: kept.
    let long_job = fake_session(&csa, 10 * DAY, "long job", true);
    finish(&long_job, "success", 0, Duration::from_secs(3600));
    let recent = fake_session(&csa, Duration::from_secs(60), "recent", true);
    finish(&recent, "success", 0, Duration::from_secs(30));

    let out = csa.output(&["session", "clean"]);
    assert_success(&out, "clean");
    let text = stdout(&out);
    assert_contains(
        &text,
        &[
            &format!("removed {}  failure  ended 9d ago", old.id),
            "removed 1 session, ",
        ],
    );
    assert!(!old.dir.exists());
    assert!(long_job.dir.is_dir() && recent.dir.is_dir());

    let out = csa.output(&["session", "clean", "--older-than", "2h"]);
    assert_success(&out, "clean --older-than 2h");
    assert_contains(&stdout(&out), &["removed 0 sessions, 0 bytes"]);
}

#[test]
fn clean_removes_a_dead_session_without_a_result_by_its_last_output() {
    let csa = Csa::new();
    let dead = fake_session(&csa, 10 * DAY, "died", true);
    let ten_days_ago = std::time::SystemTime::now() - 10 * DAY;
    for name in ["stdout.log", "stderr.log", "session.toml", "daemon.pid"] {
        let file = std::fs::File::options()
            .append(true)
            .open(dead.dir.join(name))
            .unwrap();
        file.set_modified(ten_days_ago).unwrap();
    }
    let out = csa.output(&["session", "clean"]);
    assert_success(&out, "clean");
    let text = stdout(&out);
    assert_contains(&text, &[&format!("removed {}  lost", dead.id)]);
    assert!(!dead.dir.exists());
}

#[test]
fn clean_rejects_a_bad_age() {
    let csa = Csa::new();
    let out = csa.output(&["session", "clean", "--older-than", "soon"]);
    assert_exit(&out, 2);
}

/// Every session's `parent`, when it has one, names a session that is still there.
#[track_caller]
fn assert_no_orphans(csa: &Csa) {
    for id in csa.session_ids() {
        let text = std::fs::read_to_string(csa.session_dir(&id).join("session.toml")).unwrap();
        let record: toml::Table = text.parse().unwrap();
        if let Some(parent) = record.get("parent").and_then(|p| p.as_str()) {
            assert!(
                csa.session_dir(parent).is_dir(),
                "session {id} names its parent {parent}, which is gone"
            );
        }
    }
}

/// Issue 17, item 9: `clean --tag` removed a tagged parent and left its child's record
/// naming a parent that no longer exists. A parent now stays while a child is there; a
/// tree whose sessions all qualify goes in one run.
#[test]
fn clean_keeps_a_parent_until_its_children_go_and_cleans_a_whole_tree_at_once() {
    let csa = Csa::new();
    let bin = env!("CARGO_BIN_EXE_csa");
    // A tagged parent with an untagged child.
    let parent = csa.run_args(&[
        "--tag",
        "batch",
        &format!("'{bin}' run --name child true >/dev/null 2>&1"),
    ]);
    csa.wait(&parent);
    let child = csa.output(&["session", "result", "--session", "child", "--json"]);
    let child: serde_json::Value = serde_json::from_slice(&child.stdout).unwrap();
    let child = child["id"].as_str().unwrap().to_owned();
    crate::support::wait_for(Duration::from_secs(60), "the child to end", || {
        csa.result(&child).is_some()
    });
    for dry in [true, false] {
        let mut args = vec!["session", "clean", "--tag", "batch"];
        if dry {
            args.push("--dry-run");
        }
        let out = csa.output(&args);
        assert_success(&out, "clean --tag");
        assert_contains(&stdout(&out), &["0 sessions"]);
        assert_contains(
            &crate::support::stderr(&out),
            &[&format!("keeping session {parent}"), &child],
        );
        assert!(csa.session_dir(&parent).is_dir());
        assert_no_orphans(&csa);
    }
    // Once the child goes, the parent can.
    let out = csa.output(&["session", "clean", "--older-than", "0s", "--dry-run"]);
    assert_contains(
        &stdout(&out),
        &[
            &format!("would remove {child}"),
            &format!("would remove {parent}"),
        ],
    );
    let out = csa.output(&["session", "clean", "--older-than", "0s"]);
    assert_contains(&stdout(&out), &["removed 2 sessions"]);
    assert!(csa.session_ids().is_empty());

    // A tree tagged throughout goes in one run.
    let top = csa.run_args(&[
        "--tag",
        "t2",
        &format!("'{bin}' run --tag t2 --name leaf true >/dev/null 2>&1"),
    ]);
    csa.wait(&top);
    crate::support::wait_for(Duration::from_secs(60), "the leaf to end", || {
        csa.session_ids().iter().all(|id| csa.result(id).is_some())
    });
    let out = csa.output(&["session", "clean", "--tag", "t2"]);
    assert_contains(&stdout(&out), &["removed 2 sessions"]);
    assert_no_orphans(&csa);
}

/// A `children/` entry naming a session of another tree does not keep a finished session
/// (`clean` keeps a parent only while its own children are there): the parent and its
/// real child go, the unrelated running session stays. Before, the parent was kept for as
/// long as the unrelated session existed ("its child session … is still there").
#[test]
fn clean_is_not_held_back_by_a_children_entry_of_another_tree() {
    let csa = Csa::new();
    let bin = env!("CARGO_BIN_EXE_csa");
    let parent = csa.run(&format!("'{bin}' run --name kid 'exit 0' >/dev/null 2>&1"));
    assert_exit(&csa.wait(&parent), 0);
    assert_exit(&csa.wait("kid"), 0);
    let unrelated = csa.run("sleep 300");
    let children = csa.session_dir(&parent).join("children");
    std::fs::write(children.join(&unrelated), "").unwrap();

    let out = csa.output(&["session", "clean", "--older-than", "0s"]);
    assert_success(&out, "clean");
    assert!(
        !csa.session_dir(&parent).exists(),
        "{}",
        crate::support::stderr(&out)
    );
    assert!(
        csa.session_dir(&unrelated).is_dir(),
        "the running session went"
    );
    csa.kill_group(&unrelated);
}
