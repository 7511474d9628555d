//! Removing terminal escape sequences from a job's output on its way to a file or a pipe.
//!
//! The sequences are recognised by the state machine of `anstyle-parse` (the parser behind
//! `anstream`, which clap uses; it follows Paul Williams' DEC-compatible parser, as `vte`
//! does): ESC-introduced 7-bit sequences — CSI (`ESC [ … m`: colours, cursor moves), OSC
//! (`ESC ] 0;title BEL` or `… ESC \`), DCS, SOS/PM/APC strings and two- or three-byte
//! escapes. Only the bytes of those sequences are removed. Every other byte passes exactly:
//! UTF-8 text, tabs, CR, backspaces and bells, invalid UTF-8 and binary (single-byte C1
//! controls are not treated as sequence openers: in UTF-8 they are not characters, and
//! terminals in UTF-8 mode do not read them so). A newline ends any sequence left open —
//! a cut-off CSI (`ESC [` then `123`), an OSC, DCS or SOS/PM/APC string with no BEL or
//! `ESC \` after it — and passes: a terminal would execute it and read on for the
//! sequence's end, but a pipe would then lose the rest of the output (every digit of a
//! table, every line after a stray `ESC ]`) to one stray escape. No sequence a program
//! means to send holds a newline. Other C0 controls inside a CSI are kept, as a terminal
//! executes them. This is less than `anstream::adapter::StripBytes` removes (it also drops
//! every C0 control but whitespace, DEL and bytes that are not UTF-8), which is why csa
//! wraps the parser.
//!
//! State is kept between buffers (a sequence split across two reads is still removed
//! whole), in a few bytes: memory stays constant whatever the output's size.

use std::io::{self, Read, Write};

use anstyle_parse::state::{Action, State, state_change};

/// ESC, which opens every sequence removed.
const ESC: u8 = 0x1b;

/// A stream of bytes with its escape sequences removed; see the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct StripEscapes {
    /// Where the parser is: `Ground` between sequences.
    state: State,
}

impl StripEscapes {
    /// Between sequences, at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `bytes` to `sink` less the escape sequences in them, continuing a sequence an
    /// earlier call left open. Returns the last byte written, if any.
    ///
    /// Errors: those of `sink`'s `write_all`.
    pub fn write(&mut self, mut bytes: &[u8], sink: &mut impl Write) -> io::Result<Option<u8>> {
        let mut last = None;
        while !bytes.is_empty() {
            if self.state == State::Ground {
                // Text up to the next ESC passes as it is.
                let end = bytes.iter().position(|&b| b == ESC).unwrap_or(bytes.len());
                let (text, rest) = bytes.split_at(end);
                if let Some(&b) = text.last() {
                    sink.write_all(text)?;
                    last = Some(b);
                }
                bytes = rest;
                if let Some((_, rest)) = bytes.split_first() {
                    self.state = State::Escape;
                    bytes = rest;
                }
            } else {
                let (&b, rest) = bytes.split_first().unwrap_or((&0, &[]));
                bytes = rest;
                // A newline ends a sequence left open (see the module documentation).
                if b == b'\n' {
                    self.state = State::Ground;
                    sink.write_all(&[b])?;
                    last = Some(b);
                    continue;
                }
                let (next, action) = state_change(self.state, b);
                if next != State::Anywhere {
                    self.state = next;
                }
                if action == Action::Execute {
                    sink.write_all(&[b])?;
                    last = Some(b);
                }
            }
        }
        Ok(last)
    }
}

/// How much is read at a time by [`copy`] (bytes).
pub const BUFFER: usize = 64 * 1024;

/// Copies `reader` to its end into `sink` less its escape sequences, [`BUFFER`] bytes at a
/// time, and flushes `sink`. Returns the last byte written (`None` when nothing was).
///
/// Errors: the first read or write that fails (an interrupted read is retried).
pub fn copy(reader: &mut impl Read, sink: &mut impl Write) -> io::Result<Option<u8>> {
    let mut buffer = vec![0; BUFFER];
    let mut strip = StripEscapes::new();
    let mut out = io::BufWriter::with_capacity(BUFFER, &mut *sink);
    let mut last = None;
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        last = strip.write(&buffer[..read], &mut out)?.or(last);
    }
    out.flush()?;
    drop(out);
    sink.flush()?;
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(chunks: &[&[u8]]) -> Vec<u8> {
        let mut strip = StripEscapes::new();
        let mut out = Vec::new();
        for chunk in chunks {
            strip.write(chunk, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn removes_colours_titles_and_cursor_moves() {
        assert_eq!(strip(&[b"\x1b[1;31mred\x1b[0m plain\n"]), b"red plain\n");
        assert_eq!(strip(&[b"\x1b]0;a title\x07text"]), b"text");
        assert_eq!(strip(&[b"\x1b]0;t\xc3\xa9\x1b\\text"]), b"text");
        assert_eq!(strip(&[b"\x1b[2K\x1b[1Gline\x1b(B\x1b7x"]), b"linex");
        assert_eq!(strip(&[b"a\x1bPq#0;2;0;0;0\x1b\\b"]), b"ab");
    }

    #[test]
    fn keeps_every_other_byte() {
        let text = "tab\there\r\nbell\x07 back\x08 é ✓ 🦀\n".as_bytes();
        assert_eq!(strip(&[text]), text);
        let binary: Vec<u8> = (0..=255u8).filter(|&b| b != ESC).collect();
        assert_eq!(strip(&[&binary]), binary);
        assert_eq!(strip(&[b"\xff\xfe\xc3(\x9b31m"]), b"\xff\xfe\xc3(\x9b31m");
    }

    #[test]
    fn a_sequence_split_between_buffers_is_removed_whole() {
        let whole = b"a\x1b[38;5;196mb\x1b]0;title\x1b\\c";
        for cut in 0..whole.len() {
            let (first, second) = whole.split_at(cut);
            assert_eq!(strip(&[first, second]), b"abc", "cut at {cut}");
        }
    }

    #[test]
    fn copy_strips_across_its_reads() {
        let mut text = vec![b'x'; BUFFER - 3];
        text.extend_from_slice(b"\x1b[31mred\x1b[0m\n");
        let mut out = Vec::new();
        let last = copy(&mut text.as_slice(), &mut out).unwrap();
        let mut wanted = vec![b'x'; BUFFER - 3];
        wanted.extend_from_slice(b"red\n");
        assert_eq!(out, wanted);
        assert_eq!(last, Some(b'\n'));
        assert_eq!(copy(&mut &b"\x1b[0m"[..], &mut Vec::new()).unwrap(), None);
    }

    #[test]
    fn a_newline_ends_a_sequence_left_open() {
        assert_eq!(strip(&[b"\x1b[", b"1\n2\n3 done\n"]), b"\n2\n3 done\n");
        assert_eq!(strip(&[b"\x1b[1;2\n34m\n"]), b"\n34m\n");
        assert_eq!(strip(&[b"\x1b\n1\x1b(\n2\n"]), b"\n1\n2\n");
        for open in [
            &b"\x1b]0;title"[..],
            b"\x1bPq#0",
            b"\x1bP",
            b"\x1b_Gf=1",
            b"\x1b^pm",
            b"\x1bX",
        ] {
            let mut text = open.to_vec();
            text.extend_from_slice(b" cut\nline 2\nline 3\n");
            for cut in 0..text.len() {
                let (first, second) = text.split_at(cut);
                assert_eq!(
                    strip(&[first, second]),
                    b"\nline 2\nline 3\n",
                    "{open:?} cut at {cut}"
                );
            }
        }
        assert_eq!(strip(&[b"\x1b]0;t\x07a\nb"]), b"a\nb");
    }

    #[test]
    fn a_control_inside_a_sequence_is_kept() {
        assert_eq!(strip(&[b"\x1b[3\t1mx"]), b"\tx");
        assert_eq!(strip(&[b"\x1b]0;a\tb\x07x"]), b"x");
    }
}
