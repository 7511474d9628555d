//! `csa session attach`: stream a session's `stdout.log` from its first byte and follow it
//! live (and `stderr.log` with `--stderr`) until the job ends, then exit with its exit code.
//! Ctrl-C detaches and leaves the job running.
//!
//! **Looks and heals** ([`crate::heal::observe`]): a session found ended without a result gets
//! its `lost` result written.

use std::io::{self, IsTerminal as _};
use std::os::fd::AsFd as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, Result};
use signal_hook::consts::SIGINT;

use crate::cmd::args::AttachArgs;
use crate::liveness::Observed;
use crate::store::session::{self, StateRoot};
use crate::tail::{self, Check, Follow, Outcome};

/// Runs `csa session attach`. Returns the job's exit code; 130 when the user detached;
/// 0 when the reader of stdout went away (`attach | head -1`), as Unix filters do; 1 for a
/// lost session. Errors (125): unknown session, unreadable spool file.
pub fn exec(args: &AttachArgs) -> Result<u8> {
    let session = StateRoot::from_env()?.resolve(args.target.handle())?;
    let id = session.id_string();
    let detach = Arc::new(AtomicBool::new(false));
    // A second Ctrl-C while detaching ends csa at once (the default action).
    signal_hook::flag::register_conditional_default(SIGINT, Arc::clone(&detach))
        .and_then(|_| signal_hook::flag::register(SIGINT, Arc::clone(&detach)))
        .context("cannot handle Ctrl-C")?;

    let (stdout, stderr) = (io::stdout(), io::stderr());
    // Only a pipe can report that its reader went away while the job is silent.
    let reader = (!stdout.is_terminal() && is_pipe(&stdout)).then(|| stdout.as_fd());
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    let mut sources =
        vec![Follow::new(session.file(session::STDOUT_LOG), &mut out).direct(stdout.as_fd())];
    if args.stderr {
        sources.push(
            Follow::new(session.file(session::STDERR_LOG), &mut err)
                .direct(stderr.as_fd())
                .best_effort(),
        );
    }
    let mut check = || {
        if detach.load(Ordering::SeqCst) {
            return Ok(Check::Stop);
        }
        // A session still being set up by `csa run` counts as running.
        match crate::heal::observe(&session) {
            Ok(Observed::Running | Observed::Queued) => Ok(Check::Running),
            Ok(Observed::Finished(_) | Observed::Gone) => Ok(Check::Finished),
            Err(err) => Err(io::Error::other(format!("{err:#}"))),
        }
    };
    let outcome = tail::follow(&session.path, &mut sources, reader, &mut check);
    drop(sources);
    drop((out, err));
    match outcome {
        Ok(Outcome::Drained) => {}
        Ok(Outcome::Stopped) => {
            // On a terminal, end the line where `^C` was echoed first.
            let newline = if io::stderr().is_terminal() { "\n" } else { "" };
            let again = crate::directive::csa_command(&["session", "attach", "--session", &id]);
            let stop = crate::directive::csa_command(&["session", "kill", "--session", &id]);
            crate::report::write_line(&format!(
                "{newline}csa: detached from session {id}; the job keeps running (re-attach: {again}; stop it: {stop})"
            ));
            return Ok(crate::exit::DETACHED);
        }
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => return Ok(0),
        Err(err) => {
            return Err(crate::exit::io_failure(
                "cannot follow the session's output",
                &err,
                &id,
            ));
        }
    }
    let result = crate::store::record::endings::final_result(&session)
        .map_err(|err| crate::store::record::recode_unrecorded(err, crate::exit::TIMEOUT))?;
    Ok(result.exit_code)
}

/// True when `stdout` is a pipe (or FIFO).
fn is_pipe(stdout: &io::Stdout) -> bool {
    rustix::fs::fstat(stdout.as_fd()).is_ok_and(|stat| {
        rustix::fs::FileType::from_raw_mode(stat.st_mode) == rustix::fs::FileType::Fifo
    })
}
