//! Configuration files: user and project files add and override tools; a malformed one is
//! named with its line.

use super::Bench;
use crate::support::{
    HANG, assert_contains, assert_exit, assert_success, output_within, started_id, stderr, stdout,
};

#[test]
fn user_and_project_configuration_add_and_override_tools() {
    let bench = Bench::new();
    let user_config = bench.path("config/csa/config.toml");
    bench.write(
        "config/csa/config.toml",
        "# user tools\n[tools.review]\nargv = [\"codex\", \"--model\", \"m1\", \"{prompt}\"]\n\n[tools.claude]\nstdin = true\n",
    );
    bench.write(
        "proj/.csa/config.toml",
        "[tools.review]\nargv = [\"gemini\", \"--prompt={prompt}\"]\nstdin_argv = [\"gemini\", \"-p\"]\n",
    );
    std::fs::create_dir_all(bench.path("proj/sub/deeper")).unwrap();
    std::fs::create_dir_all(bench.path("elsewhere")).unwrap();

    let outside = bench.path("elsewhere");
    let got = bench.run_and_wait(&["--cd", outside.to_str().unwrap(), "--tool", "review", "hi"]);
    assert_eq!(got, "prog:codex\narg:--model\narg:m1\narg:hi\nstdin:");
    // The project file, found from the job's directory upwards, overrides the user's.
    let deeper = bench.path("proj/sub/deeper");
    let got = bench.run_and_wait(&["--cd", deeper.to_str().unwrap(), "--tool", "review", "hi"]);
    assert_eq!(got, "prog:gemini\narg:--prompt=hi\nstdin:");
    // `stdin = true` keeps the preset's argv and feeds the prompt on stdin.
    let got = bench.run_and_wait(&["--tool", "claude", "on stdin"]);
    assert_eq!(got, "prog:claude\narg:-p\nstdin:on stdin");
    // A project's tool with its own command line for prompts on standard input.
    let big = format!("{}!", "b".repeat(100 * 1024));
    let cd = deeper.to_str().unwrap();
    let id = started_id(&bench.output(&["run", "--cd", cd, "--tool", "review", &big]));
    let waited = bench.csa.wait(&id);
    assert_eq!(stdout(&waited), format!("prog:gemini\narg:-p\nstdin:{big}"));

    let mut tools = bench.cmd(&["tools", "--json"]);
    tools.current_dir(&deeper);
    let out = output_within(&mut tools, HANG);
    assert_success(&out, "csa tools --json");
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let find = |name: &str| {
        json.as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} not listed: {json}"))
            .clone()
    };
    assert_eq!(find("sh")["source"], "built-in");
    assert_eq!(find("sh")["path"], "/bin/sh");
    let review = find("review");
    assert_eq!(
        review["source"],
        bench.path("proj/.csa/config.toml").to_str().unwrap()
    );
    assert_eq!(review["argv"][1], "--prompt={prompt}");
    let claude = find("claude");
    assert_eq!(claude["source"], user_config.to_str().unwrap());
    assert_eq!(claude["stdin"], true);
    assert_eq!(
        find("codex")["path"],
        bench.path("bin/codex").to_str().unwrap()
    );

    let mut table = bench.cmd(&["tools"]);
    table
        .current_dir(&deeper)
        .env("PATH", bench.path("empty-path"));
    let out = output_within(&mut table, HANG);
    assert_success(&out, "csa tools");
    let text = stdout(&out);
    let opencode = text.lines().find(|l| l.starts_with("opencode ")).unwrap();
    assert!(
        opencode.contains("not found") && opencode.contains("built-in"),
        "{text}"
    );
    let claude = text.lines().find(|l| l.starts_with("claude ")).unwrap();
    assert!(claude.ends_with("claude -p < {prompt}"), "{text}");
    let codex = text.lines().find(|l| l.starts_with("codex ")).unwrap();
    assert!(
        codex.contains(" codex ")
            && codex.contains(" 1h ")
            && codex.ends_with("codex exec --skip-git-repo-check - < {prompt}"),
        "{text}"
    );
}

#[test]
fn a_malformed_configuration_names_the_file_and_line() {
    let bench = Bench::new();
    let proj = bench.project("[tools.a]\nargv = [\"a\", \"{prompt}\"]\nstdin = maybe\n");
    let out = bench.output(&["run", "--cd", proj.to_str().unwrap(), "echo hi"]);
    assert_exit(&out, 125);
    let err = stderr(&out);
    let place = format!("{}:3:", bench.path("proj/.csa/config.toml").display());
    assert!(
        err.starts_with("csa: malformed config: ") && err.contains(&place),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    bench.csa.assert_no_session("a malformed configuration");

    bench.write("config/csa/config.toml", "[tools.b]\nargv = [\"b\"]\n");
    let mut tools = bench.cmd(&["tools"]);
    tools.current_dir(bench.path("config"));
    let out = output_within(&mut tools, HANG);
    assert_exit(&out, 125);
    let err = stderr(&out);
    assert_contains(&err, &["{prompt}", "config.toml:1:"]);
}
