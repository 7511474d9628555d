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

/// Help is written for people: no command's `--help` nor any manual page carries the
/// rustdoc syntax of the doc comments it is made from (links in brackets, `crate::` paths).
#[test]
fn help_and_manual_pages_carry_no_rustdoc_links() {
    let csa = Csa::new();
    let dir = tempfile::tempdir().unwrap();
    let out = csa.output(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert_success(&out, "man --dir");
    let mut pages = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let page = std::fs::read_to_string(&path).unwrap();
        // `csa-session-wait` is `csa session wait --help`.
        let mut args: Vec<&str> = name.split('-').skip(1).collect();
        args.push("--help");
        let help = csa.output(&args);
        assert_success(&help, &format!("{args:?}"));
        let help = stdout(&help);
        for (what, text) in [("man page", &page), ("--help", &help)] {
            for link in ["[`", "`]", "crate::", "Self::", "See [", "::Success"] {
                assert!(!text.contains(link), "{name} {what} has {link:?}:\n{text}");
            }
        }
        pages += 1;
    }
    assert!(pages >= 10, "only {pages} manual pages");
}
