//! The view's filter: `tag:T`, `queue:Q`, `status:S` and plain words, all of which must
//! match (`tag:ci status:running make`).

use crate::fleet::Session;
use crate::store::record::{State, Status};

/// A parsed filter. Empty: every session matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    tags: Vec<String>,
    queues: Vec<String>,
    states: Vec<String>,
    /// Lower case.
    words: Vec<String>,
}

impl Filter {
    /// Parses `text`: terms separated by spaces.
    pub fn parse(text: &str) -> Self {
        let mut filter = Self::default();
        for term in text.split_whitespace() {
            if let Some(tag) = term.strip_prefix("tag:") {
                filter.tags.push(tag.to_owned());
            } else if let Some(queue) = term.strip_prefix("queue:") {
                filter.queues.push(queue.to_owned());
            } else if let Some(state) = term.strip_prefix("status:") {
                filter.states.push(state.to_ascii_lowercase());
            } else {
                filter.words.push(term.to_lowercase());
            }
        }
        filter
    }

    /// True when nothing is filtered out.
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
            && self.queues.is_empty()
            && self.states.is_empty()
            && self.words.is_empty()
    }

    /// True when `session` (called `title` in the view) passes every term: each tag is
    /// one of its tags, each queue is its queue, each status is its state (or `failed`:
    /// ended without success; `ended`; `live`), each word is found (ignoring case) in its
    /// handle, ID, title, queue, tags or state.
    pub fn matches(&self, session: &Session, title: &str) -> bool {
        let tags = session.tags();
        if !self.tags.iter().all(|tag| tags.contains(tag)) {
            return false;
        }
        let queue = session.queue().unwrap_or("");
        if !self.queues.iter().all(|wanted| wanted == queue) {
            return false;
        }
        if !self
            .states
            .iter()
            .all(|wanted| state_is(session.state, wanted))
        {
            return false;
        }
        if self.words.is_empty() {
            return true;
        }
        let text = format!(
            "{} {} {} {} {} {}",
            session.handle,
            session.dir.id_string(),
            title,
            queue,
            tags.join(" "),
            session.state.as_str()
        )
        .to_lowercase();
        self.words.iter().all(|word| text.contains(word.as_str()))
    }
}

/// True when `state` is what `wanted` names: a state's own name, `failed` (ended without
/// success), `ended`, or `live` (running or queued).
fn state_is(state: State, wanted: &str) -> bool {
    match wanted {
        "failed" => !matches!(
            state,
            State::Running | State::Queued | State::Ended(Status::Success)
        ),
        "ended" => !matches!(state, State::Running | State::Queued),
        "live" => matches!(state, State::Running | State::Queued),
        _ => state.as_str() == wanted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_sorted_by_kind() {
        let filter = Filter::parse("tag:ci  queue:builds status:Failed Make");
        assert_eq!(filter.tags, ["ci"]);
        assert_eq!(filter.queues, ["builds"]);
        assert_eq!(filter.states, ["failed"]);
        assert_eq!(filter.words, ["make"]);
        assert!(Filter::parse("  ").is_empty());
    }

    #[test]
    fn status_names_and_groups() {
        assert!(state_is(State::Ended(Status::Timeout), "failed"));
        assert!(state_is(State::Ended(Status::Skipped), "failed"));
        assert!(!state_is(State::Ended(Status::Success), "failed"));
        assert!(state_is(State::Ended(Status::Success), "ended"));
        assert!(state_is(State::Queued, "live"));
        assert!(state_is(State::Running, "running"));
        assert!(!state_is(State::Running, "queued"));
    }
}
