//! Moving a spool file's new bytes to a follower's output: inside the kernel when the
//! output is a pipe (`splice`) or a regular file (`copy_file_range`, else `sendfile`), or
//! through a user-space buffer for anything else (a terminal) and whenever the kernel
//! refuses the call.

use std::fs::File;
use std::io::{self, Read as _, Write};
use std::os::fd::{AsFd as _, BorrowedFd};

use rustix::fs::FileType;
use rustix::io::Errno;

/// Bytes read per system call while catching up with a writer: large reads (and so large
/// writes to the sink) keep the number of system calls per MiB low (BENCHMARKS.md, "Attach
/// throughput"; with `io::copy`'s 8 KiB the follower of a 200 MiB job made ~50,000).
const CHUNK: usize = 256 * 1024;

/// Bytes asked of the kernel per call when it copies (`splice`, `copy_file_range`,
/// `sendfile`): no user-space buffer is involved, so a call may move as much as is there.
const KERNEL_CHUNK: usize = 16 << 20;

/// How a [`Copier`] moves bytes to its sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
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

/// Copies from a spool file's current position to its end into one sink.
pub(super) struct Copier<'a> {
    sink: &'a mut dyn Write,
    /// The sink's descriptor when the kernel may copy into it (see [`Copier::direct`]).
    sink_fd: Option<BorrowedFd<'a>>,
    route: Route,
    /// The copy buffer, [`CHUNK`] bytes once a user-space copy is needed.
    buf: Vec<u8>,
}

impl<'a> Copier<'a> {
    /// A copier that writes into `sink` through a user-space buffer.
    pub(super) fn new(sink: &'a mut dyn Write) -> Self {
        Self {
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
    pub(super) fn direct(mut self, fd: BorrowedFd<'a>) -> Self {
        self.route = match rustix::fs::fstat(fd).map(|st| FileType::from_raw_mode(st.st_mode)) {
            Ok(FileType::Fifo) => Route::Splice,
            Ok(FileType::RegularFile) => Route::CopyRange,
            _ => Route::User,
        };
        self.sink_fd = Some(fd);
        self
    }

    /// Copies from `file`'s position to its end. Returns the number of bytes copied.
    /// Errors: a read error, or a write error of the sink (`BrokenPipe` when the reader of a
    /// pipe is gone).
    pub(super) fn copy_to_end(&mut self, file: &mut File) -> io::Result<u64> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Copies the whole of `path` into `sink` through the kernel and returns the route that
    /// was chosen.
    fn copy_direct(path: &Path, sink: &File) -> io::Result<Route> {
        let mut writer = sink.try_clone().unwrap();
        let mut copier = Copier::new(&mut writer).direct(sink.as_fd());
        let route = copier.route;
        copier.copy_to_end(&mut File::open(path).unwrap())?;
        Ok(route)
    }

    #[test]
    fn the_kernel_copies_into_a_regular_file_and_a_pipe() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout.log");
        let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();

        let out_path = dir.path().join("out");
        let out = File::create(&out_path).unwrap();
        assert_eq!(copy_direct(&path, &out).unwrap(), Route::CopyRange);
        assert_eq!(std::fs::read(&out_path).unwrap(), bytes);

        let (reader, writer) = rustix::pipe::pipe().unwrap();
        let reading = std::thread::spawn(move || {
            let mut got = Vec::new();
            File::from(reader).read_to_end(&mut got).unwrap();
            got
        });
        let writer = File::from(writer);
        assert_eq!(copy_direct(&path, &writer).unwrap(), Route::Splice);
        drop(writer);
        assert_eq!(reading.join().unwrap(), bytes);
    }

    #[test]
    fn an_append_only_file_falls_back_to_the_user_space_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout.log");
        std::fs::write(&path, b"appended\n").unwrap();
        let out_path = dir.path().join("out");
        std::fs::write(&out_path, b"kept\n").unwrap();
        let out = std::fs::OpenOptions::new()
            .append(true)
            .open(&out_path)
            .unwrap();
        copy_direct(&path, &out).unwrap();
        assert_eq!(std::fs::read(&out_path).unwrap(), b"kept\nappended\n");
    }

    #[test]
    fn a_closed_pipe_ends_the_kernel_copy_with_broken_pipe() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout.log");
        std::fs::write(&path, vec![7u8; 1 << 20]).unwrap();
        let (reader, writer) = rustix::pipe::pipe().unwrap();
        drop(reader);
        let err = copy_direct(&path, &File::from(writer)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
