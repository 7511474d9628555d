//! The shell recipes of the documentation, run literally: each is read from its Markdown
//! file (the fenced block after `<!-- recipe: NAME -->`), so the docs and this test cannot
//! drift. `cargo` and `make` are stand-ins on `PATH` (installing copies the built binary;
//! `make TARGET` sleeps `MAKE_SLEEP` seconds, prints, and exits `MAKE_EXIT` when TARGET is
//! `MAKE_FAIL`; with `MAKE_GATE`, it first waits for that file); everything else is real.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{
    Csa, HANG, assert_contains, assert_exit, assert_output, directive, output_within, stderr,
    stdout,
};

mod tour;

/// The fenced block after `<!-- recipe: NAME -->` in `doc` (relative to the repository).
fn recipe(doc: &str, name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(doc);
    let text = std::fs::read_to_string(&path).unwrap();
    let marker = format!("<!-- recipe: {name} -->\n");
    let start = text
        .find(&marker)
        .unwrap_or_else(|| panic!("{doc}: no {marker}"))
        + marker.len();
    let block = &text[start..];
    assert!(
        block.starts_with("```"),
        "{doc}: {name} is not followed by a code block"
    );
    let body = &block[block.find('\n').unwrap() + 1..];
    body[..=body.find("\n```").unwrap()].to_owned()
}

/// A private installation: a state root, a home, and `cargo`/`make` stand-ins on `PATH`.
struct Sandbox {
    csa: Csa,
    home: tempfile::TempDir,
    bin: tempfile::TempDir,
    work: tempfile::TempDir,
}

const CARGO: &str = r#"#!/bin/sh
case "$1" in
  install) dir="${CARGO_HOME:-$HOME/.cargo}/bin"; mkdir -p "$dir" && cp "$CSA_BUILT" "$dir/csa" ;;
  --version) echo "cargo 1.0.0 (stand-in)" ;;
  *) echo "cargo stand-in: $*" >&2; exit 1 ;;
esac
"#;

const CODEX: &str = r#"#!/bin/sh
echo "codex ran"
"#;

const MAKE: &str = r#"#!/bin/sh
# With MAKE_GATE, first wait (at most 10 minutes) for that file to exist.
n=0
while [ -n "${MAKE_GATE:-}" ] && [ ! -e "$MAKE_GATE" ] && [ "$n" -lt 6000 ]; do sleep 0.1; n=$((n + 1)); done
sleep "${MAKE_SLEEP:-0}"
echo "make $1 ran"
if [ "$1" = "${MAKE_FAIL:-}" ]; then exit "${MAKE_EXIT:-1}"; fi
"#;

impl Sandbox {
    fn new() -> Self {
        let bin = tempfile::tempdir().unwrap();
        for (name, text) in [("cargo", CARGO), ("make", MAKE), ("codex", CODEX)] {
            let path = bin.path().join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Self {
            csa: Csa::new(),
            home: tempfile::tempdir().unwrap(),
            bin,
            work: tempfile::tempdir().unwrap(),
        }
    }

    /// `PATH` with the stand-ins and, unless `installed` is false, csa itself.
    fn path(&self, installed: bool) -> String {
        let csa = Path::new(env!("CARGO_BIN_EXE_csa")).parent().unwrap();
        if installed {
            format!(
                "{}:{}:/usr/bin:/bin",
                self.bin.path().display(),
                csa.display()
            )
        } else {
            format!("{}:/usr/bin:/bin", self.bin.path().display())
        }
    }

    /// `shell ARGS… -c script` in the work directory with a clean environment plus `env`.
    fn run(&self, shell: &[&str], script: &str, installed: bool, env: &[(&str, &str)]) -> Output {
        output_within(&mut self.command(shell, script, installed, env), HANG)
    }

    /// The command [`Sandbox::run`] runs, not started.
    fn command(
        &self,
        shell: &[&str],
        script: &str,
        installed: bool,
        env: &[(&str, &str)],
    ) -> Command {
        let mut command = Command::new(shell[0]);
        command
            .args(&shell[1..])
            .arg("-c")
            .arg(script)
            .current_dir(self.work.path())
            .env_clear()
            .env("PATH", self.path(installed))
            .env("HOME", self.home.path())
            .env("CSA_STATE_DIR", self.csa.state.path())
            .env("CSA_BUILT", env!("CARGO_BIN_EXE_csa"))
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null());
        command
    }
}

#[test]
fn readme_set_up_installs_and_runs_a_detached_job_to_its_result() {
    let text = recipe("README.md", "setup");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "the set-up is two command lines: {text}");
    assert_eq!(
        lines[1], "cargo test --locked",
        "the second line runs the tests"
    );
    let sandbox = Sandbox::new();
    let out = sandbox.run(&["sh"], lines[0], false, &[]);
    assert_output(&out, 0, "cargo 1.0.0 (stand-in)\nbuilt\n");
    assert!(
        directive(&stderr(&out), "SESSION_WAIT_COMPLETED")
            .is_some_and(|l| l.contains(" status=success "))
    );
    assert!(sandbox.home.path().join(".cargo/bin/csa").exists());
}

#[test]
fn readme_quick_start_reports_the_jobs_failure() {
    let sandbox = Sandbox::new();
    let script = recipe("README.md", "quick-start");
    let out = sandbox.run(&["sh"], &script, true, &[]);
    assert_output(&out, 0, "cargo 1.0.0 (stand-in)\nexit=3\n");
    let err = stderr(&out);
    let line = directive(&err, "SESSION_WAIT_COMPLETED").expect("completed");
    assert_contains(line, &[" status=failure exit=3 "]);
    // What the recipe's comments say a terminal shows, stderr's tail included, in order.
    let shown: Vec<&str> = script
        .lines()
        .filter_map(|line| line.strip_prefix("# "))
        .collect();
    let terminal = format!("{}{err}", stdout(&out));
    for (said, prefix) in [
        (1, "csa: the last 20 lines of stderr.log of session "),
        (2, "to-stderr"),
        (3, "CSA:SESSION_WAIT_COMPLETED "),
        (4, "exit=3"),
    ] {
        assert!(shown[said].starts_with(prefix), "{script}");
        assert!(
            terminal.lines().any(|line| line.starts_with(prefix)),
            "{terminal}"
        );
    }
}

/// The completion install lines work in a fresh home (their directories do not exist yet).
#[test]
fn shell_completion_install_lines_work_in_a_fresh_home() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&["sh"], &recipe("docs/shell.md", "completions"), true, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for file in [
        ".local/share/bash-completion/completions/csa",
        ".zfunc/_csa",
        ".config/fish/completions/csa.fish",
    ] {
        let text = std::fs::read_to_string(sandbox.home.path().join(file)).unwrap();
        assert!(text.contains("CSA_COMPLETE"), "{file}: {text}");
    }
}

#[test]
fn ci_capped_wait_loop_waits_across_the_cap_and_exits_with_the_jobs_code() {
    let sandbox = Sandbox::new();
    let script = recipe("docs/ci.md", "capped-wait-loop");
    let env = [
        ("CSA_TEST_WAIT_CAP_MS", "300"),
        ("MAKE_SLEEP", "1"),
        ("MAKE_FAIL", "test"),
        ("MAKE_EXIT", "4"),
    ];
    let out = sandbox.run(&["sh"], &script, true, &env);
    assert_exit(&out, 4);
    assert_contains(&stdout(&out), &["make test ran"]);
    assert!(
        directive(&stderr(&out), "SESSION_WAIT_COMPLETED").is_some(),
        "{}",
        stderr(&out)
    );
}

/// One step of the GitHub Actions recipe.
#[derive(Debug, Default)]
struct Step {
    name: String,
    id: Option<String>,
    condition: Option<String>,
    run: Option<String>,
}

/// The steps of the workflow in `yaml` (the subset the recipe uses: `name`, `id`, `if`,
/// `uses`, and `run` on one line or as a `|` block).
fn steps(yaml: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut lines = yaml.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let (key, value) = match trimmed.strip_prefix("- ") {
            Some(rest) => {
                steps.push(Step::default());
                rest.split_once(": ").unwrap_or((rest, ""))
            }
            None => trimmed.split_once(": ").unwrap_or((trimmed, "")),
        };
        let Some(step) = steps.last_mut() else {
            continue;
        };
        match key {
            "name" => value.clone_into(&mut step.name),
            "id" => step.id = Some(value.to_owned()),
            "if" => step.condition = Some(value.to_owned()),
            "run" if value == "|" => {
                let mut block = String::new();
                while let Some(next) = lines.peek() {
                    let depth = next.len() - next.trim_start().len();
                    if !next.trim().is_empty() && depth <= indent {
                        break;
                    }
                    block.push_str(next.trim_start());
                    block.push('\n');
                    lines.next();
                }
                step.run = Some(block);
            }
            "run" => step.run = Some(value.to_owned()),
            _ => {}
        }
    }
    steps
}

/// Runs the workflow's steps as GitHub Actions does (`bash --noprofile --norc -eo pipefail`,
/// `$GITHUB_OUTPUT`, `${{ steps.ID.outputs.KEY }}`, `if: failure() && …`). Returns each
/// step's name and exit code (`None` when skipped).
fn run_workflow(sandbox: &Sandbox, env: &[(&str, &str)]) -> Vec<(String, Option<i32>)> {
    let yaml = recipe("docs/ci.md", "github-actions");
    let mut outputs: HashMap<String, String> = HashMap::new();
    let mut failed = false;
    let mut report = Vec::new();
    for step in steps(&yaml) {
        let Some(script) = &step.run else { continue };
        if let Some(condition) = &step.condition {
            assert_eq!(
                condition, "failure() && steps.integration.outputs.sid != ''",
                "a new condition in the recipe: teach this test to evaluate it"
            );
            let sid = outputs.get("integration.sid").map_or("", String::as_str);
            if !failed || sid.is_empty() {
                report.push((step.name, None));
                continue;
            }
        } else if failed {
            report.push((step.name, None));
            continue;
        }
        // `${{ steps.ID.outputs.KEY }}`: the step's output, empty when it set none.
        let mut script = script.clone();
        while let Some(start) = script.find("${{ steps.") {
            let end = start + script[start..].find(" }}").expect("closed expression") + 3;
            let expression = &script[start + 10..end - 3];
            let (id, key) = expression
                .split_once(".outputs.")
                .expect("steps.ID.outputs.KEY");
            let value = outputs
                .get(&format!("{id}.{key}"))
                .cloned()
                .unwrap_or_default();
            script.replace_range(start..end, &value);
        }
        assert!(
            !script.contains("${{"),
            "unevaluated expression in {script}"
        );
        let output_file: PathBuf = sandbox.work.path().join("github-output");
        std::fs::write(&output_file, "").unwrap();
        let mut all_env = env.to_vec();
        let output_path = output_file.display().to_string();
        all_env.push(("GITHUB_OUTPUT", &output_path));
        let bash = ["bash", "--noprofile", "--norc", "-eo", "pipefail"];
        let out = sandbox.run(&bash, &script, step.name != "Install csa", &all_env);
        let code = out.status.code();
        if let Some(id) = &step.id {
            for line in std::fs::read_to_string(&output_file).unwrap().lines() {
                let (key, value) = line.split_once('=').unwrap();
                outputs.insert(format!("{id}.{key}"), value.to_owned());
            }
        }
        failed |= code != Some(0);
        report.push((step.name, code));
    }
    report
}

fn step(report: &[(String, Option<i32>)], name: &str) -> Option<i32> {
    report
        .iter()
        .find(|(n, _)| n.starts_with(name))
        .unwrap_or_else(|| panic!("{name}: {report:?}"))
        .1
}

#[test]
fn ci_github_actions_recipe_passes_and_fails_with_the_job() {
    let sandbox = Sandbox::new();
    let report = run_workflow(&sandbox, &[]);
    assert!(
        report
            .iter()
            .filter(|(_, c)| c.is_some())
            .all(|(_, c)| *c == Some(0)),
        "{report:?}"
    );
    assert_eq!(step(&report, "Their stderr"), None, "{report:?}");

    let sandbox = Sandbox::new();
    let report = run_workflow(
        &sandbox,
        &[("MAKE_FAIL", "integration-test"), ("MAKE_EXIT", "3")],
    );
    assert_eq!(step(&report, "Wait for"), Some(3), "{report:?}");
    assert_eq!(step(&report, "Their stderr"), Some(0), "{report:?}");
}

/// The start step fails when `csa run` fails (here: the state root is a file).
#[test]
fn ci_github_actions_recipe_does_not_hide_a_failed_start() {
    let sandbox = Sandbox::new();
    let not_a_dir = sandbox.work.path().join("state-file");
    std::fs::write(&not_a_dir, "").unwrap();
    let root = not_a_dir.display().to_string();
    let report = run_workflow(&sandbox, &[("CSA_STATE_DIR", &root)]);
    assert_eq!(
        step(&report, "Start the integration"),
        Some(125),
        "{report:?}"
    );
    assert_eq!(step(&report, "Wait for"), None, "{report:?}");
}

#[test]
fn fleets_ci_recipe_waits_for_eight_jobs_and_exits_with_the_first_failure() {
    let sandbox = Sandbox::new();
    let script = recipe("docs/fleets.md", "fleet-ci");
    let out = sandbox.run(&["sh"], &script, true, &[]);
    assert_all_ran(&out, " ran\n", 8);

    let sandbox = Sandbox::new();
    let env = [("MAKE_FAIL", "integration"), ("MAKE_EXIT", "7")];
    let out = sandbox.run(&["sh"], &script, true, &env);
    assert_exit(&out, 7);
}

#[test]
fn fleets_agent_recipe_runs_every_task_through_the_queue() {
    let sandbox = Sandbox::new();
    let tasks = sandbox.work.path().join("tasks");
    std::fs::create_dir(&tasks).unwrap();
    for name in ["a", "b", "c", "d", "e"] {
        std::fs::write(tasks.join(format!("{name}.md")), format!("review {name}\n")).unwrap();
    }
    let out = sandbox.run(
        &["sh"],
        &recipe("docs/fleets.md", "fleet-agents"),
        true,
        &[],
    );
    assert_all_ran(&out, "codex ran\n", 5);
}

/// The recipe exited 0, printed `line` once per job, and its wait's summary counts `jobs`
/// sessions, all successful.
#[track_caller]
fn assert_all_ran(out: &std::process::Output, line: &str, jobs: usize) {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    assert_eq!(stdout(out).matches(line).count(), jobs, "{}", stdout(out));
    let err = stderr(out);
    let summary = directive(&err, "SESSION_WAIT_SUMMARY").expect("summary");
    assert_contains(summary, &[&format!("total={jobs} success={jobs}")]);
}
