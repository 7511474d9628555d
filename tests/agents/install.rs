//! Installs the four agent CLIs with npm into a private prefix under the build directory
//! (never globally), and reports their versions.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::wait_for;

/// The npm packages installed, unless `CSA_AGENTS_PACKAGES` lists others (space-separated
/// npm specs, e.g. to pin versions).
const PACKAGES: &str = "@openai/codex@latest @anthropic-ai/claude-code@latest @google/gemini-cli@latest opencode-ai@latest";

/// The longest an install may take.
const INSTALL_LIMIT: Duration = Duration::from_secs(900);

/// Installs the CLIs into `$CARGO_TARGET_TMPDIR/agents-npm` (or `CSA_AGENTS_PREFIX`) and
/// returns the directory of their executables.
pub fn install() -> PathBuf {
    let prefix = std::env::var_os("CSA_AGENTS_PREFIX").map_or_else(
        || Path::new(env!("CARGO_TARGET_TMPDIR")).join("agents-npm"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&prefix).unwrap();
    let packages = std::env::var("CSA_AGENTS_PACKAGES").unwrap_or_else(|_| PACKAGES.to_owned());
    let log = prefix.join("install.log");
    let mut child = Command::new("npm")
        .arg("install")
        .arg("--prefix")
        .arg(&prefix)
        .args(["--no-fund", "--no-audit", "--loglevel=warn"])
        .args(packages.split_whitespace())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::options().append(true).open(&log).unwrap())
        .spawn()
        .expect("npm must be installed to check the agent presets (apt-get install npm)");
    let mut status = None;
    wait_for(INSTALL_LIMIT, "npm install of the agent CLIs", || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        status.is_some_and(|s| s.success()),
        "npm install {packages} failed:\n{log_text}"
    );
    prefix.join("node_modules/.bin")
}

/// `PROGRAM --version`, first line, run from `bin` with a private `HOME`.
pub fn version(bin: &Path, program: &str, home: &Path) -> String {
    let out = Command::new(bin.join(program))
        .arg("--version")
        .env("HOME", home)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|err| panic!("{program} --version: {err}"));
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_owned()
}
