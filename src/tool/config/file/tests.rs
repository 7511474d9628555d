use super::*;
use crate::store::record::ExecutorName;
use crate::tool::config::DEFAULT_QUEUE_SLOTS;
use crate::tool::preset::{AGENT_IDLE_TIMEOUT, AGENT_TIMEOUT};

fn configured(text: &str) -> Result<Config> {
    let mut config = Config::builtin();
    apply(&mut config, Path::new("/c/config.toml"), text)?;
    Ok(config)
}

fn tool<'a>(config: &'a Config, name: &str) -> &'a ToolDef {
    config.tools.iter().find(|t| t.name == name).unwrap()
}

fn error(text: &str) -> String {
    format!("{:#}", configured(text).unwrap_err())
}

#[test]
fn adds_and_overrides_tools() {
    let config = configured(
        "[tools.mine]\nargv = [\"mine\", \"{prompt}\"]\n\n[tools.codex]\nstdin = true\n",
    )
    .unwrap();
    let codex = tool(&config, "codex");
    assert!(codex.stdin);
    assert_eq!(codex.argv[..2], ["codex", "exec"]);
    assert_eq!(codex.source, Source::File("/c/config.toml".into()));
    assert_eq!(codex.timeout, Some(AGENT_TIMEOUT));
    assert_eq!(codex.idle_timeout, Some(AGENT_IDLE_TIMEOUT));
    assert_eq!(codex.queue.as_deref(), Some("codex"));
    let mine = tool(&config, "mine");
    assert_eq!(mine.argv, ["mine", "{prompt}"]);
    assert_eq!((mine.timeout, mine.queue.as_deref()), (None, None));
}

#[test]
fn timeouts_queues_and_slots() {
    let config = configured(
        "[tools.codex]\ntimeout = false\nidle_timeout = \"none\"\nqueue = \"agents\"\n\n[tools.claude]\nqueue = false\ntimeout = \"1h30m\"\nidle_timeout = \"5m\"\n\n[tools.gemini]\nidle_timeout = false\n\n[tools.mine]\nargv = [\"m\", \"{prompt}\"]\nqueue = true\n\n[queues.agents]\nslots = 2\n\n[queues.codex]\nslots = 5\n",
    )
    .unwrap();
    let codex = tool(&config, "codex");
    assert_eq!(
        (codex.timeout, codex.queue.as_deref()),
        (None, Some("agents"))
    );
    let claude = tool(&config, "claude");
    assert_eq!(claude.timeout, Some(Duration::from_secs(5400)));
    assert_eq!(claude.queue, None);
    assert_eq!(codex.idle_timeout, None);
    assert_eq!(claude.idle_timeout, Some(Duration::from_secs(300)));
    assert_eq!(tool(&config, "gemini").idle_timeout, None);
    assert_eq!(tool(&config, "gemini").timeout, Some(AGENT_TIMEOUT));
    assert_eq!(tool(&config, "mine").queue.as_deref(), Some("mine"));
    assert_eq!(config.default_slots("agents"), 2);
    assert_eq!(config.default_slots("codex"), 5);
    assert_eq!(config.default_slots("gemini"), 3);
    assert_eq!(config.default_slots("mine"), DEFAULT_QUEUE_SLOTS);
}

#[test]
fn executor_keys_override_key_by_key() {
    let mut config = configured(
        "executor = \"slurm\"\n[executors.slurm]\nargs = [\"-p\", \"short\"]\ncsa = \"/opt/csa\"\n",
    )
    .unwrap();
    apply(
        &mut config,
        Path::new("/p/.csa/config.toml"),
        "[executors.slurm]\nargs = [\"-p\", \"long\"]\n",
    )
    .unwrap();
    let settings = &config.executor;
    assert_eq!(
        settings.default.as_ref().map(ExecutorName::as_str),
        Some("slurm")
    );
    let slurm = settings.of(crate::executor::find("slurm").unwrap());
    let expected: toml::Table =
        toml::from_str("args = [\"-p\", \"long\"]\ncsa = \"/opt/csa\"\n").unwrap();
    assert_eq!(slurm, &expected);
    assert!(
        settings
            .of(crate::executor::find("local").unwrap())
            .is_empty()
    );
}

/// The executor keys are checked by the executors they name; errors name the file, line
/// and column, as serde's did before the tables were kept raw.
#[test]
fn executor_keys_are_checked_by_their_executor() {
    let cloud = error("executor = \"cloud\"\n");
    assert!(
        cloud.contains("unknown variant `cloud`, expected `local` or `slurm`")
            && cloud.ends_with("(/c/config.toml:1:12)"),
        "{cloud}"
    );
    let kube = error("[executors.kube]\nx = 1\n");
    assert!(
        kube.contains("unknown field `kube`, expected `slurm`") && kube.ends_with(":1:12)"),
        "{kube}"
    );
    // The local executor has no settings.
    assert!(error("[executors.local]\n").contains("unknown field `local`"));
    let key = error("[executors.slurm]\nargs = [\"-p\"]\nfoo = 2\n");
    assert!(
        key.contains("unknown field `foo`, expected `args` or `csa`") && key.ends_with(":3:1)"),
        "{key}"
    );
    let value = error("[executors.slurm]\nargs = \"x\"\n");
    assert!(
        value.contains("executors.slurm.args: invalid type: string \"x\", expected a sequence")
            && value.ends_with(":2:8)"),
        "{value}"
    );
    assert!(error("[executors]\nslurm = 3\n").contains("invalid type: integer `3`"));
    assert!(error("[executors.slurm]\ncsa = 3\n").contains("executors.slurm.csa: invalid type"));
}

#[test]
fn stdin_argv_is_used_for_prompts_on_standard_input() {
    let config = configured(
        "[tools.g]\nargv = [\"g\", \"--prompt={prompt}\"]\nstdin_argv = [\"g\", \"--prompt=\"]\n",
    )
    .unwrap();
    assert_eq!(
        tool(&config, "g").stdin_command().unwrap(),
        ["g", "--prompt="]
    );
    // A new argv drops the stdin_argv of the earlier definition.
    let config = configured("[tools.gemini]\nargv = [\"gemini\", \"-p\", \"{prompt}\"]\n").unwrap();
    assert_eq!(
        tool(&config, "gemini").stdin_command().unwrap(),
        ["gemini", "-p"]
    );
}

#[test]
fn errors_name_key_file_and_line() {
    let text = "# x\n[tools.a]\nargv = [\"a\", \"{prompt}\"\n";
    assert!(
        error(text).contains("(/c/config.toml:3:"),
        "{}",
        error(text)
    );
    let unknown = error("[tools.a]\nargs = [\"a\"]\n");
    assert!(
        unknown.contains("unknown field") && unknown.contains(":2:"),
        "{unknown}"
    );
    let missing = error("\n\n[tools.a]\nstdin = true\n");
    assert!(
        missing.contains("tools.a: `argv`") && missing.contains(":3:"),
        "{missing}"
    );
    let no_prompt = error("[tools.a]\nargv = [\"a\"]\n");
    assert!(no_prompt.contains("{prompt}"), "{no_prompt}");
    assert!(error("[tools.\"a b\"]\nargv = [\"{prompt}\"]\n").contains("tool name"));
    assert!(error("[tools.exec]\nargv = [\"{prompt}\"]\n").contains("reserved"));
    let timeout = error("[tools.codex]\n\ntimeout = \"soon\"\n");
    assert!(
        error("[tools.gemini]\nidle_timeout = \"later\"\n")
            .contains("tools.gemini.idle_timeout: invalid time limit `later`"),
    );
    assert!(
        timeout.contains("tools.codex.timeout: invalid time limit `soon`")
            && timeout.ends_with("(/c/config.toml:3:11)"),
        "{timeout}"
    );
    assert!(error("[tools.codex]\ntimeout = true\n").contains("tools.codex.timeout: give"));
    assert!(error("[tools.codex]\ntimeout = 30\n").contains("a string, or true or false"));
    let queue = error("[tools.codex]\nqueue = \"a/b\"\n");
    assert!(
        queue.contains("tools.codex.queue: `a/b` is not a valid name") && queue.contains(":2:9"),
        "{queue}"
    );
    let slots = error("[queues.build]\nslots = 0\n");
    assert!(
        slots.contains("queues.build.slots: invalid slot count 0") && slots.contains(":2:9"),
        "{slots}"
    );
    assert!(error("[queues.build]\nslots = 5000\n").contains("1 to 1024"));
    assert!(error("[queues.build]\n").contains("missing field `slots`"));
    assert!(error("[queues.\"..\"]\nslots = 1\n").contains("queues..."));
    assert!(error("[queues.b]\nslots = 1\nsize = 2\n").contains("unknown field"));
    let stdin_argv =
        error("[tools.a]\nargv = [\"a\", \"{prompt}\"]\nstdin_argv = [\"a\", \"{prompt}\"]\n");
    assert!(
        stdin_argv.contains("tools.a.stdin_argv: the prompt goes"),
        "{stdin_argv}"
    );
}
