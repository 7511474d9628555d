//! `csa session result`: print a session's result as TOML (the text of `result.toml`) or
//! JSON, or `status = "running"` while its supervisor lives. Never waits.
//!
//! **Looks and heals** ([`crate::heal::observe`]), as `list` does.

use anyhow::{Context as _, Result};

use super::view::{self, ResultView, Seen};
use crate::admission::waiting_for as whereabouts;
use crate::cmd::args::ResultArgs;
use crate::store::session::StateRoot;

/// Runs `csa session result`. Exit 0 (whatever the job's status); 125 for an unknown or
/// ambiguous ID or unreadable state; 124 when the session is dead and its lost result
/// cannot be recorded.
pub fn exec(args: &ResultArgs) -> Result<u8> {
    let session = StateRoot::from_env()?.resolve(args.target.handle())?;
    let shown = match view::look(&session)? {
        Seen::Finished(result) => ResultView::finished(&result),
        Seen::Running => {
            ResultView::running(&session, view::session_record(&session).ok().as_ref())
        }
        Seen::Queued => {
            let record = view::session_record(&session).ok();
            let whereabouts = record.as_ref().map(|record| {
                whereabouts::find(
                    &StateRoot::of_session(&session),
                    &session.id_string(),
                    record,
                    &mut crate::queue::snapshot::Snapshots::default(),
                )
            });
            ResultView::queued(&session, record.as_ref(), whereabouts)
        }
    };
    let shown = shown.with_job_id(&session, view::session_record(&session).ok().as_ref());
    let text = if args.json {
        let mut text = serde_json::to_string_pretty(&shown).context("cannot format the result")?;
        text.push('\n');
        text
    } else {
        toml::to_string(&shown).context("cannot format the result")?
    };
    crate::exit::write_stdout(text.as_bytes(), "the result")?;
    Ok(0)
}
