//! `csa session logs`: what a job has written so far — `stdout.log` to stdout and, with
//! `--stderr`, `stderr.log` to stderr — optionally only the last N lines. Never waits.
//!
//! **Only reads**: nothing is healed.

use std::fs::File;
use std::io::{self, Read as _, Seek as _, Write};
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use anyhow::Result;

use crate::cmd::args::LogsArgs;
use crate::store::session::{self, StateRoot};

/// How many bytes are read at a time while looking for line starts from the end.
const TAIL_CHUNK: usize = 64 * 1024;

/// Runs `csa session logs`. Exit 0; 125 for an unknown or ambiguous ID or a spool file that
/// cannot be read. A reader that went away (`BrokenPipe`) is not an error.
pub fn exec(args: &LogsArgs) -> Result<u8> {
    let session = StateRoot::from_env()?.resolve(args.target.handle())?;
    copy_log(
        &session.file(session::STDOUT_LOG),
        &mut io::stdout().lock(),
        args.tail,
    )?;
    if args.stderr {
        copy_log(
            &session.file(session::STDERR_LOG),
            &mut io::stderr().lock(),
            args.tail,
        )?;
    }
    Ok(0)
}

/// Copies the bytes `path` holds now (or its last `tail` lines) to `sink`, in constant
/// memory. A missing file copies nothing.
fn copy_log(path: &Path, sink: &mut dyn Write, tail: Option<usize>) -> Result<()> {
    let file = match crate::store::files::Options::read().open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(crate::exit::io_failure("cannot read", &err, path.display())),
    };
    let copied = (|| {
        let len = file.metadata()?.len();
        let start = match tail {
            Some(lines) => tail_start(&file, len, lines)?,
            None => 0,
        };
        let mut reader = &file;
        reader.seek(io::SeekFrom::Start(start))?;
        io::copy(&mut reader.take(len - start), sink)?;
        sink.flush()
    })();
    match copied {
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => {
            Err(crate::exit::io_failure("cannot copy", &err, path.display()))
        }
        _ => Ok(()),
    }
}

/// The offset where the last `lines` lines of the first `len` bytes of `file` begin. A
/// final line without a newline counts as a line; the newline ending the last line does
/// not start another.
pub fn tail_start(file: &File, len: u64, lines: usize) -> io::Result<u64> {
    if lines == 0 {
        return Ok(len);
    }
    // Ignore the newline that ends the last line.
    let mut end = len;
    if end > 0 {
        let mut last = [0u8; 1];
        file.read_exact_at(&mut last, end - 1)?;
        if last[0] == b'\n' {
            end -= 1;
        }
    }
    let mut seen = 0;
    let mut buf = vec![0u8; TAIL_CHUNK];
    while end > 0 {
        let size = usize::try_from(end.min(TAIL_CHUNK as u64)).unwrap_or(TAIL_CHUNK);
        let from = end - size as u64;
        file.read_exact_at(&mut buf[..size], from)?;
        for (i, byte) in buf[..size].iter().enumerate().rev() {
            if *byte == b'\n' {
                seen += 1;
                if seen == lines {
                    return Ok(from + i as u64 + 1);
                }
            }
        }
        end = from;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail(text: &[u8], lines: usize) -> Vec<u8> {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(text).unwrap();
        let start = tail_start(&file, text.len() as u64, lines).unwrap();
        text[usize::try_from(start).unwrap()..].to_vec()
    }

    #[test]
    fn last_lines() {
        assert_eq!(tail(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(tail(b"a\nb\nc", 2), b"b\nc");
        assert_eq!(tail(b"a\nb\n", 5), b"a\nb\n");
        assert_eq!(tail(b"a\nb\n", 0), b"");
        assert_eq!(tail(b"", 3), b"");
        assert_eq!(tail(b"\n\n", 1), b"\n");
        let mut big = vec![b'x'; 3 * TAIL_CHUNK];
        big.extend_from_slice(b"\nlast\n");
        assert_eq!(tail(&big, 1), b"last\n");
        assert_eq!(tail(&big, 2).len(), big.len());
    }
}
