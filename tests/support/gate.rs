//! A gate jobs wait at without polling.

use std::fs::File;
use std::path::PathBuf;

/// A gate jobs wait at: the test holds an exclusive `flock` on a file; a job runs
/// `flock -s GATE true` (util-linux), which returns once the gate is opened.
pub struct Gate {
    pub path: PathBuf,
    file: Option<File>,
    _dir: tempfile::TempDir,
}

impl Gate {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gate");
        let file = File::create(&path).unwrap();
        file.lock().unwrap();
        Self {
            path,
            file: Some(file),
            _dir: dir,
        }
    }

    /// A shell command that returns once the gate is open.
    pub fn pass(&self) -> String {
        format!("flock -s '{}' true", self.path.display())
    }

    pub fn open(&mut self) {
        self.file = None;
    }
}
