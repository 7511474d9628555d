//! The agent presets against the real CLIs, installed from npm: for each of codex, claude,
//! gemini and opencode, and for both prompt paths (a prompt in argv, and one over 100 KiB on
//! standard input), `csa run --tool NAME` in a new, untrusted, non-Git directory must start
//! a CLI that accepts its command line and sends the prompt to its model API.
//!
//! The API is a stub on the loopback interface ([`stub`]) that answers 503: a request that
//! carries the prompt can only come from a CLI whose argument parser accepted the command
//! line and which read the whole prompt, while a rejected command line ends the session
//! before any request. Each check has a deadline; every session is then killed, and every
//! process that carries its `CSA_SESSION_ID` (a CLI's helper that left the process group
//! too) is gone before the test ends. Control checks run the command lines that the
//! presets used to have and must see them rejected, so the test can tell the two apart.
//!
//! Not part of `cargo test`: run `just agents` (`CSA_TEST_AGENTS=1`, needs node and npm).

mod install;
mod stub;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::support::{
    Csa, HANG, carrying, code, output_with_input, output_within, started_id, stderr, wait_for,
};

/// How long one CLI may take to reach its API (codex first tries a WebSocket five times).
const DEADLINE: Duration = Duration::from_secs(180);

/// How a check ended.
enum Verdict {
    /// The stub received a request carrying the prompt: the command line was accepted.
    Accepted,
    /// The session ended first: the CLI refused the command line (or failed otherwise).
    Ended { exit_code: i64, stderr: String },
}

impl std::fmt::Debug for Verdict {
    /// `Accepted`, or the exit code with the first and last lines of stderr.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Accepted => f.write_str("Accepted"),
            Self::Ended { exit_code, stderr } => {
                let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
                let shown = if lines.len() > 6 {
                    format!(
                        "{}\n…\n{}",
                        lines[..3].join("\n"),
                        lines[lines.len() - 3..].join("\n")
                    )
                } else {
                    lines.join("\n")
                };
                write!(f, "Ended with exit code {exit_code}; stderr:\n{shown}")
            }
        }
    }
}

/// The state shared by the checks: csa's state root, the CLIs, a private home and the stub.
struct Lab {
    csa: Csa,
    root: tempfile::TempDir,
    bin: PathBuf,
    stub: stub::Stub,
    sessions: Vec<String>,
}

impl Lab {
    fn new(bin: PathBuf) -> Self {
        let root = tempfile::tempdir().unwrap();
        let lab = Self {
            csa: Csa::new(),
            root,
            bin,
            stub: stub::Stub::start(),
            sessions: Vec::new(),
        };
        lab.write(
            "home/.codex/config.toml",
            &format!("openai_base_url = \"{}/v1\"\n", lab.stub.url()),
        );
        lab.write(
            "home/.gemini/settings.json",
            "{\"security\":{\"auth\":{\"selectedType\":\"gemini-api-key\"}}}\n",
        );
        // Control tools: the command lines the presets had before they were checked.
        lab.write(
            "config/csa/config.toml",
            "[tools.old-gemini]\nargv = [\"gemini\", \"-p\", \"{prompt}\"]\n\n[tools.old-codex]\nargv = [\"codex\", \"exec\", \"{prompt}\"]\n",
        );
        lab
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// `csa ARGS…` with the CLIs on `PATH`, a private home and configuration, dummy
    /// credentials, and every API pointed at the stub.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut command = self.csa.cmd();
        let url = self.stub.url();
        let home = self.path("home");
        for proxy in ["http_proxy", "https_proxy", "all_proxy"] {
            command
                .env_remove(proxy)
                .env_remove(proxy.to_ascii_uppercase());
        }
        command
            .args(args)
            .env("PATH", format!("{}:/usr/local/bin:/usr/bin:/bin", self.bin.display()))
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("CODEX_HOME", home.join(".codex"))
            .env("OPENAI_API_KEY", "csa-check-dummy-key")
            .env("ANTHROPIC_API_KEY", "csa-check-dummy-key")
            .env("ANTHROPIC_BASE_URL", &url)
            .env("GEMINI_API_KEY", "csa-check-dummy-key")
            .env("GOOGLE_GEMINI_BASE_URL", &url)
            .env(
                "OPENCODE_CONFIG_CONTENT",
                format!(
                    "{{\"provider\":{{\"anthropic\":{{\"options\":{{\"baseURL\":\"{url}/v1\"}}}}}}}}"
                ),
            );
        command
    }

    /// Runs `csa run --tool TOOL` in a new, empty directory with `prompt` on csa's standard
    /// input, and waits until the stub sees every one of `needles` in one request or the
    /// session ends. The session is killed and its processes are gone afterwards.
    fn check(&mut self, tool: &str, prompt: &str, needles: &[&str]) -> Verdict {
        let work = tempfile::tempdir_in(self.root.path()).unwrap();
        let id = started_id(&output_with_input(
            &mut self.cmd(&["run", "--tool", tool, "--cd", work.path().to_str().unwrap()]),
            prompt.as_bytes(),
        ));
        self.sessions.push(id.clone());
        let ended = |csa: &Csa| csa.result(&id).is_some_and(|r| r.contains_key("status"));
        wait_for(DEADLINE, &format!("{tool} to reach the API or end"), || {
            self.stub.saw(needles) || ended(&self.csa)
        });
        let verdict = if self.stub.saw(needles) {
            Verdict::Accepted
        } else {
            let result = self.csa.result(&id).unwrap();
            Verdict::Ended {
                exit_code: result["exit_code"].as_integer().unwrap_or(-1),
                stderr: self.logs(&id),
            }
        };
        self.stop(&id);
        verdict
    }

    /// The session's stderr (its first 64 KiB).
    fn logs(&self, id: &str) -> String {
        let text = std::fs::read(self.csa.session_dir(id).join("stderr.log")).unwrap();
        String::from_utf8_lossy(&text[..text.len().min(64 << 10)]).into_owned()
    }

    /// Kills the session, then any process still carrying its `CSA_SESSION_ID`.
    fn stop(&self, id: &str) {
        let out = output_within(
            self.csa
                .cmd()
                .args(["session", "kill", "--session", id, "--grace", "2s"]),
            HANG,
        );
        assert_eq!(code(&out), 0, "kill {id}: {}", stderr(&out));
        for pid in carrying(id) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        wait_for(
            HANG,
            &format!("the processes of session {id} to end"),
            || carrying(id).is_empty(),
        );
    }
}

/// A prompt that starts like an option, so that a CLI that reads it as one fails.
fn small_prompt(marker: &str) -> String {
    format!("- {marker}: answer with one word")
}

/// A prompt over 100 KiB (it goes on standard input), marked at both ends.
fn big_prompt(marker: &str) -> String {
    let filler = "Lorem ipsum dolor sit amet, \"quoted\" and 'single' text. ".repeat(2200);
    format!("{marker}-start: summarise.\n{filler}\n{marker}-end")
}

#[test]
#[ignore = "installs the agent CLIs from npm: run `just agents` (CSA_TEST_AGENTS=1)"]
fn presets_are_accepted_by_the_real_agent_clis() {
    assert_eq!(
        std::env::var("CSA_TEST_AGENTS").as_deref(),
        Ok("1"),
        "set CSA_TEST_AGENTS=1 to install the agent CLIs from npm (`just agents`)"
    );
    let bin = install::install();
    let mut lab = Lab::new(bin);
    for program in ["codex", "claude", "gemini", "opencode"] {
        let version = install::version(&lab.bin, program, &lab.path("home"));
        println!("{program} --version: {version}");
    }
    let mut failures = Vec::new();
    for tool in ["codex", "claude", "gemini", "opencode"] {
        let marker = format!("csa-check-{tool}-argv");
        let small = small_prompt(&marker);
        let verdict = lab.check(tool, &small, &[&marker]);
        println!("{tool}, prompt in argv: {verdict:?}");
        if !matches!(verdict, Verdict::Accepted) {
            failures.push(format!("{tool} (prompt in argv): {verdict:?}"));
        }
        let marker = format!("csa-check-{tool}-stdin");
        let big = big_prompt(&marker);
        let (start, end) = (format!("{marker}-start"), format!("{marker}-end"));
        let verdict = lab.check(tool, &big, &[&start, &end]);
        println!("{tool}, prompt on stdin: {verdict:?}");
        if !matches!(verdict, Verdict::Accepted) {
            failures.push(format!("{tool} (prompt on stdin): {verdict:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "presets refused:\n{}",
        failures.join("\n")
    );
    controls(&mut lab);
}

/// The command lines the presets used to have are refused, and the test sees it.
fn controls(lab: &mut Lab) {
    let big = big_prompt("csa-control-gemini");
    let verdict = lab.check("old-gemini", &big, &["csa-control-gemini-end"]);
    println!("control: gemini -p, prompt on stdin: {verdict:?}");
    assert!(
        matches!(&verdict, Verdict::Ended { stderr, .. } if stderr.contains("Not enough arguments following: p")),
        "{verdict:?}"
    );
    let verdict = lab.check("old-gemini", "csa-control-trust", &["csa-control-trust"]);
    println!("control: gemini -p in an untrusted directory: {verdict:?}");
    assert!(
        matches!(verdict, Verdict::Ended { exit_code: 55, .. }),
        "{verdict:?}"
    );
    let verdict = lab.check("old-codex", "csa-control-git", &["csa-control-git"]);
    println!("control: codex exec outside a Git repository: {verdict:?}");
    assert!(
        matches!(&verdict, Verdict::Ended { stderr, .. } if stderr.contains("skip-git-repo-check")),
        "{verdict:?}"
    );
    assert!(lab.stub.requests() > 0);
    for id in &lab.sessions {
        assert!(carrying(id).is_empty(), "a process of session {id} is left");
    }
}
