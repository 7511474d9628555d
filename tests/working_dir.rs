//! `--cd DIR`: a directory that does not exist or cannot be entered is refused before any
//! session is created, as a missing or non-executable program is (127, 126), with one
//! line naming the directory. (`run` used to exit 0 and the result said later "error 13
//! from exec".)

use crate::support::isolation::{self, Namespace, Throwaway};
use crate::support::{Csa, code, stderr, stdout};

/// Checks a refusal of `--cd`: `expected`, one line naming `dir`, nothing on stdout, no
/// session.
#[track_caller]
fn assert_refused(out: &std::process::Output, expected: i32, dir: &str, sessions: &[String]) {
    let text = stderr(out);
    assert_eq!(code(out), expected, "{dir}: {text}");
    assert_eq!(text.lines().count(), 1, "{dir}: {text}");
    assert!(
        text.starts_with("csa: cannot use --cd") && text.contains(dir),
        "{dir}: {text}"
    );
    assert_eq!(stdout(out), "", "{dir}");
    assert!(sessions.is_empty(), "{dir}: left behind {sessions:?}");
}

#[test]
fn a_missing_directory_is_127_and_a_file_is_126() {
    let csa = Csa::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let missing = dir.path().join("missing");
    for (cd, expected) in [(&missing, 127), (&file, 126)] {
        let cd = cd.to_str().unwrap();
        for no_daemon in [false, true] {
            let mut args = vec!["run", "--cd", cd];
            if no_daemon {
                args.push("--no-daemon");
            }
            args.push("true");
            let out = csa.output(&args);
            assert_refused(&out, expected, cd, &csa.session_entries());
        }
    }
}

/// A directory the user may not enter (no search permission), as the throwaway user:
/// root may enter any directory.
#[test]
#[ignore = "needs root: the throwaway user csatest and a private PID namespace (CI runs it)"]
fn a_directory_that_cannot_be_entered_is_126() {
    let user = Throwaway::new(isolation::USER);
    let out = Namespace::new(
        r#"cd "$HOME"
mkdir locked && chmod 0600 locked
for mode in daemon no-daemon; do
    if [ "$mode" = daemon ]; then "$CSA" run --cd locked true; else "$CSA" run --no-daemon --cd locked true; fi >"$mode.out" 2>"$mode.err"
    echo "$mode=$?"
done
"#,
    )
    .user(&user)
    .run();
    let report = stdout(&out);
    for mode in ["daemon", "no-daemon"] {
        assert!(
            report.contains(&format!("{mode}=126")),
            "{report}\n{}",
            stderr(&out)
        );
        let err = std::fs::read_to_string(user.home().join(format!("{mode}.err"))).unwrap();
        assert_eq!(err.lines().count(), 1, "{mode}: {err}");
        assert!(
            err.starts_with("csa: cannot use --cd: the directory cannot be entered")
                && err.contains("locked"),
            "{mode}: {err}"
        );
        let printed = std::fs::read_to_string(user.home().join(format!("{mode}.out"))).unwrap();
        assert_eq!(printed, "", "{mode}");
    }
    assert!(
        user.session_entries().is_empty(),
        "{:?}",
        user.session_entries()
    );
}
