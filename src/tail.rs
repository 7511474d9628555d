//! Following growing spool files: copy what a job writes to an output as it arrives, until
//! the session ends, then drain to end of file. Memory use is constant (one copy buffer).

use std::fs::File;
use std::io::{self, Write};
use std::thread;
use std::time::Duration;

/// The shortest pause between two looks at an idle file.
const MIN_PAUSE: Duration = Duration::from_millis(1);
/// The longest pause between two looks at an idle file: bounds the delay of a new line.
const MAX_PAUSE: Duration = Duration::from_millis(25);

/// One followed file and where its bytes go.
pub struct Follow<'a> {
    /// The spool file, positioned where copying starts.
    pub file: File,
    /// Where new bytes are written.
    pub sink: &'a mut dyn Write,
}

/// Copies new bytes from every source to its sink until `finished()` returns true, then
/// copies what is left up to end of file. While output flows it looks again at once; when
/// idle, the pause doubles from 1 ms up to 25 ms.
///
/// Errors: a read error, or a write error of a sink (`BrokenPipe` when the reader is gone).
pub fn follow(sources: &mut [Follow<'_>], finished: &dyn Fn() -> bool) -> io::Result<()> {
    let mut pause = MIN_PAUSE;
    loop {
        // Look at `finished` before copying, so that the copy after it sees every byte
        // written before the session ended.
        let done = finished();
        let mut copied = 0;
        for source in sources.iter_mut() {
            copied += io::copy(&mut source.file, source.sink)?;
            source.sink.flush()?;
        }
        if done {
            return Ok(());
        }
        if copied > 0 {
            pause = MIN_PAUSE;
        } else {
            thread::sleep(pause);
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }
}
