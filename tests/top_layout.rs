//! What `csa top` and `csa status` draw, looked at as a person would: on a narrow terminal
//! the queue lines keep their names and headers and the sessions table keeps its last
//! output; an opened tree is drawn as `csa session list --tree` draws it; a paused queue
//! says so everywhere the queues are shown.

use crate::status::{nested_run, status_json, wait_for_counts};
use crate::support::pty::Pty;
use crate::support::{Csa, Gate, HANG, assert_exit, stdout, wait_for};

const DOWN: &str = "\x1b[B";
const RIGHT: &str = "\x1b[C";

/// `csa top` in a terminal of `rows` × `cols`, once it shows its first frame (its counts
/// line: on a narrow terminal without the title).
fn top(csa: &Csa, rows: u16, cols: u16) -> Pty {
    let mut command = csa.cmd();
    command.arg("top");
    let pty = Pty::spawn(&command, rows, cols);
    pty.wait_for_text(" lost");
    pty
}

fn quit(mut pty: Pty) {
    pty.send("q");
    assert_eq!(pty.wait_exit(), 0, "{}", pty.screen());
}

/// The screen's row that starts with `start`.
fn row_starting(screen: &str, start: &str) -> String {
    screen
        .lines()
        .find(|line| line.starts_with(start))
        .unwrap_or_else(|| panic!("no row starting with {start:?}:\n{screen}"))
        .to_owned()
}

#[test]
fn top_on_an_80_column_terminal_keeps_queue_names_headers_and_the_last_output() {
    let csa = Csa::new();
    let gate = Gate::new();
    for queue in ["builds", "a-rather-long-queue-name"] {
        assert_exit(&csa.output(&["queue", "slots", queue, "2"]), 0);
    }
    csa.run_args(&[
        "--queue",
        "builds",
        "--",
        "sh",
        "-c",
        &format!(
            "echo compiling; {}; : a long command line that names what it does",
            gate.pass()
        ),
    ]);
    wait_for_counts(&csa, 1, 0);
    assert_exit(
        &csa.output(&["queue", "pause", "a-rather-long-queue-name"]),
        0,
    );
    let pty = top(&csa, 24, 80);
    let screen = pty.wait_for_frame("compiling");
    // The counts line keeps its end (the title gives way).
    assert!(
        screen.lines().next().unwrap().ends_with(", 0 lost"),
        "{screen}"
    );
    let header = row_starting(&screen, "QUEUE");
    for wanted in [
        "SLOTS",
        "RUNNING",
        "WAITING",
        "DONE",
        "FAILED",
        "OLDEST WAIT",
    ] {
        assert!(header.contains(wanted), "{wanted}:\n{screen}");
    }
    // The queues' names are whole, or cut with `…` when too long for what the figures leave.
    let builds: Vec<String> = row_starting(&screen, "builds ")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(builds[..4], ["builds", "2", "1", "0"], "{screen}");
    let long: Vec<String> = row_starting(&screen, "a-rather-lo")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert!(long[0].ends_with('…'), "{screen}");
    assert_eq!(long[1..4], ["2", "0", "0"], "{screen}");
    assert!(long.contains(&"paused".to_owned()), "{screen}");
    // The running session's row shows its output, though its command is long.
    let row = screen
        .lines()
        .skip_while(|line| !line.starts_with("HANDLE"))
        .nth(1)
        .unwrap_or_else(|| panic!("no session row:\n{screen}"));
    assert!(
        row.contains("running") && row.contains("compiling"),
        "{screen}"
    );
    quit(pty);
}

#[test]
fn top_draws_an_opened_tree_with_the_branches_list_draws() {
    let csa = Csa::new();
    let gate = Gate::new();
    let orch = format!(
        "{}; {}; {}; {}",
        nested_run(&format!("--name child-1 \"{}\"", gate.pass())),
        nested_run(&format!("--name child-2 \"{}\"", gate.pass())),
        nested_run(&format!("--name child-3 \"{}\"", gate.pass())),
        gate.pass()
    );
    csa.run_named("orch", &orch);
    wait_for_counts(&csa, 4, 0);
    let listed = stdout(&csa.output(&["session", "list", "--tree"]));
    for wanted in ["├─ child-1", "├─ child-2", "└─ child-3"] {
        assert!(listed.contains(wanted), "{wanted}:\n{listed}");
    }

    let pty = top(&csa, 30, 140);
    let screen = pty.wait_for_frame("orch ▸ 0/3 done, 3 running");
    let at = screen
        .lines()
        .skip_while(|line| !line.starts_with("HANDLE"))
        .skip(1)
        .position(|line| line.contains("orch"))
        .unwrap();
    pty.send(&DOWN.repeat(at));
    pty.send(RIGHT);
    pty.wait_for_text("child-3");
    let screen = pty.wait_for_frame("orch ▾");
    for wanted in ["├─ child-1", "├─ child-2", "└─ child-3"] {
        assert!(screen.contains(wanted), "{wanted}:\n{screen}");
    }
    quit(pty);
}

#[test]
fn a_paused_queue_says_so_in_status_and_top() {
    let csa = Csa::new();
    assert_exit(&csa.output(&["queue", "slots", "builds", "1"]), 0);
    assert_exit(&csa.output(&["queue", "slots", "docs", "1"]), 0);
    assert_exit(&csa.output(&["queue", "pause", "builds"]), 0);
    csa.run_args(&["--queue", "builds", "--name", "held", "true"]);
    wait_for_counts(&csa, 0, 1);

    let text = stdout(&csa.output(&["status"]));
    assert!(
        row_starting(&text, "builds ").contains(" paused "),
        "{text}"
    );
    assert!(!row_starting(&text, "docs ").contains("paused"), "{text}");
    let queues = status_json(&csa)["queues"].clone();
    let paused = |name: &str| {
        queues
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["name"] == name)
            .unwrap_or_else(|| panic!("no queue {name}: {queues}"))["paused"]
            .clone()
    };
    assert_eq!(paused("builds"), true, "{queues}");
    assert_eq!(paused("docs"), false, "{queues}");

    let pty = top(&csa, 24, 120);
    let screen = pty.wait_for_frame("held");
    assert!(
        row_starting(&screen, "builds ").contains("paused"),
        "{screen}"
    );
    assert!(
        !row_starting(&screen, "docs ").contains("paused"),
        "{screen}"
    );
    // Resumed: the view sees it without a key (the queue's directory is watched).
    assert_exit(&csa.output(&["queue", "resume", "builds"]), 0);
    pty.wait_for_screen(HANG, "builds resumed", |s| {
        s.lines()
            .find(|line| line.starts_with("builds "))
            .is_some_and(|line| !line.contains("paused"))
    });
    wait_for(HANG, "held to end", || {
        status_json(&csa)["counts"]["succeeded"] == 1
    });
    quit(pty);
}
