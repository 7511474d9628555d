//! Following growing spool files: copy what a job writes to an output as it arrives, until
//! the session ends, then drain to end of file. Memory use is constant (one copy buffer per
//! pass), whatever the size of the output.
//!
//! Between passes the follower blocks on an inotify watch of the session directory, so an
//! idle follower costs no CPU and a new line is copied as soon as the kernel reports the
//! write. The end of a session wakes it too: the supervisor renames `result.toml` into the
//! directory, and the last close of the `lock` descriptor (opened for writing by `csa run`)
//! is an `IN_CLOSE_WRITE`. As a safety net for file systems that do not report changes
//! (network file systems, writes through `mmap`) the follower also looks every
//! [`SAFETY_NET`]. Where inotify is unavailable (no instances left), it falls back to an
//! adaptive poll that backs off from 1 ms to 25 ms.
//!
//! How the bytes move (user-space copy, or inside the kernel into a pipe or a file) is
//! [`copy`]'s business.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::event::PollFlags;
use rustix::fs::inotify::WatchFlags;

use crate::backoff::Backoff;
use crate::sys::inotify::DirChanges;

mod copy;
mod prefix;

use copy::Copier;
pub use prefix::Prefixed;

/// With inotify, the longest the follower blocks without looking at the files
/// ([`crate::sys::inotify::SAFETY_NET`]): bounds the delay of a line on file systems that
/// report no changes. Each look costs a few system calls; at one a second an idle `attach`
/// uses about 4 ms of CPU a minute (BENCHMARKS.md, "Idle cost"; at 250 ms it was about
/// 16 ms).
pub const SAFETY_NET: Duration = crate::sys::inotify::SAFETY_NET;
/// Adaptive poll (no inotify): the shortest pause between two looks at idle files.
const MIN_PAUSE: Duration = Duration::from_millis(1);
/// Adaptive poll (no inotify): the longest pause; bounds the delay of a new line.
const MAX_PAUSE: Duration = Duration::from_millis(25);
/// The pauses of polling: from [`MIN_PAUSE`], doubling up to [`MAX_PAUSE`]; back to the
/// first after a pass that copied something.
const POLLING: Backoff = Backoff::new(MIN_PAUSE, MAX_PAUSE);

/// One followed spool file and where its bytes go.
pub struct Follow<'a> {
    path: PathBuf,
    file: Option<File>,
    copier: Copier<'a>,
    /// A failed copy stops this source alone (see [`Follow::best_effort`]).
    best_effort: bool,
    /// A best-effort source whose copy failed: nothing more is copied.
    broken: bool,
    /// Where the copy starts in the file once it is opened (0: its first byte).
    start: u64,
}

impl<'a> Follow<'a> {
    /// Follows the file at `path` from its first byte into `sink`. The file is opened (without
    /// following a symbolic link) as soon as it exists.
    pub fn new(path: PathBuf, sink: &'a mut dyn Write) -> Self {
        Self {
            path,
            file: None,
            copier: Copier::new(sink),
            best_effort: false,
            broken: false,
            start: 0,
        }
    }

    /// Starts the copy at byte `offset` of the file instead of its first byte (`logs
    /// --tail N --follow`: where its last N lines begin).
    #[must_use]
    pub fn starting_at(mut self, offset: u64) -> Self {
        self.start = offset;
        self
    }

    /// Makes a failure of this source (a sink that cannot be written: a closed, full or
    /// readerless stderr) stop copying this source alone, while [`follow`] goes on with the
    /// others — instead of ending the follow with the error.
    #[must_use]
    pub fn best_effort(mut self) -> Self {
        self.best_effort = true;
        self
    }

    /// Lets the kernel copy the bytes straight into `fd`, the descriptor `sink` writes to
    /// (see [`Copier::direct`]).
    #[must_use]
    pub fn direct(mut self, fd: BorrowedFd<'a>) -> Self {
        self.copier = self.copier.direct(fd);
        self
    }

    /// Copies what is new up to end of file. Returns the number of bytes copied.
    fn pump(&mut self) -> io::Result<u64> {
        if self.broken {
            return Ok(0);
        }
        match self.copy_new() {
            Err(_) if self.best_effort => {
                self.broken = true;
                Ok(0)
            }
            copied => copied,
        }
    }

    fn copy_new(&mut self) -> io::Result<u64> {
        if self.file.is_none() {
            match crate::store::files::Options::read().open(&self.path) {
                Ok(mut file) => {
                    if self.start > 0 {
                        use std::io::Seek as _;
                        file.seek(io::SeekFrom::Start(self.start))?;
                    }
                    self.file = Some(file);
                }
                Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(0),
                // Named, as the caller only knows the session.
                Err(err) => {
                    return Err(io::Error::new(
                        err.kind(),
                        format!("{}: {}", self.path.display(), crate::exit::io_why(&err)),
                    ));
                }
            }
        }
        match self.file.as_mut() {
            Some(file) => self.copier.copy_to_end(file),
            None => Ok(0),
        }
    }
}

/// What the follower's `check` says on each pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The session is still running: keep following.
    Running,
    /// The session has ended: copy what is left up to end of file, then return.
    Finished,
    /// Stop at once, without draining (the user detached).
    Stop,
}

/// How [`follow`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The session ended and every file was copied to its end.
    Drained,
    /// `check` asked to stop.
    Stopped,
}

/// Copies new bytes from every source to its sink until `check` says the session finished,
/// then copies what is left up to end of file. `dir` is the directory watched for changes
/// (the session directory). `reader`, when given, is a pipe the sinks write to: a reader
/// that goes away ends the follow with `BrokenPipe` even while the job is silent.
///
/// Errors: a read error, a write error of a sink (`BrokenPipe` when the reader is gone), or
/// an error of `check`.
pub fn follow(
    dir: &Path,
    sources: &mut [Follow<'_>],
    reader: Option<BorrowedFd<'_>>,
    check: &mut dyn FnMut() -> io::Result<Check>,
) -> io::Result<Outcome> {
    follow_in(&[dir], sources, reader, check)
}

/// [`follow`] for sources in several session directories (`logs --tag --follow`): each of
/// `dirs` is watched for changes.
///
/// Errors: as [`follow`].
pub fn follow_in(
    dirs: &[&Path],
    sources: &mut [Follow<'_>],
    reader: Option<BorrowedFd<'_>>,
    check: &mut dyn FnMut() -> io::Result<Check>,
) -> io::Result<Outcome> {
    let mut changes = watch(dirs);
    loop {
        // Look at `check` before copying, so that the copy after it sees every byte
        // written before the session ended.
        let state = check()?;
        if state == Check::Stop {
            return Ok(Outcome::Stopped);
        }
        let mut copied = 0;
        for source in sources.iter_mut() {
            copied += source.pump()?;
        }
        if state == Check::Finished {
            return Ok(Outcome::Drained);
        }
        idle(&mut changes, copied > 0, reader)?;
    }
}

/// Watches each of `dirs` for what a follower waits for: a spool file written or created, a
/// lock closed, a result renamed in. Polls with [`POLLING`] when they cannot be watched.
fn watch(dirs: &[&Path]) -> DirChanges {
    let watched =
        WatchFlags::MODIFY | WatchFlags::CLOSE_WRITE | WatchFlags::CREATE | WatchFlags::MOVED_TO;
    DirChanges::new(dirs, watched, POLLING).0
}

/// Returns when there may be something new to copy: at once when the last pass copied
/// something (`busy`), else after a change in the watched directories or [`SAFETY_NET`]
/// (without inotify: the next polling pause).
///
/// Errors: `BrokenPipe` when `reader` reports that its reader is gone; `poll` fails.
fn idle(changes: &mut DirChanges, busy: bool, reader: Option<BorrowedFd<'_>>) -> io::Result<()> {
    if busy {
        // Events queued during the copy only say "look again": look at once.
        changes.changed();
        return Ok(());
    }
    let reader_gone = if let Some(reader) = reader {
        let [reader] = changes.wait(SAFETY_NET, [(reader, PollFlags::empty())])?;
        reader.intersects(PollFlags::ERR | PollFlags::HUP)
    } else {
        changes.wait(SAFETY_NET, [])?;
        false
    };
    if reader_gone {
        return Err(io::ErrorKind::BrokenPipe.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_to_end_of_file_after_the_session_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout.log");
        let mut writer = File::create(&path).unwrap();
        writer.write_all(b"one\n").unwrap();
        let mut out = Vec::new();
        let mut passes = 0;
        let outcome = {
            let mut sources = [Follow::new(path.clone(), &mut out)];
            follow(dir.path(), &mut sources, None, &mut || {
                passes += 1;
                if passes == 2 {
                    writer.write_all(b"two\n")?;
                }
                Ok(if passes >= 3 {
                    Check::Finished
                } else {
                    Check::Running
                })
            })
            .unwrap()
        };
        assert_eq!(outcome, Outcome::Drained);
        assert_eq!(out, b"one\ntwo\n");
    }

    /// A sink that refuses every write, as a stderr whose reader is gone.
    struct Refusing;

    impl Write for Refusing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_best_effort_source_that_fails_leaves_the_others_running() {
        let dir = tempfile::tempdir().unwrap();
        let (out_path, err_path) = (dir.path().join("stdout.log"), dir.path().join("stderr.log"));
        std::fs::write(&out_path, b"out\n").unwrap();
        std::fs::write(&err_path, b"err\n").unwrap();
        let (mut out, mut refusing) = (Vec::new(), Refusing);
        let outcome = {
            let mut sources = [
                Follow::new(out_path.clone(), &mut out),
                Follow::new(err_path.clone(), &mut refusing).best_effort(),
            ];
            let mut passes = 0;
            follow(dir.path(), &mut sources, None, &mut || {
                passes += 1;
                if passes == 2 {
                    std::fs::OpenOptions::new()
                        .append(true)
                        .open(&out_path)?
                        .write_all(b"more\n")?;
                }
                Ok(if passes >= 3 {
                    Check::Finished
                } else {
                    Check::Running
                })
            })
        };
        assert_eq!(outcome.unwrap(), Outcome::Drained);
        assert_eq!(out, b"out\nmore\n");
        // Without `best_effort` the refused write ends the follow.
        let mut refusing = Refusing;
        let mut sources = [Follow::new(err_path, &mut refusing)];
        let ended = follow(dir.path(), &mut sources, None, &mut || Ok(Check::Finished));
        assert_eq!(ended.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn a_missing_file_is_followed_once_it_appears() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stderr.log");
        let mut out = Vec::new();
        let mut passes = 0;
        {
            let mut sources = [Follow::new(path.clone(), &mut out)];
            let outcome = follow(dir.path(), &mut sources, None, &mut || {
                passes += 1;
                if passes == 2 {
                    std::fs::write(&path, b"late\n")?;
                }
                Ok(if passes >= 3 {
                    Check::Stop
                } else {
                    Check::Running
                })
            })
            .unwrap();
            assert_eq!(outcome, Outcome::Stopped);
        }
        assert_eq!(out, b"late\n");
    }
}
