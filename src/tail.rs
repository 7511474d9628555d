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
//! When the sink is a pipe or a regular file (see [`Follow::direct`]), the bytes move from
//! the spool file to it inside the kernel (`splice` into a pipe, `copy_file_range` or
//! `sendfile` into a file) instead of through a user-space buffer; any other sink (a
//! terminal), or a kernel that refuses the call, gets plain reads and writes.

use std::fs::File;
use std::io::{self, Read as _, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fs::FileType;
use rustix::fs::inotify::{self, CreateFlags, WatchFlags};
use rustix::io::Errno;

use crate::record;

/// With inotify, the longest the follower blocks without looking at the files: bounds the
/// delay of a line on file systems that report no changes. Each look costs a few system
/// calls; at one a second an idle `attach` uses about 4 ms of CPU a minute (BENCHMARKS.md,
/// "Idle cost"; at 250 ms it was about 16 ms).
pub const SAFETY_NET: Duration = Duration::from_secs(1);
/// Adaptive poll (no inotify): the shortest pause between two looks at idle files.
const MIN_PAUSE: Duration = Duration::from_millis(1);
/// Adaptive poll (no inotify): the longest pause; bounds the delay of a new line.
const MAX_PAUSE: Duration = Duration::from_millis(25);

/// Bytes read per system call while catching up with a writer: large reads (and so large
/// writes to the sink) keep the number of system calls per MiB low (BENCHMARKS.md, "Attach
/// throughput"; with `io::copy`'s 8 KiB the follower of a 200 MiB job made ~50,000).
const CHUNK: usize = 256 * 1024;

/// Bytes asked of the kernel per call when it copies (`splice`, `copy_file_range`,
/// `sendfile`): no user-space buffer is involved, so a call may move as much as is there.
const KERNEL_CHUNK: usize = 16 << 20;

/// How a [`Follow`] moves bytes to its sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `read` into the copy buffer, then `write_all` to the sink.
    User,
    /// `splice` from the spool file into the sink, a pipe.
    Splice,
    /// `copy_file_range` from the spool file into the sink, a regular file.
    CopyRange,
    /// `sendfile` into the sink (a regular file `copy_file_range` refused, e.g. on another
    /// file system).
    SendFile,
}

/// One followed spool file and where its bytes go.
pub struct Follow<'a> {
    path: PathBuf,
    file: Option<File>,
    sink: &'a mut dyn Write,
    /// The sink's descriptor when the kernel may copy into it (see [`Follow::direct`]).
    sink_fd: Option<BorrowedFd<'a>>,
    route: Route,
    /// The copy buffer, [`CHUNK`] bytes once the file exists and the route is [`Route::User`].
    buf: Vec<u8>,
}

impl<'a> Follow<'a> {
    /// Follows the file at `path` from its first byte into `sink`. The file is opened (without
    /// following a symbolic link) as soon as it exists.
    pub fn new(path: PathBuf, sink: &'a mut dyn Write) -> Self {
        Self {
            path,
            file: None,
            sink,
            sink_fd: None,
            route: Route::User,
            buf: Vec::new(),
        }
    }

    /// Lets the kernel copy the bytes straight into `fd`, the descriptor `sink` writes to,
    /// when it is a pipe (`splice`) or a regular file (`copy_file_range`, else `sendfile`).
    /// Any other kind of descriptor (a terminal, a socket) keeps the user-space copy, as
    /// does a sink whose kernel copy fails with anything but a write error.
    #[must_use]
    pub fn direct(mut self, fd: BorrowedFd<'a>) -> Self {
        self.route = match rustix::fs::fstat(fd).map(|st| FileType::from_raw_mode(st.st_mode)) {
            Ok(FileType::Fifo) => Route::Splice,
            Ok(FileType::RegularFile) => Route::CopyRange,
            _ => Route::User,
        };
        self.sink_fd = Some(fd);
        self
    }

    /// Copies what is new up to end of file. Returns the number of bytes copied.
    fn pump(&mut self) -> io::Result<u64> {
        if self.file.is_none() {
            match record::open_no_follow(&self.path) {
                Ok(file) => self.file = Some(file),
                Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(0),
                Err(err) => return Err(err),
            }
        }
        let Some(file) = self.file.as_mut() else {
            return Ok(0);
        };
        let mut copied = 0;
        if self.route != Route::User
            && let Some(sink) = self.sink_fd
        {
            // Whatever the sink buffered must reach the descriptor before the kernel's copy.
            self.sink.flush()?;
            loop {
                match kernel_copy(self.route, file, sink) {
                    Ok(0) => return Ok(copied),
                    Ok(n) => copied += n as u64,
                    Err(Errno::INTR) => {}
                    Err(Errno::PIPE) => return Err(io::ErrorKind::BrokenPipe.into()),
                    // A sink the kernel cannot copy into: the next route, and in the end
                    // the user-space copy. Nothing was copied by the failed call.
                    Err(
                        Errno::XDEV
                        | Errno::INVAL
                        | Errno::BADF
                        | Errno::NOSYS
                        | Errno::OPNOTSUPP
                        | Errno::AGAIN,
                    ) => {
                        self.route = if self.route == Route::CopyRange {
                            Route::SendFile
                        } else {
                            Route::User
                        };
                        if self.route == Route::User {
                            break;
                        }
                    }
                    Err(err) => return Err(err.into()),
                }
            }
        }
        if self.buf.is_empty() {
            self.buf = vec![0; CHUNK];
        }
        loop {
            let n = match file.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            self.sink.write_all(&self.buf[..n])?;
            copied += n as u64;
        }
        if copied > 0 {
            self.sink.flush()?;
        }
        Ok(copied)
    }
}

/// One kernel copy of up to [`KERNEL_CHUNK`] bytes from the current position of `file` to
/// `sink` along `route` (not [`Route::User`]). Returns the bytes moved, 0 at end of file.
fn kernel_copy(route: Route, file: &File, sink: BorrowedFd<'_>) -> rustix::io::Result<usize> {
    let source = file.as_fd();
    match route {
        Route::Splice => rustix::pipe::splice(
            source,
            None,
            sink,
            None,
            KERNEL_CHUNK,
            rustix::pipe::SpliceFlags::empty(),
        ),
        Route::CopyRange => rustix::fs::copy_file_range(source, None, sink, None, KERNEL_CHUNK),
        Route::SendFile | Route::User => rustix::fs::sendfile(sink, source, None, KERNEL_CHUNK),
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
    let mut waker = Waker::new(dir);
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
        waker.wait(copied > 0, reader)?;
    }
}

/// Blocks between two passes of the follower.
enum Waker {
    /// An inotify instance watching the session directory.
    Inotify(OwnedFd),
    /// No inotify: an adaptive pause, doubled on every idle pass.
    Poll(Duration),
}

impl Waker {
    fn new(dir: &Path) -> Self {
        let watched = WatchFlags::MODIFY
            | WatchFlags::CLOSE_WRITE
            | WatchFlags::CREATE
            | WatchFlags::MOVED_TO
            | WatchFlags::ONLYDIR;
        inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)
            .and_then(|fd| inotify::add_watch(&fd, dir, watched).map(|_| fd))
            .map_or(Self::Poll(MIN_PAUSE), Self::Inotify)
    }

    /// Returns when there may be something new to copy. `busy` says the last pass copied
    /// something. Errors with `BrokenPipe` when `reader` reports that its reader is gone.
    fn wait(&mut self, busy: bool, reader: Option<BorrowedFd<'_>>) -> io::Result<()> {
        let (inotify, pause) = match self {
            Self::Inotify(fd) => (Some(&*fd), SAFETY_NET),
            Self::Poll(pause) => {
                let current = *pause;
                *pause = if busy {
                    MIN_PAUSE
                } else {
                    (current * 2).min(MAX_PAUSE)
                };
                (None, current)
            }
        };
        if busy {
            // Events queued during the copy only say "look again": look at once.
            if let Some(fd) = inotify {
                drain_events(fd);
            }
            return Ok(());
        }
        let mut fds = Vec::with_capacity(2);
        if let Some(fd) = inotify {
            fds.push(PollFd::new(fd, PollFlags::IN));
        }
        if let Some(reader) = reader {
            fds.push(PollFd::from_borrowed_fd(reader, PollFlags::empty()));
        }
        let timeout = Timespec {
            tv_sec: i64::try_from(pause.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(pause.subsec_nanos()),
        };
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(err) => return Err(err.into()),
        }
        let reader_gone = reader.is_some()
            && fds
                .last()
                .is_some_and(|p| p.revents().intersects(PollFlags::ERR | PollFlags::HUP));
        drop(fds);
        if reader_gone {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        if let Some(fd) = inotify {
            drain_events(fd);
        }
        Ok(())
    }
}

/// Reads and discards the queued inotify events: each only means "look again".
fn drain_events(fd: &OwnedFd) {
    let mut buffer = [MaybeUninit::<u8>::uninit(); 4096];
    let mut events = inotify::Reader::new(fd, &mut buffer);
    while events.next().is_ok() {}
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

    /// Follows `path` (already complete) into `sink` through the kernel and returns the route
    /// that was chosen.
    fn drain_direct(dir: &Path, path: &Path, sink: &File) -> Route {
        let mut writer = sink.try_clone().unwrap();
        let mut sources = [Follow::new(path.to_path_buf(), &mut writer).direct(sink.as_fd())];
        let route = sources[0].route;
        let outcome = follow(dir, &mut sources, None, &mut || Ok(Check::Finished)).unwrap();
        assert_eq!(outcome, Outcome::Drained);
        route
    }

    #[test]
    fn the_kernel_copies_into_a_regular_file_and_a_pipe() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout.log");
        let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();

        let out_path = dir.path().join("out");
        let out = File::create(&out_path).unwrap();
        assert_eq!(drain_direct(dir.path(), &path, &out), Route::CopyRange);
        assert_eq!(std::fs::read(&out_path).unwrap(), bytes);

        let (reader, writer) = rustix::pipe::pipe().unwrap();
        let reading = std::thread::spawn(move || {
            let mut got = Vec::new();
            File::from(reader).read_to_end(&mut got).unwrap();
            got
        });
        let writer = File::from(writer);
        assert_eq!(drain_direct(dir.path(), &path, &writer), Route::Splice);
        drop(writer);
        assert_eq!(reading.join().unwrap(), bytes);
    }

    #[test]
    fn a_closed_pipe_ends_the_kernel_copy_with_broken_pipe() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout.log");
        std::fs::write(&path, vec![7u8; 1 << 20]).unwrap();
        let (reader, writer) = rustix::pipe::pipe().unwrap();
        drop(reader);
        let sink = File::from(writer);
        let mut out = sink.try_clone().unwrap();
        let mut sources = [Follow::new(path, &mut out).direct(sink.as_fd())];
        let err = follow(dir.path(), &mut sources, None, &mut || Ok(Check::Finished)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
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
