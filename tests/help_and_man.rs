//! `--help` carries each command's exit codes; `csa man` renders the same definitions as
//! manual pages.

use crate::support::{Csa, assert_contains, assert_success, stdout};

#[test]
fn help_lists_every_exit_code() {
    let csa = Csa::new();
    for (command, wanted) in [
        (
            &["session", "attach"][..],
            &["124", "130", "reader of stdout went away", "125"][..],
        ),
        (
            &["session", "wait"][..],
            &["124", "KV_WARM", "lost", "125"][..],
        ),
        (&["session", "kill"][..], &["0 ", "125"][..]),
        (&["run"][..], &["126", "127", "empty prompt"][..]),
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let out = csa.output(&args);
        assert_success(&out, "help");
        let help = stdout(&out);
        let codes = &help[help.find("Exit codes:").expect("Exit codes section")..];
        for text in wanted {
            assert!(
                codes.contains(text),
                "{command:?} --help lacks {text:?}:\n{help}"
            );
        }
    }
}

#[test]
fn man_prints_a_page_and_writes_one_per_command() {
    let csa = Csa::new();
    let out = csa.output(&["man"]);
    assert_success(&out, "man");
    let page = stdout(&out);
    assert_contains(&page, &[".TH csa 1"]);
    assert!(
        page.contains("session") && !page.contains("__supervise"),
        "{page}"
    );
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let out = csa.output_with("man --dir", pages.to_str().unwrap());
    assert_success(&out, "man --dir");
    for name in [
        "csa.1",
        "csa-run.1",
        "csa-session.1",
        "csa-session-wait.1",
        "csa-session-kill.1",
    ] {
        let text = std::fs::read_to_string(pages.join(name)).unwrap_or_else(|_| panic!("{name}"));
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{name}");
        assert!(stdout(&out).contains(name), "{name} not listed");
    }
    let wait = std::fs::read_to_string(pages.join("csa-session-wait.1")).unwrap();
    assert_contains(&wait, &["Exit codes", "124"]);
}
