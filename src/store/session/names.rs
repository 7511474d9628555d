//! The name index: `<root>/names/<hash>-<ID>`, one empty file per session started with
//! `--name`, so that a session handle is looked up among names by reading one directory
//! instead of every `session.toml`.
//!
//! `<hash>` is the 64-bit FNV-1a hash of the name's bytes in 16 lower-case hex digits: a
//! fixed-length file name whatever the name holds (`/`, `..`, 1 KiB of text), so no part of
//! a name ever reaches a path. A hash match is only a hint; `session.toml` decides.
//!
//! The index is derived data. `csa run` adds an entry after creating the session directory;
//! an entry whose session directory is gone (removed by `clean`, or by a `run` that failed)
//! is removed by the next lookup that meets it. Lookups read `names/` *before* `sessions/`,
//! so an entry seen without its directory really is stale.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::PathBuf;

use anyhow::Result;
use ulid::Ulid;

use super::{ID_LEN, SESSION_TOML, SessionDir, StateRoot};
use crate::store::record::{self, SessionRecord};

/// `<root>/names`, the name index.
const NAMES_DIR: &str = "names";

/// One entry of the index: the hash of a name and the session that carries it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    hash: u64,
    id: Ulid,
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
        let entry = dir.join(format!("{:016x}-{}", hash(name), session.id_string()));
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .and_then(|()| {
                OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .mode(0o600)
                    .open(&entry)
            })
            .map_err(|err| {
                crate::exit::io_failure("cannot record the session name", &err, entry.display())
            })?;
        Ok(())
    }

    /// Every entry of the index (none when it does not exist or cannot be read).
    pub(super) fn name_entries(&self) -> Vec<Entry> {
        let Ok(entries) = fs::read_dir(self.names_dir()) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| {
                let file = entry.file_name();
                let (hash, id) = file.to_str()?.split_once('-')?;
                (hash.len() == 16 && id.len() == ID_LEN).then_some(())?;
                Some(Entry {
                    hash: u64::from_str_radix(hash, 16).ok()?,
                    id: Ulid::from_string(id).ok()?,
                })
            })
            .collect()
    }

    /// The newest session named exactly `name` (case-sensitive), among `entries` (read
    /// with [`Self::name_entries`] *before* `ids`, the store's IDs newest first). Reads the
    /// `session.toml` of hash matches only; removes the entries whose session is gone.
    pub(super) fn newest_named(&self, name: &str, entries: &[Entry], ids: &[Ulid]) -> Option<Ulid> {
        let wanted = hash(name);
        let mut matches = Vec::new();
        for entry in entries {
            let exists = ids.binary_search_by(|id| entry.id.cmp(id)).is_ok();
            if !exists {
                let file = format!("{:016x}-{}", entry.hash, entry.id);
                let _ = fs::remove_file(self.names_dir().join(file));
            } else if entry.hash == wanted {
                matches.push(entry.id);
            }
        }
        matches.sort_unstable_by(|a, b| b.cmp(a));
        matches
            .into_iter()
            .find(|id| self.name_of(*id).as_deref() == Some(name))
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
