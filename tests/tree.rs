//! Session trees: a `csa run` inside a session's job records its parent; stopping a session
//! stops its descendants first.

use std::time::Duration;

use crate::support::{
    BIN, Csa, assert_contains, assert_exit, assert_group_empty, assert_reason, stdout, wait_for,
};

const LONG: Duration = Duration::from_secs(60);

/// Writes `script` to a file in the state root and returns a `sh FILE` command for it.
pub fn script(csa: &Csa, name: &str, text: &str) -> String {
    let path = csa.state.path().join(name);
    std::fs::write(&path, text).unwrap();
    format!("sh '{}'", path.display())
}

/// The session whose name is `name` (from `session list --json`), once it exists.
pub fn named(csa: &Csa, name: &str) -> String {
    let mut found = None;
    wait_for(LONG, &format!("session {name}"), || {
        let out = csa.output(&["session", "list", "--json"]);
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        found = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["name"] == name && row["status"] == "running")
            .map(|row| row["id"].as_str().unwrap().to_owned());
        // Set up by its `csa run` (which ends by writing daemon.pid).
        found
            .as_ref()
            .is_some_and(|id| csa.session_dir(id).join("daemon.pid").exists())
    });
    found.unwrap()
}

/// The session's `session.toml`.
pub fn record(csa: &Csa, id: &str) -> toml::Table {
    std::fs::read_to_string(csa.session_dir(id).join("session.toml"))
        .unwrap()
        .parse()
        .unwrap()
}

/// Starts top → middle → bottom: `csa run --name top TOP_ARGS… top.sh`, whose job runs
/// `csa run --name middle middle.sh` (`middle` is that script's text, which starts the
/// session named `bottom`), then `sleep`. Returns their IDs, top first.
pub fn tree_of_three(csa: &Csa, middle: &str, top_args: &[&str]) -> [String; 3] {
    let middle = script(csa, "middle.sh", middle);
    let top = script(
        csa,
        "top.sh",
        &format!("'{BIN}' run --name middle \"{middle}\" >/dev/null 2>&1; sleep 300 & wait\n"),
    );
    let mut args = vec!["--name", "top"];
    args.extend_from_slice(top_args);
    args.push(&top);
    let top = csa.run_args(&args);
    [top, named(csa, "middle"), named(csa, "bottom")]
}

/// Starts top → middle → bottom, each job running `csa run` for the next, then `sleep`.
fn three_levels(csa: &Csa, top_args: &[&str]) -> [String; 3] {
    let bottom = format!("'{BIN}' run --name bottom 'sleep 300' >/dev/null 2>&1; sleep 300 & wait");
    tree_of_three(csa, &format!("{bottom}\n"), top_args)
}

#[test]
fn killing_a_parent_stops_a_three_level_tree_and_leaves_no_process() {
    let csa = Csa::new();
    let [top, middle, bottom] = three_levels(&csa, &[]);
    assert_eq!(record(&csa, &middle)["parent"].as_str(), Some(top.as_str()));
    assert_eq!(
        record(&csa, &bottom)["parent"].as_str(),
        Some(middle.as_str())
    );
    let groups: Vec<i32> = [&top, &middle, &bottom]
        .iter()
        .map(|id| csa.supervisor_pid(id))
        .collect();

    let tree = stdout(&csa.output(&["session", "list", "--tree", "--long"]));
    let lines: Vec<&str> = tree.lines().collect();
    let at = |id: &str| lines.iter().position(|line| line.starts_with(id)).unwrap();
    assert!(
        at(&top) < at(&middle) && at(&middle) < at(&bottom),
        "{tree}"
    );

    let out = csa.output(&["session", "kill", "--session", &top]);
    assert_exit(&out, 0);
    for (id, ancestor) in [(&bottom, Some(&top)), (&middle, Some(&top)), (&top, None)] {
        let result = csa.result(id).unwrap();
        assert_eq!(result["status"].as_str(), Some("signal"), "{result:?}");
        let reason = result["reason"].as_str().unwrap();
        match ancestor {
            Some(ancestor) => assert!(
                reason.contains(&format!("kill of ancestor session {ancestor}")),
                "{reason}"
            ),
            None => assert!(reason.starts_with("killed by csa session kill"), "{reason}"),
        }
    }
    // Children first: the bottom session ended before the middle one, and it before the top.
    let ended = |id: &str| {
        csa.result(id).unwrap()["finished_at"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(ended(&bottom) <= ended(&middle) && ended(&middle) <= ended(&top));
    for pgid in groups {
        assert_group_empty(pgid, "a level of the tree");
    }
}

#[test]
fn a_timeout_stops_the_descendants_too() {
    let csa = Csa::new();
    let [top, middle, bottom] = three_levels(&csa, &["--timeout", "2s"]);
    let out = csa.wait(&top);
    assert_exit(&out, 124);
    for id in [&middle, &bottom] {
        let result = csa.result(id).unwrap();
        assert_eq!(result["status"].as_str(), Some("signal"), "{result:?}");
        assert_reason(&result, &[&format!("timeout of ancestor session {top}")]);
    }
}

#[test]
fn a_detached_child_outlives_its_parent() {
    let csa = Csa::new();
    let top = csa.run_named(
        "top",
        &format!(
            "'{BIN}' run --detach-from-parent --name free 'sleep 300' >/dev/null 2>&1; sleep 300"
        ),
    );
    let free = named(&csa, "free");
    assert!(record(&csa, &free).get("parent").is_none());
    let out = csa.output(&["session", "kill", "--session", &top]);
    assert_exit(&out, 0);
    let out = csa.output(&["session", "result", "--session", &free]);
    assert_contains(&stdout(&out), &["status = \"running\""]);
    let out = csa.output(&["session", "kill", "--session", &free, "--grace", "0"]);
    assert_exit(&out, 0);
}

#[test]
fn kill_by_tag_stops_every_running_and_queued_session_with_the_tag() {
    let csa = Csa::new();
    let tagged: Vec<String> = (0..3)
        .map(|_| csa.run_args(&["--tag", "batch", "--queue", "t", "sleep 300"]))
        .collect();
    let other = csa.run_args(&["--tag", "keep", "sleep 300"]);
    let out = csa.output(&["session", "kill", "--tag", "batch"]);
    assert_exit(&out, 0);
    for id in &tagged {
        let result = csa.result(id).unwrap();
        assert_eq!(result["status"].as_str(), Some("signal"), "{result:?}");
    }
    assert!(
        csa.result(&other).is_none(),
        "an untagged session was stopped"
    );
    let out = csa.output(&["session", "kill", "--tag", "nothing-has-this"]);
    assert_exit(&out, 0);
    let out = csa.output(&["session", "kill", "--session", &other, "--grace", "0"]);
    assert_exit(&out, 0);
}

/// A `children/` entry naming a session of another tree (planted, or left by a crash) is
/// not proof of a child: `rm` of the tree leaves that session, and `show` does not list it,
/// as `kill` and `ls --tree` pass it over. Before, `rm` removed the unrelated session.
#[test]
fn rm_of_a_tree_spares_a_session_its_children_list_names_wrongly() {
    let csa = Csa::new();
    let parent = csa.run(&format!("'{BIN}' run --name kid 'exit 0' >/dev/null 2>&1"));
    assert_exit(&csa.wait(&parent), 0);
    assert_exit(&csa.wait("kid"), 0);
    let unrelated = csa.finished("exit 0", 0);
    let children = csa.session_dir(&parent).join("children");
    let [kid] = crate::support::names_in(&children).try_into().unwrap();
    std::fs::write(children.join(&unrelated), "").unwrap();

    let out = csa.output(&["show", "--json", &parent]);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed: Vec<&str> = shown["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|child| child["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [kid.as_str()], "{shown}");

    let out = csa.output(&["rm", &parent]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), format!("removed {kid}\nremoved {parent}\n"));
    assert!(
        csa.session_dir(&unrelated).is_dir(),
        "the unrelated session was removed with the tree"
    );
}
