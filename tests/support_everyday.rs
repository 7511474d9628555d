//! Helpers for the list/result/logs/clean/tools tests: hand-made sessions at chosen times,
//! and csa commands isolated from the user's configuration.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use crate::support::Csa;

/// A session directory made by hand, as csa would leave it.
pub struct Fake {
    pub id: String,
    pub dir: PathBuf,
}

/// Creates a session directory created `ago` ago with `session.toml` (an `sh` job running
/// `script`), and `daemon.pid` when `with_pid_file`. No lock is held: unless a result is
/// added, its supervisor counts as gone.
pub fn fake_session(csa: &Csa, ago: Duration, script: &str, with_pid_file: bool) -> Fake {
    let created = SystemTime::now() - ago;
    let id = ulid::Ulid::from_datetime(created).to_string();
    let dir = csa.sessions_dir().join(&id);
    std::fs::create_dir_all(&dir).unwrap();
    let record = toml::toml! {
        id = (id.clone())
        argv = ["/bin/sh", "-c", (script)]
        tool = "sh"
        cwd = "/"
        created_at = (humantime::format_rfc3339_millis(created).to_string())
        csa_version = "0.1.0"
    };
    std::fs::write(dir.join("session.toml"), record.to_string()).unwrap();
    std::fs::write(dir.join("stdout.log"), "out\n").unwrap();
    std::fs::write(dir.join("stderr.log"), "").unwrap();
    std::fs::write(dir.join("lock"), "").unwrap();
    if with_pid_file {
        // A PID above any pid_max: liveness comes from the lock alone, and a clean-up that
        // signals this "process group" reaches nothing (never use 1: `kill -- -1` signals
        // every process).
        std::fs::write(dir.join("daemon.pid"), "2147483647 1\n").unwrap();
    }
    Fake { id, dir }
}

/// Writes a `result.toml` saying the job ended with `status` and `exit_code` `ago` ago.
pub fn finish(fake: &Fake, status: &str, exit_code: u8, ago: Duration) {
    let finished = SystemTime::now() - ago;
    let stamp = humantime::format_rfc3339_millis(finished).to_string();
    let result = toml::toml! {
        id = (fake.id.clone())
        status = (status)
        exit_code = (i64::from(exit_code))
        started_at = (stamp.clone())
        finished_at = (stamp)
        duration_ms = 0
        synthetic = false
    };
    std::fs::write(fake.dir.join("result.toml"), result.to_string()).unwrap();
}

/// Points csa's configuration at `config_home` (`$XDG_CONFIG_HOME`) and `$HOME` at an empty
/// directory under it, so the user's own configuration is never read.
pub fn isolate_config<'a>(command: &'a mut Command, config_home: &Path) -> &'a mut Command {
    command
        .env("XDG_CONFIG_HOME", config_home)
        .env("HOME", config_home.join("home"))
}

/// The text helpers live in `support`; kept here too for tests that import them from here.
#[allow(unused_imports)]
pub use crate::support::{stderr, stdout};
