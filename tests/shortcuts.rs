//! The top-level shortcuts (`csa ls`, `show`, `wait`, `attach`, `logs`, `kill`, `result`,
//! `rm`, `rerun`) do what the `csa session …` commands do; `csa run`'s quiet start on a
//! terminal and `--quiet`.

use crate::support::pty::Pty;
use crate::support::{Csa, Gate, HANG, code, directive, is_ulid, stderr, stdout, wait_for};

#[test]
fn each_shortcut_is_its_session_command() {
    let csa = Csa::new();
    let id = csa.run_named("short", "echo out; echo err >&2; exit 3");
    assert_eq!(code(&csa.output(&["wait", &id])), 3);
    let same = |short: &[&str], long: &[&str]| {
        let (a, b) = (csa.output(short), csa.output(long));
        assert_eq!(code(&a), code(&b), "{short:?}: {}", stderr(&a));
        assert_eq!(stdout(&a), stdout(&b), "{short:?} and {long:?}");
    };
    same(&["ls", "--json"], &["session", "list", "--json"]);
    same(&["result", &id], &["session", "result", &id]);
    same(&["logs", &id], &["session", "logs", &id]);
    same(
        &["show", "--json", &id],
        &["session", "show", "--json", &id],
    );
    same(&["attach", &id], &["session", "attach", &id]);
    same(&["wait", &id], &["session", "wait", &id]);
    assert_eq!(stdout(&csa.output(&["logs", "short"])), "out\n");

    let gate = Gate::new();
    let running = csa.run(&gate.pass());
    let out = csa.output(&["kill", &running]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        csa.result(&running).unwrap()["status"].as_str(),
        Some("signal")
    );

    let out = csa.output(&["rm", &id, &running]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(csa.session_ids().is_empty(), "{:?}", csa.session_ids());
}

#[test]
fn help_names_the_long_forms_as_the_stable_ones() {
    let csa = Csa::new();
    let out = csa.output(&["--help"]);
    for shortcut in [
        "ls", "show", "wait", "attach", "logs", "kill", "result", "rm", "rerun",
    ] {
        assert!(
            stdout(&out)
                .lines()
                .any(|line| line.trim_start().starts_with(shortcut)),
            "{shortcut} missing from --help:\n{}",
            stdout(&out)
        );
    }
    assert!(stdout(&out).contains("long forms, which are the stable ones"));
    let out = csa.output(&["ls", "--help"]);
    assert!(
        stdout(&out).contains("`csa session list`"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("Scripts should use the long form"));
}

#[test]
fn run_on_a_terminal_prints_a_short_line_instead_of_the_directive() {
    let csa = Csa::new();
    // stdout is a pipe (the ID is captured), stderr the terminal: as `SID=$(csa run …)` typed.
    let script = r#"id=$("$CSA" run 'echo hi'); echo "ID=$id""#;
    let mut pty = Pty::spawn(&csa.sh_command(script), 24, 200);
    assert_eq!(pty.wait_exit(), 0);
    let screen = pty.screen();
    assert!(!screen.contains("CSA:SESSION_STARTED"), "{screen}");
    let id = screen
        .lines()
        .find_map(|line| line.strip_prefix("ID="))
        .unwrap_or_else(|| panic!("no ID: {screen}"))
        .trim()
        .to_owned();
    assert!(is_ulid(&id), "{screen}");
    let line = screen
        .lines()
        .find(|line| line.starts_with("csa: session "))
        .unwrap_or_else(|| panic!("no line for people: {screen}"));
    assert!(line.contains(&id), "{line}");
    assert!(line.contains(" logs -f ") && line.contains(" wait ") && line.contains(" kill "));
    // The handle it names is one `wait` takes.
    let handle = line["csa: session ".len()..].split(' ').next().unwrap();
    let out = csa.output(&["wait", handle]);
    assert_eq!((code(&out), stdout(&out)), (0, "hi\n".to_owned()));
}

#[test]
fn run_through_a_pipe_keeps_the_directive_and_quiet_prints_only_the_id() {
    let csa = Csa::new();
    let out = csa.output(&["run", "true"]);
    assert_eq!(code(&out), 0);
    assert!(
        directive(&stderr(&out), "SESSION_STARTED").is_some(),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("csa: session"));

    for quiet in ["--quiet", "-q"] {
        let out = csa.output(&["run", quiet, "true"]);
        assert_eq!(code(&out), 0);
        assert_eq!(stderr(&out), "");
        assert!(is_ulid(stdout(&out).trim_end()), "{}", stdout(&out));
    }
    // On a terminal too: only the ID.
    let mut pty = Pty::spawn(csa.cmd().args(["run", "--quiet", "true"]), 24, 200);
    assert_eq!(pty.wait_exit(), 0);
    let screen = pty.screen();
    let lines: Vec<&str> = screen.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1, "{screen}");
    assert!(is_ulid(lines[0].trim()), "{screen}");
    wait_for(HANG, "every job to end", || {
        csa.session_ids().iter().all(|id| csa.result(id).is_some())
    });
}

/// Each shortcut's `--help` names the `csa session` command it is short for.
#[test]
fn each_shortcuts_help_names_its_long_form() {
    let csa = Csa::new();
    for (short, long) in [
        ("ls", "list"),
        ("show", "show"),
        ("wait", "wait"),
        ("attach", "attach"),
        ("logs", "logs"),
        ("kill", "kill"),
        ("result", "result"),
        ("rm", "rm"),
        ("rerun", "rerun"),
    ] {
        let help = stdout(&csa.output(&[short, "--help"]));
        let said = format!("A shortcut for `csa session {long}`: the same options and output.");
        assert!(
            help.contains(&said),
            "csa {short} --help lacks {said:?}:\n{help}"
        );
    }
}
