//! The name index: `<root>/names/<hash>-<ID>`, one empty file per session started with
//! `--name`, so that a session handle is looked up among names by reading one directory
//! instead of every `session.toml`.
//!
//! `<hash>` is the 64-bit FNV-1a hash of the name's bytes in 16 lower-case hex digits: a
//! fixed-length file name whatever the name holds (`/`, `..`, 1 KiB of text), so no part of
//! a name ever reaches a path. A hash match is only a hint; `session.toml` decides.
//!
//! The index is derived data. `csa run` adds an entry while it sets the session up in its
//! hidden `sessions/.new-<ID>` directory, before the session appears under its ID. So an
//! entry whose session directory is not there may belong to a session being started:
//! **a lookup never removes an entry**. `csa session clean` removes the entries of the
//! sessions it removes, and those whose session is gone for good ([`StateRoot::tidy_names`]).

use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::Result;
use ulid::Ulid;

use super::{ID_LEN, SESSION_TOML, SessionDir, StateRoot};
use crate::store::files;
use crate::store::record::{self, SessionRecord};

/// `<root>/names`, the name index.
const NAMES_DIR: &str = "names";

/// One entry of the index: the hash of a name and the session that carries it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    hash: u64,
    id: Ulid,
}

impl Entry {
    /// `<hash>-<ID>`: the entry's file name in `<root>/names`.
    fn file_name(hash: u64, id: Ulid) -> String {
        format!("{hash:016x}-{id}")
    }
}

/// The 64-bit FNV-1a hash of `name` (Fowler, Noll, Vo; the parameters of the 64-bit
/// variant). Stable across csa versions and platforms, unlike std's `DefaultHasher`.
fn hash(name: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    name.bytes()
        .fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

impl StateRoot {
    /// `<root>/names`.
    fn names_dir(&self) -> PathBuf {
        self.path.join(NAMES_DIR)
    }

    /// Records that `session` is named `name` (creating `<root>/names`, mode 0700, and an
    /// empty entry, mode 0600). Errors (exit 125) when the entry cannot be created.
    pub fn index_name(&self, session: &SessionDir, name: &str) -> Result<()> {
        let dir = self.names_dir();
        let entry = dir.join(Entry::file_name(hash(name), session.id));
        files::ensure_dir(&dir)
            .and_then(|()| files::Options::write().create().open(&entry))
            .map_err(|err| files::failure("cannot record the session name", &err, &entry))?;
        Ok(())
    }

    /// Every entry of the index (none when it does not exist or cannot be read).
    pub(super) fn name_entries(&self) -> Vec<Entry> {
        let Ok(entries) = files::read_dir(&self.names_dir()) else {
            return Vec::new();
        };
        entries
            .iter()
            .filter_map(|entry| {
                let (hash, id) = entry.name_str()?.split_once('-')?;
                (hash.len() == 16 && id.len() == ID_LEN).then_some(())?;
                Some(Entry {
                    hash: u64::from_str_radix(hash, 16).ok()?,
                    id: Ulid::from_string(id).ok()?,
                })
            })
            .collect()
    }

    /// The newest session named exactly `name` (case-sensitive), among `entries` (the
    /// index, [`Self::name_entries`]) whose session is in `ids` (the store's IDs, newest
    /// first). Reads the `session.toml` of hash matches only. Removes nothing: an entry
    /// without its session may be a session being set up (see the module documentation).
    pub(super) fn newest_named(&self, name: &str, entries: &[Entry], ids: &[Ulid]) -> Option<Ulid> {
        let wanted = hash(name);
        let mut matches: Vec<Ulid> = entries
            .iter()
            .filter(|entry| entry.hash == wanted)
            .filter(|entry| ids.binary_search_by(|id| entry.id.cmp(id)).is_ok())
            .map(|entry| entry.id)
            .collect();
        matches.sort_unstable_by(|a, b| b.cmp(a));
        matches.dedup();
        matches
            .into_iter()
            .find(|id| self.name_of(*id).as_deref() == Some(name))
    }

    /// Removes the index entries of sessions that are gone for good: no directory under
    /// their ID, none being set up (`sessions/.new-<ID>`), and created longer ago than
    /// `grace` before `now` (a `csa run` indexes the name while it sets the session up).
    /// For `csa session clean`; best effort. Returns how many were removed.
    pub fn tidy_names(&self, now: SystemTime, grace: std::time::Duration) -> usize {
        let sessions = self.sessions_dir();
        let mut removed = 0;
        for entry in self.name_entries() {
            let young = now
                .duration_since(entry.id.datetime())
                .map_or(true, |age| age < grace);
            // Checked in this order: a session being set up is renamed from its hidden
            // name to its ID in one step, so it is seen under one of them.
            let staged = sessions.join(format!("{}{}", super::STAGING_PREFIX, entry.id));
            if young || files::exists(&staged) || files::exists(&self.session(entry.id).path) {
                continue;
            }
            let path = self
                .names_dir()
                .join(Entry::file_name(entry.hash, entry.id));
            if files::remove_file(&path).is_ok() {
                removed += 1;
            }
        }
        removed
    }

    /// The `--name` of session `id`, if it has one and its `session.toml` can be read.
    pub(super) fn name_of(&self, id: Ulid) -> Option<String> {
        let path = self.session(id).file(SESSION_TOML);
        record::read::<SessionRecord>(&path).ok().flatten()?.name
    }
}

#[cfg(test)]
mod tests {
    use super::hash;

    #[test]
    fn fnv1a_matches_the_published_vectors() {
        assert_eq!(hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash("foobar"), 0x8594_4171_f739_67e8);
    }
}
