//! `--color=auto|always|never`, `NO_COLOR` and `CLICOLOR_FORCE`, for every command that
//! colours.

use crate::support::{Csa, code, stderr, stdout};

#[test]
fn colour_follows_the_flag_then_no_color_then_clicolor_force() {
    let csa = Csa::new();
    let id = csa.run("exit 3");
    assert_eq!(code(&csa.wait(&id)), 3);
    let coloured = |env: &[(&str, &str)], args: &[&str]| -> bool {
        let mut command = csa.cmd();
        command.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
        for (key, value) in env {
            command.env(key, value);
        }
        let out = crate::support::output_within(command.args(args), crate::support::HANG);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        stdout(&out).contains('\x1b')
    };
    for command in [
        &["ls"][..],
        &["session", "list"][..],
        &["status", "--all"][..],
    ] {
        // Through a pipe: none by default.
        assert!(!coloured(&[], command), "{command:?}");
        let with = |flag: &'static str| -> Vec<&str> { [command, &[flag][..]].concat() };
        assert!(coloured(&[], &with("--color=always")), "{command:?}");
        assert!(!coloured(&[], &with("--color=never")), "{command:?}");
        assert!(coloured(&[("CLICOLOR_FORCE", "1")], command), "{command:?}");
        assert!(
            !coloured(&[("CLICOLOR_FORCE", "0")], command),
            "{command:?}"
        );
        assert!(!coloured(
            &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")],
            command
        ));
        assert!(
            coloured(&[("NO_COLOR", "1")], &with("--color=always")),
            "{command:?}"
        );
        assert!(!coloured(
            &[("CLICOLOR_FORCE", "1")],
            &with("--color=never")
        ));
    }
    // Before the subcommand too.
    assert!(coloured(&[], &["--color", "always", "ls"]));
    let out = csa.output(&["ls", "--color=sometimes"]);
    assert_eq!(code(&out), 2);
}
