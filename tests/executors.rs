//! Executors by name: the configuration's `executor` and `[executors.NAME]` keys, options
//! meant for another executor, and sessions whose `session.toml` names an executor this
//! csa does not have (written by another csa). Completion of `--executor` is in
//! tests/completion.rs.

use std::io::Write as _;
use std::process::Output;

use crate::support::{
    Csa, HANG, assert_contains, assert_error, assert_exit, carrying, output_within, stderr, stdout,
};
use crate::support_everyday::isolate_config;

/// `csa ARGS…` in a project whose `.csa/config.toml` holds `config`, without the user's own
/// configuration.
fn in_project(csa: &Csa, config: &str, args: &[&str]) -> (Output, String) {
    let project = crate::support::project(config);
    let home = tempfile::tempdir().unwrap();
    let mut command = csa.cmd();
    isolate_config(&mut command, home.path())
        .current_dir(project.path())
        .args(args);
    let file = project.path().join(".csa/config.toml");
    (
        output_within(&mut command, HANG),
        file.display().to_string(),
    )
}

/// Every command that reads the configuration refuses an executor csa does not have, a
/// table for one without settings, a key its executor does not take and a value it
/// refuses: exit 125, one line naming the file, line and column (and the key for a value).
#[test]
fn the_configuration_names_unknown_executors_and_their_keys() {
    let csa = Csa::new();
    let cases = [
        (
            "executor = \"cloud\"\n",
            "unknown variant `cloud`, expected `local` or `slurm`",
            ":1:12)",
        ),
        (
            "[executors.kube]\nx = 1\n",
            "unknown field `kube`, expected `slurm`",
            ":1:12)",
        ),
        (
            "[executors.local]\n",
            "unknown field `local`, expected `slurm`",
            ":1:12)",
        ),
        (
            "[executors.slurm]\nargs = [\"-p\"]\nfoo = 2\n",
            "unknown field `foo`, expected `args` or `csa`",
            ":3:1)",
        ),
        (
            "[executors.slurm]\nargs = \"x\"\n",
            "executors.slurm.args: invalid type: string \"x\", expected a sequence",
            ":2:8)",
        ),
    ];
    for (config, why, place) in cases {
        for args in [&["run", "true"][..], &["tools"][..]] {
            let (out, file) = in_project(&csa, config, args);
            let err = assert_error(&out, 125, why);
            assert_contains(
                &err,
                &["csa: malformed config: ", &format!("{file}{place}")],
            );
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
    csa.assert_no_session("a refused configuration");
    // The same keys, right, are taken (the local executor, then Slurm's table unused).
    let config = "executor = \"local\"\n[executors.slurm]\nargs = [\"-p\", \"x\"]\ncsa = \"/c\"\n";
    let (out, _) = in_project(&csa, config, &["run", "-q", "true"]);
    assert_exit(&out, 0);
    let id = stdout(&out).trim().to_owned();
    csa.wait(&id);
    let record = csa.file(&id, "session.toml");
    assert!(!record.contains("executor"), "local is left out:\n{record}");
}

/// Options for an executor go with that executor only: with the local one (given, or
/// configured) `--slurm-arg` is a usage error naming the executor that takes it, and no
/// session is created; an executor csa does not have is refused listing those it has.
#[test]
fn options_for_another_executor_are_refused() {
    let csa = Csa::new();
    let out = csa.output(&["run", "--slurm-arg=-p", "true"]);
    assert_error(&out, 2, "--slurm-arg needs --executor slurm (csa run)");
    let (out, _) = in_project(
        &csa,
        "executor = \"local\"\n",
        &["run", "--slurm-arg=-p", "true"],
    );
    assert_error(&out, 2, "--slurm-arg needs --executor slurm");
    let out = csa.output(&["run", "--executor", "kube", "true"]);
    assert_error(&out, 2, "[possible values: local, slurm]");
    csa.assert_no_session("refused executor options");
}

/// Appends `executor = "kube"` to a session's `session.toml`, as a csa with such an
/// executor would have written it.
fn name_another_executor(csa: &Csa, id: &str) {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(csa.session_dir(id).join("session.toml"))
        .unwrap();
    file.write_all(b"executor = \"kube\"\n").unwrap();
}

/// A session whose record names an executor this csa does not have reads as it is (`show`
/// names its executor, `result` gives its result), and whatever needs the executor
/// itself — `rerun`, `kill`, `wait` once its supervisor is gone — is one clear error
/// naming the session and the executor (exit 125); nothing is signalled.
#[test]
fn a_session_of_an_executor_this_csa_does_not_have_is_named_not_guessed() {
    let csa = Csa::new();
    let ended = csa.run("true");
    csa.wait(&ended);
    let live = csa.run("sleep 300");
    name_another_executor(&csa, &ended);
    name_another_executor(&csa, &live);
    let why = |id: &str| format!("session {id} runs on the executor `kube`, which this csa");

    let out = csa.output(&["show", &ended]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out)
            .lines()
            .any(|line| line.starts_with("executor") && line.ends_with(" kube")),
        "{}",
        stdout(&out)
    );
    let out = csa.output(&["show", "--json", &ended]);
    let shown: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(shown["executor"], "kube");
    assert_exit(&csa.output(&["session", "result", "--session", &ended]), 0);

    let sessions = csa.session_ids().len();
    let out = csa.output(&["rerun", &ended]);
    let err = assert_error(&out, 125, &why(&ended));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(csa.session_ids().len(), sessions, "rerun created a session");

    let out = csa.output(&["session", "kill", "--session", &live]);
    assert_error(&out, 125, &why(&live));
    assert!(!carrying(&live).is_empty(), "the job was stopped");

    // Its supervisor gone, what became of the job is the other csa's to say.
    csa.kill_group(&live);
    let out = csa.output(&["session", "wait", "--session", &live]);
    assert_error(&out, 125, &why(&live));
    assert!(csa.result(&live).is_none(), "a result was guessed");
    let out = csa.output(&["session", "list"]);
    assert_exit(&out, 0);
    assert_contains(&stderr(&out), &[&why(&live)]);
}
