//! The pane that follows a session's output: the last lines of its `stdout.log` (or
//! `stderr.log`), what `csa session attach` shows, read again whenever the file changes
//! (inotify tells; see [`crate::fleet::watch::Watcher::follow_output`]).

use std::io::{Read as _, Seek as _, SeekFrom};
use std::time::SystemTime;

use ulid::Ulid;

use crate::fleet::output::clean_line;
use crate::store::session::{self, SessionDir};

/// How much of the end of the spool file the pane reads (bytes).
const PANE_BYTES: u64 = 64 * 1024;

/// Which spool file the pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    /// The spool file's name.
    pub fn file(self) -> &'static str {
        match self {
            Self::Stdout => session::STDOUT_LOG,
            Self::Stderr => session::STDERR_LOG,
        }
    }
}

/// The followed session and what the pane shows of it.
#[derive(Debug, Clone)]
pub struct Follow {
    /// The session followed.
    pub dir: SessionDir,
    /// The stream shown.
    pub stream: Stream,
    /// Its last lines, escape sequences removed.
    pub lines: Vec<String>,
    /// The file's size in bytes, as last read.
    pub size: u64,
    seen: Option<(u64, SystemTime)>,
}

impl Follow {
    /// Starts following `dir`'s standard output.
    pub fn new(dir: SessionDir) -> Self {
        let mut follow = Self {
            dir,
            stream: Stream::Stdout,
            lines: Vec::new(),
            size: 0,
            seen: None,
        };
        follow.reload();
        follow
    }

    /// The session followed.
    pub fn id(&self) -> Ulid {
        self.dir.id
    }

    /// Shows the other stream.
    pub fn switch(&mut self) {
        self.stream = match self.stream {
            Stream::Stdout => Stream::Stderr,
            Stream::Stderr => Stream::Stdout,
        };
        self.seen = None;
        self.reload();
    }

    /// Reads the end of the file again if it changed (size or modification time). Returns
    /// true when the lines changed.
    pub fn reload(&mut self) -> bool {
        let path = self.dir.file(self.stream.file());
        let Ok((mut file, len)) = crate::store::files::Options::read().open_sized(&path) else {
            let changed = !self.lines.is_empty();
            self.lines.clear();
            self.seen = None;
            return changed;
        };
        let modified = file.metadata().and_then(|m| m.modified()).ok();
        let now = modified.map(|modified| (len, modified));
        if now.is_some() && now == self.seen {
            return false;
        }
        self.seen = now;
        self.size = len;
        let from = len.saturating_sub(PANE_BYTES);
        let mut bytes = Vec::new();
        if file.seek(SeekFrom::Start(from)).is_ok() {
            let _ = file.take(PANE_BYTES).read_to_end(&mut bytes);
        }
        // The first line may be cut: drop it unless the file starts there.
        let mut text: &[u8] = &bytes;
        if from > 0
            && let Some(at) = text.iter().position(|&b| b == b'\n')
        {
            text = &text[at + 1..];
        }
        let text = text.strip_suffix(b"\n").unwrap_or(text);
        self.lines = text
            .split(|&b| b == b'\n')
            // A progress line redrawn with `\r` shows as its last state.
            .map(|line| clean_line(line.rsplit(|&b| b == b'\r').next().unwrap_or(line)))
            .collect();
        if bytes.is_empty() {
            self.lines.clear();
        }
        true
    }
}
