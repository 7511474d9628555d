//! A gate jobs wait at, so a test decides when a job goes on (no timing).

use std::fs::File;
use std::path::{Path, PathBuf};

/// The test holds an exclusive `flock` on a file of its own; a job's script runs
/// [`Gate::pass`] (`flock -s GATE true`, util-linux), which returns once the gate is open.
/// Dropping the gate opens it.
pub struct Gate {
    path: PathBuf,
    file: Option<File>,
    _dir: tempfile::TempDir,
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gate");
        let mut gate = Self {
            path,
            file: None,
            _dir: dir,
        };
        gate.close();
        gate
    }

    /// The file jobs lock (`flock -s PATH true` passes once the gate is open).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A shell command that returns once the gate is open.
    pub fn pass(&self) -> String {
        format!("flock -s '{}' true", self.path.display())
    }

    /// Lets every job waiting at the gate, and every later one, pass.
    pub fn open(&mut self) {
        self.file = None;
    }

    /// Closes the gate again (once the jobs passing it right now are through).
    pub fn close(&mut self) {
        let file = File::create(&self.path).unwrap();
        file.lock().unwrap();
        self.file = Some(file);
    }
}

/// A session whose job waits at a closed gate of its own: what a test that acts on a job
/// while it runs needs (its ID, directory and supervisor).
pub struct Gated {
    /// The gate the job waits at; open it to let the job go on.
    pub gate: Gate,
    /// The session ID.
    pub id: String,
    /// The session directory.
    pub dir: PathBuf,
    /// The supervisor's PID (from `daemon.pid`).
    pub supervisor: i32,
}

impl Gated {
    /// Starts `script` with `csa run`, each `{gate}` in it replaced by the command that
    /// waits at the gate (`"echo before; {gate}; exit 5"`).
    pub fn run(csa: &super::Csa, script: &str) -> Self {
        let gate = Gate::new();
        let id = csa.run(&script.replace("{gate}", &gate.pass()));
        Self {
            dir: csa.session_dir(&id),
            supervisor: csa.supervisor_pid(&id),
            gate,
            id,
        }
    }
}
