//! Lines of several followed sessions on one output, each after its session's label, as
//! `docker compose logs` prints its services: `build | compiling…`.

use std::io::{self, Write};

/// The longest part of a line kept while waiting for its newline, in bytes: a longer line
/// is printed in pieces of this size, each on a line of its own after the label, so memory
/// stays bounded whatever a job writes.
const MAX_PARTIAL: usize = 64 * 1024;

/// A sink that writes each complete line to `out` after `label`, in one write, so that
/// lines of several [`Prefixed`] sinks sharing one output never mix within a line. A last
/// line without its newline is held until the newline comes or [`Prefixed::finish`] is
/// called.
pub struct Prefixed<W: Write> {
    label: Vec<u8>,
    partial: Vec<u8>,
    out: W,
}

impl<W: Write> Prefixed<W> {
    /// Lines written to this sink go to `out` as `LABEL | line`; `label` is padded to
    /// `width` characters so that the lines of several sessions line up.
    pub fn new(label: &str, width: usize, out: W) -> Self {
        Self {
            label: format!("{label:<width$} | ").into_bytes(),
            partial: Vec::new(),
            out,
        }
    }

    /// Writes the held part of a last line, if any, with a newline added.
    ///
    /// Errors: the write to the output fails.
    pub fn finish(&mut self) -> io::Result<()> {
        if self.partial.is_empty() {
            return self.out.flush();
        }
        self.partial.push(b'\n');
        self.emit()?;
        self.out.flush()
    }

    /// Writes the label and the held line in one write, and forgets the line.
    fn emit(&mut self) -> io::Result<()> {
        let mut line = Vec::with_capacity(self.label.len() + self.partial.len());
        line.extend_from_slice(&self.label);
        line.append(&mut self.partial);
        self.out.write_all(&line)
    }
}

impl<W: Write> Write for Prefixed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while !rest.is_empty() {
            let room = MAX_PARTIAL.saturating_sub(self.partial.len()).max(1);
            match rest.iter().take(room).position(|byte| *byte == b'\n') {
                Some(at) => {
                    self.partial.extend_from_slice(&rest[..=at]);
                    rest = &rest[at + 1..];
                    self.emit()?;
                }
                None if rest.len() >= room => {
                    self.partial.extend_from_slice(&rest[..room]);
                    rest = &rest[room..];
                    self.partial.push(b'\n');
                    self.emit()?;
                }
                None => {
                    self.partial.extend_from_slice(rest);
                    rest = &[];
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_line_gets_the_label_once_whatever_the_writes() {
        let mut out = Vec::new();
        let mut sink = Prefixed::new("b", 3, &mut out);
        sink.write_all(b"one\ntw").unwrap();
        sink.write_all(b"o\n\nthree").unwrap();
        sink.finish().unwrap();
        drop(sink);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "b   | one\nb   | two\nb   | \nb   | three\n"
        );
    }

    #[test]
    fn a_line_longer_than_the_cap_is_cut_into_labelled_pieces() {
        let mut out = Vec::new();
        let mut sink = Prefixed::new("x", 1, &mut out);
        let long = vec![b'a'; MAX_PARTIAL + 10];
        sink.write_all(&long).unwrap();
        sink.write_all(b"\n").unwrap();
        drop(sink);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), 4 + MAX_PARTIAL);
        assert_eq!(lines[1], format!("x | {}", "a".repeat(10)));
    }
}
