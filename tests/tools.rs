//! Tools: the agent CLI presets (checked with stand-in executables on a temporary PATH that
//! record their argv and standard input), configuration files, `csa tools`, completions
//! and the examples in `--help`.

use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Output};

use crate::support::{
    Csa, HANG, assert_contains, assert_exit, assert_success, output_with_input, output_within,
    started_id, stderr, stdout, wait_for,
};
use crate::support_everyday::isolate_config;

/// A stand-in agent CLI: prints its name, each argument on a line, then its stdin.
const STAND_IN: &str = "#!/bin/sh\n\
printf 'prog:%s\\n' \"${0##*/}\"\n\
for a in \"$@\"; do printf 'arg:%s\\n' \"$a\"; done\n\
printf 'stdin:'\n\
cat\n";

/// A temporary directory with stand-ins for every preset's program in `bin/`, and an
/// empty configuration home.
pub struct Bench {
    pub csa: Csa,
    root: tempfile::TempDir,
}

impl Bench {
    pub fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for name in ["codex", "claude", "gemini", "opencode"] {
            let path = bin.join(name);
            std::fs::write(&path, STAND_IN).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::create_dir_all(root.path().join("config/home")).unwrap();
        Self {
            csa: Csa::new(),
            root,
        }
    }

    pub fn path(&self, rel: &str) -> std::path::PathBuf {
        self.root.path().join(rel)
    }

    /// `csa ARGS…` with the stand-ins first on PATH and the bench's configuration home.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut command = self.csa.cmd();
        let path = format!("{}:/usr/bin:/bin", self.path("bin").display());
        command.args(args).env("PATH", path);
        isolate_config(&mut command, &self.path("config"));
        command
    }

    /// [`Bench::cmd`] to its end.
    pub fn output(&self, args: &[&str]) -> Output {
        output_within(&mut self.cmd(args), HANG)
    }

    /// `csa run ARGS…` then `wait`: the job's stdout.
    pub fn run_and_wait(&self, args: &[&str]) -> String {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        let out = output_within(&mut self.cmd(&all), HANG);
        assert_success(&out, "csa run");
        let id = stdout(&out).trim().to_owned();
        let waited = self.csa.wait(&id);
        assert_success(&waited, "csa session wait");
        stdout(&waited)
    }

    /// `csa run ARGS…` with `input` on its standard input (the prompt), then `wait`: the
    /// job's stdout.
    pub fn run_with_stdin_and_wait(&self, args: &[&str], input: &str) -> String {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        let id = started_id(&output_with_input(&mut self.cmd(&all), input.as_bytes()));
        let waited = self.csa.wait(&id);
        assert_success(&waited, "csa session wait");
        stdout(&waited)
    }

    /// A project directory `proj` whose `.csa/config.toml` holds `config`.
    pub fn project(&self, config: &str) -> std::path::PathBuf {
        self.write("proj/.csa/config.toml", config);
        self.path("proj")
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

#[test]
fn presets_pass_the_prompt_as_their_cli_expects() {
    let bench = Bench::new();
    // Every agent preset takes its prompt on standard input (never in the agent's argv,
    // which every local user can read) — also one that starts like an option.
    let prompt = "- fix the bug in 'parser.rs' \"now\"";
    let on_stdin = format!("stdin:{prompt}");
    for (tool, expected) in [
        (
            "codex",
            vec![
                "prog:codex",
                "arg:exec",
                "arg:--skip-git-repo-check",
                "arg:-",
                &on_stdin,
            ],
        ),
        ("claude", vec!["prog:claude", "arg:-p", &on_stdin]),
        (
            "gemini",
            vec![
                "prog:gemini",
                "arg:--skip-trust",
                "arg:--prompt=",
                &on_stdin,
            ],
        ),
        ("opencode", vec!["prog:opencode", "arg:run", &on_stdin]),
    ] {
        let got = bench.run_with_stdin_and_wait(&["--tool", tool], prompt);
        assert_eq!(got.lines().collect::<Vec<_>>(), expected, "tool {tool}");
        let plain = bench.run_and_wait(&["--tool", tool, "review"]);
        assert!(plain.contains("review"), "{tool}: {plain}");
    }
}

#[test]
fn prompts_over_100_kib_go_on_standard_input() {
    let bench = Bench::new();
    let prompt = format!("{}\nend of prompt", "p".repeat(100 * 1024));
    for (tool, args) in [
        ("codex", "arg:exec\narg:--skip-git-repo-check\narg:-\n"),
        ("claude", "arg:-p\n"),
        ("gemini", "arg:--skip-trust\narg:--prompt=\n"),
        ("opencode", "arg:run\n"),
    ] {
        let got = bench.run_with_stdin_and_wait(&["--tool", tool], &prompt);
        assert_eq!(got, format!("prog:{tool}\n{args}stdin:{prompt}"), "{tool}");
    }
}

#[test]
fn a_missing_preset_program_exits_127_naming_it() {
    let bench = Bench::new();
    let empty = bench.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let mut command = bench.cmd(&["run", "--tool", "gemini", "hello"]);
    command.env("PATH", &empty);
    let out = output_within(&mut command, HANG);
    assert_exit(&out, 127);
    let err = stderr(&out);
    assert!(
        err.starts_with("csa: cannot run tool gemini: gemini "),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    bench.csa.assert_no_session("a missing preset program");
}

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

#[test]
fn completions_for_bash_zsh_and_fish() {
    let csa = Csa::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = csa.output(&["completions", shell]);
        assert_success(&out, shell);
        // The script asks csa at each Tab (tests/completion.rs drives it in each shell).
        assert!(stdout(&out).contains("CSA_COMPLETE"), "{shell}");
    }
    let complete = |words: &[&str]| {
        let out = output_within(
            csa.cmd().env("CSA_COMPLETE", "fish").arg("--").args(words),
            HANG,
        );
        assert_success(&out, "complete");
        stdout(&out)
    };
    assert!(complete(&["csa", "session", "cl"]).contains("clean"));
    assert!(complete(&["csa", "session", "clean", "--ol"]).contains("--older-than"));
    assert!(
        !complete(&["csa", ""]).contains("__supervise"),
        "hidden command completed"
    );
    assert_eq!(csa.output(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn every_command_has_examples_in_its_help() {
    let csa = Csa::new();
    let commands: &[&[&str]] = &[
        &[],
        &["run"],
        &["session"],
        &["session", "wait"],
        &["session", "list"],
        &["session", "result"],
        &["session", "logs"],
        &["session", "clean"],
        &["session", "attach"],
        &["session", "kill"],
        &["tools"],
        &["completions"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let out = csa.output(&args);
        assert_success(&out, &args.join(" "));
        assert!(
            stdout(&out).contains("Examples:"),
            "no examples in `csa {}`",
            args.join(" ")
        );
    }
}

/// `csa tools --help` names every field `csa tools --json` prints.
#[test]
fn tools_help_names_every_json_field() {
    let csa = Csa::new();
    let out = csa.output(&["tools", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let tools: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let help = stdout(&csa.output(&["tools", "--help"]));
    let mut fields = 0;
    for tool in tools.as_array().unwrap() {
        for key in tool.as_object().unwrap().keys() {
            assert!(
                help.contains(&format!("`{key}`")),
                "{key} is not in:\n{help}"
            );
            fields += 1;
        }
    }
    assert!(fields >= 9, "{tools}");
}

/// A prompt is nobody else's: no process of the session — not the supervisor, not the
/// agent, not the shell of a script given on standard input — carries it in its argv,
/// which every local user can read (`ps`).
#[test]
fn no_process_of_a_session_carries_the_prompt_in_its_argv() {
    let bench = Bench::new();
    bench.write(
        "bin/claude",
        "#!/bin/sh\ncat >/dev/null\necho ready\nexec sleep 600\n",
    );
    std::fs::set_permissions(
        bench.path("bin/claude"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let secret = "the-secret-prompt-4Q7Z";
    // A shell script given on standard input runs as `/bin/sh -s`, off the argv too.
    let script = format!("echo ready; sleep 600 # {secret}");
    for (args, input) in [
        (vec!["run", "--tool", "claude", secret], None),
        (vec!["run", "--tool", "claude"], Some(secret)),
        (vec!["run"], Some(script.as_str())),
    ] {
        let out = match input {
            None => bench.output(&args),
            Some(input) => output_with_input(&mut bench.cmd(&args), input.as_bytes()),
        };
        let id = started_id(&out);
        let log = bench.csa.session_dir(&id).join("stdout.log");
        wait_for(HANG, "the agent to read its prompt", || {
            std::fs::read_to_string(&log).is_ok_and(|text| text.contains("ready"))
        });
        let mut carriers = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline"))
                && cmdline
                    .windows(secret.len())
                    .any(|w| w == secret.as_bytes())
            {
                carriers.push(String::from_utf8_lossy(&cmdline).replace('\0', " "));
            }
        }
        assert_success(
            &bench.csa.output(&["session", "kill", &id]),
            "csa session kill",
        );
        assert!(
            carriers.is_empty(),
            "the prompt is in the argv of {carriers:?}"
        );
    }
}
