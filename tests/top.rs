//! `csa top`, the real binary in a real pseudo-terminal: a fleet starts and the view shows
//! it, sessions end and their rows change, keys follow, filter, kill and set slots, and the
//! terminal is restored on every way out. Also `csa status --watch` on a terminal.

use crate::status::{nested_run, status_json, wait_for_counts};
use crate::support::Gate;
use crate::support::pty::Pty;
use crate::support::{Csa, HANG, assert_exit, code, stderr, stdout, wait_for};
use crate::support_faults::signal;

const DOWN: &str = "\x1b[B";
const RIGHT: &str = "\x1b[C";
const ENTER: &str = "\r";
const HOME: &str = "\x1b[H";
const ESC: &str = "\x1b";

/// `csa top ARGS` in a terminal of `rows` × `cols`, once it shows its first frame.
fn top(csa: &Csa, args: &[&str], rows: u16, cols: u16) -> Pty {
    let mut command = csa.cmd();
    command.arg("top").args(args);
    let pty = Pty::spawn(&command, rows, cols);
    pty.wait_for_text(" csa top ");
    pty
}

/// The screen's row that contains `text`.
fn row_with(screen: &str, text: &str) -> String {
    screen
        .lines()
        .find(|line| line.contains(text))
        .unwrap_or_else(|| panic!("no row with {text:?}:\n{screen}"))
        .to_owned()
}

/// Quits with `q` and checks the terminal is back as it was.
fn quit(pty: &mut Pty) {
    pty.send("q");
    assert_eq!(pty.wait_exit(), 0, "{}", pty.screen());
    assert_restored(pty);
}

fn assert_restored(pty: &Pty) {
    assert!(pty.is_cooked(), "the terminal is left in raw mode");
    assert!(!pty.alternate_screen(), "the alternate screen is left on");
    let raw = String::from_utf8_lossy(&pty.raw()).into_owned();
    assert!(raw.contains("\x1b[?25h"), "the cursor is left hidden");
}

#[test]
fn top_shows_a_fleet_live_follows_output_and_kills_with_a_key() {
    let csa = Csa::new();
    let mut first_gate = Gate::new();
    let second_gate = Gate::new();
    let alpha = csa.run_named("alpha", &format!("echo hello-alpha; {}", first_gate.pass()));
    let beta = csa.run_named("beta", &format!("echo hello-beta; {}", second_gate.pass()));
    let mut pty = top(&csa, &[], 40, 140);
    let screen = pty.wait_for_frame("2 sessions: 2 running, 0 queued");
    assert!(
        screen.contains("HANDLE") && screen.contains("LAST OUTPUT"),
        "{screen}"
    );

    // A session starts (and ends at once): its row appears.
    csa.run_named("gamma", "exit 4");
    pty.wait_for_text("3 sessions: 2 running, 0 queued, 0 succeeded, 1 failed");
    pty.wait_for_screen(HANG, "gamma's exit", |s| {
        row_with(s, "gamma").contains("exit 4")
    });
    assert!(row_with(&pty.screen(), "gamma").contains("failure"));

    // A session ends: its row changes from running to success.
    assert!(row_with(&pty.screen(), "alpha").contains("running"));
    first_gate.open();
    pty.wait_for_screen(HANG, "alpha's end", |s| {
        row_with(s, "alpha").contains("success")
    });
    pty.wait_for_text("3 sessions: 1 running, 0 queued, 1 succeeded, 1 failed");
    assert_eq!(
        csa.result(&alpha).unwrap()["status"].as_str(),
        Some("success")
    );

    // Running first: beta is the first row. The selection stays on the session it was on
    // (alpha, moved down); Home selects the first row, Enter follows its output.
    let screen = pty.screen();
    let first_row = screen
        .lines()
        .skip_while(|line| !line.starts_with("HANDLE"))
        .nth(1)
        .unwrap();
    assert!(first_row.contains("beta"), "{screen}");
    pty.send(HOME);
    pty.send(ENTER);
    pty.wait_for_text("stdout.log of");
    pty.wait_for_screen(HANG, "beta's output in the pane", |s| {
        s.lines().any(|line| line.starts_with("│hello-beta"))
    });
    pty.send(ESC);
    pty.wait_for_screen(HANG, "the pane closed", |s| !s.contains("stdout.log of"));

    // k, then y: beta is killed as `csa session kill` kills it.
    pty.send("k");
    pty.wait_for_text("Kill session");
    assert!(row_with(&pty.screen(), "Kill session").contains("(beta)"));
    pty.send("y");
    wait_for(HANG, "beta's result", || csa.result(&beta).is_some());
    let result = csa.result(&beta).unwrap();
    assert_eq!(result["status"].as_str(), Some("signal"));
    assert!(
        result["reason"]
            .as_str()
            .unwrap()
            .contains("csa session kill"),
        "{result}"
    );
    pty.wait_for_screen(HANG, "beta's row", |s| {
        row_with(s, "beta").contains("signal")
    });

    // Removed sessions leave the view.
    let out = csa.output(&["session", "clean", "--older-than", "0s"]);
    assert_exit(&out, 0);
    pty.wait_for_text("0 sessions: 0 running");
    quit(&mut pty);
}

#[test]
fn top_sees_a_store_created_after_it_started() {
    let csa = Csa::new();
    assert!(!csa.sessions_dir().exists());
    let mut pty = top(&csa, &[], 30, 120);
    pty.wait_for_text("No session yet");
    let gate = Gate::new();
    csa.run_named("first-ever", &gate.pass());
    pty.wait_for_text("1 session: 1 running");
    assert!(row_with(&pty.screen(), "first-ever").contains("running"));
    quit(&mut pty);
}

#[test]
fn top_and_status_show_300_sessions_in_three_queues_and_a_tree() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    for (queue, slots) in [("alpha", "4"), ("beta", "3"), ("gamma", "3")] {
        assert_eq!(code(&csa.output(&["queue", "slots", queue, slots])), 0);
        for i in 0..100 {
            csa.run_args(&[
                "--queue",
                queue,
                "--name",
                &format!("{queue}-{i}"),
                &gate.pass(),
            ]);
        }
    }
    let orch = format!(
        "{}; {}; {}; {}",
        nested_run(&format!("--name child-1 \"{}\"", gate.pass())),
        nested_run(&format!("--name child-2 \"{}\"", gate.pass())),
        nested_run("--name child-3 'exit 2'"),
        gate.pass()
    );
    csa.run_named("orch", &orch);
    wait_for(HANG, "child-3 to fail", || {
        status_json(&csa)["counts"]["failed"] == 1
    });
    // 10 slots, orch and two children run; 290 wait.
    wait_for_counts(&csa, 13, 290);

    let mut pty = top(&csa, &[], 50, 160);
    let screen = pty.wait_for_frame("304 sessions: 13 running, 290 queued, 0 succeeded, 1 failed");
    for (queue, running, waiting) in [
        ("alpha", "4", "96"),
        ("beta", "3", "97"),
        ("gamma", "3", "97"),
    ] {
        let cells: Vec<String> = screen
            .lines()
            .find(|line| line.starts_with(&format!("{queue} ")))
            .unwrap_or_else(|| panic!("no line for queue {queue}:\n{screen}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        assert_eq!(cells[..4], [queue, running, running, waiting], "{screen}");
    }
    let rows: Vec<&str> = screen
        .lines()
        .skip_while(|line| !line.starts_with("HANDLE"))
        .skip(1)
        .collect();
    // The 10 running queue sessions and the tree's root come first; the tree is one row.
    assert!(
        rows[..11].iter().all(|row| row.contains("running")),
        "{screen}"
    );
    assert!(
        screen.contains("orch ▸ 1/3 done, 1 failed, 2 running"),
        "{screen}"
    );
    assert!(!screen.contains("child-1"), "{screen}");
    assert!(
        rows[11].contains("queued") && rows[11].contains("#1 in"),
        "{screen}"
    );

    // The same picture once.
    let text = stdout(&csa.output(&["status"]));
    assert!(
        text.starts_with("304 sessions: 13 running, 290 queued"),
        "{text}"
    );
    assert_eq!(
        text.lines()
            .filter(|line| line.contains(" running "))
            .count(),
        11,
        "{text}"
    );

    // The tree opens with Right on its row.
    let orch_row = rows.iter().position(|row| row.contains("orch")).unwrap();
    pty.send(&DOWN.repeat(orch_row));
    pty.send(RIGHT);
    pty.wait_for_text("├─ child-1");
    assert!(pty.screen().contains("└─ child-3"));
    assert!(pty.screen().contains("orch ▾"));

    gate.open();
    pty.wait_for_screen(HANG, "every session ended", |s| {
        s.contains("304 sessions: 0 running, 0 queued, 303 succeeded, 1 failed")
    });
    quit(&mut pty);
}

#[test]
fn top_sets_slots_filters_and_kills_a_tag() {
    let csa = Csa::new();
    let gate = Gate::new();
    assert_eq!(code(&csa.output(&["queue", "slots", "q", "1"])), 0);
    let tagged: Vec<String> = (0..3)
        .map(|i| {
            csa.run_args(&[
                "--queue",
                "q",
                "--tag",
                "batch",
                "--name",
                &format!("job-{i}"),
                &gate.pass(),
            ])
        })
        .collect();
    let other = csa.run_named("bystander", &gate.pass());
    wait_for_counts(&csa, 2, 2);
    let mut pty = top(&csa, &[], 40, 140);
    pty.wait_for_text("4 sessions: 2 running, 2 queued");

    // s on the queue's session: the slot count, as `csa queue slots` sets it.
    pty.send("s");
    pty.wait_for_text("slots of queue q: 1");
    pty.send("\x7f3\r");
    pty.wait_for_text("queue q now has 3 slots");
    assert_eq!(stdout(&csa.output(&["queue", "slots", "q"])).trim(), "3");
    pty.wait_for_text("4 sessions: 4 running, 0 queued");

    // A filter narrows the rows as it is typed.
    pty.send("/tag:batch");
    pty.wait_for_screen(HANG, "the filter applied", |s| {
        !s.contains("bystander") && s.contains("job-2")
    });
    pty.send(ENTER);
    pty.wait_for_text("filter: tag:batch");

    // K: the tag (the selected session's), then y.
    pty.send("K");
    pty.wait_for_text("kill the sessions with the tag: batch");
    pty.send(ENTER);
    pty.wait_for_text("Kill the 3 running or queued sessions tagged batch");
    pty.send("y");
    for id in &tagged {
        wait_for(HANG, "the tagged sessions' results", || {
            csa.result(id).is_some()
        });
        assert_eq!(csa.result(id).unwrap()["status"].as_str(), Some("signal"));
    }
    pty.wait_for_text("4 sessions: 1 running, 0 queued, 0 succeeded, 3 failed");
    assert!(csa.result(&other).is_none(), "the bystander was killed");

    // Esc clears the filter; Esc in the filter's prompt puts the one before back.
    pty.send(ESC);
    pty.wait_for_text("bystander");
    pty.send("/nomatch");
    pty.wait_for_text("No session matches the filter `nomatch`");
    pty.send(ESC);
    pty.wait_for_text("bystander");
    // ? shows the keys, any key closes them.
    pty.send("?");
    pty.wait_for_text("keys · any key closes");
    pty.send(" ");
    pty.wait_for_screen(HANG, "the help closed", |s| !s.contains("any key closes"));
    quit(&mut pty);
    csa.kill_group(&other);
}

#[test]
fn top_restores_the_terminal_on_every_way_out() {
    let csa = Csa::new();
    let gate = Gate::new();
    csa.run_named("sleeper", &gate.pass());
    for (how, expected) in [
        ("SIGTERM", 143),
        ("SIGHUP", 129),
        ("SIGINT", 130),
        ("Ctrl-C", 0),
        ("q", 0),
    ] {
        let mut pty = top(&csa, &[], 30, 120);
        pty.wait_for_text("sleeper");
        match how {
            "SIGTERM" => signal(pty.pid(), libc::SIGTERM),
            "SIGHUP" => signal(pty.pid(), libc::SIGHUP),
            "SIGINT" => signal(pty.pid(), libc::SIGINT),
            "Ctrl-C" => pty.send("\x03"),
            _ => pty.send("q"),
        }
        assert_eq!(pty.wait_exit(), expected, "{how}");
        assert_restored(&pty);
    }
    // A panic (the hook restores the terminal before the message; release builds abort).
    let mut command = csa.cmd();
    command.arg("top").env("CSA_TEST_TOP_PANIC", "1");
    let mut pty = Pty::spawn(&command, 30, 120);
    let code = pty.wait_exit();
    assert!(code == 101 || code == 134, "{code}");
    assert_restored(&pty);
    pty.wait_for_text("a panic to show the terminal is restored");
}

/// An error ends the view with its message and exit code, and the terminal restored: the
/// store becomes unreadable (a file where the sessions directory should be).
#[test]
fn top_restores_the_terminal_when_it_fails() {
    let csa = Csa::new();
    let mut pty = top(&csa, &[], 30, 120);
    pty.wait_for_text("No session yet");
    std::fs::write(csa.sessions_dir(), "not a directory").unwrap();
    assert_eq!(pty.wait_exit(), 125, "{}", pty.screen());
    assert_restored(&pty);
    pty.wait_for_text("csa: cannot read the session store");
}

#[test]
fn top_needs_a_terminal() {
    let csa = Csa::new();
    let out = csa.output(&["top"]);
    assert_exit(&out, 125);
    assert!(
        stderr(&out).contains("csa top needs a terminal"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn status_watch_redraws_in_place_on_a_terminal() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    csa.run_named("watched", &gate.pass());
    let mut command = csa.cmd();
    command.args(["status", "--watch"]);
    let pty = Pty::spawn(&command, 30, 120);
    pty.wait_for_text("1 session: 1 running");
    gate.open();
    pty.wait_for_text("1 session: 0 running, 0 queued, 1 succeeded");
    let raw = String::from_utf8_lossy(&pty.raw()).into_owned();
    // Redrawn from the top, not scrolled: one counts line on the screen.
    assert!(raw.contains("\x1b[H"), "{raw:?}");
    assert_eq!(pty.screen().matches("1 session:").count(), 1);
}

/// A queue name read from a session's file is never used as a path: `s` on a session whose
/// `session.toml` was edited to name `../outside` sets nothing.
#[test]
fn top_never_sets_the_slots_of_a_queue_named_by_a_tampered_file() {
    let csa = Csa::new();
    let gate = Gate::new();
    let id = csa.run_named("tampered", &gate.pass());
    let path = csa.session_dir(&id).join("session.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("queue = \"../outside\"\n{text}")).unwrap();
    let mut pty = top(&csa, &[], 30, 120);
    pty.wait_for_text("tampered");
    pty.send("s");
    pty.wait_for_text("slots of queue ../outside:");
    pty.send("\x7f2\r");
    pty.wait_for_text("is not a valid name");
    assert!(!csa.state.path().join("outside").exists());
    assert!(!csa.state.path().join("queues").exists());
    quit(&mut pty);
}
