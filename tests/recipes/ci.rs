//! The CI recipes of docs/ci.md: a capped wait in a loop, and the GitHub Actions workflow run
//! step by step as GitHub Actions runs it.

use std::collections::HashMap;
use std::path::PathBuf;

use super::{Sandbox, recipe};
use crate::support::{assert_contains, assert_exit, directive, stderr, stdout};

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
