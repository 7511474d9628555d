//! Short handles: the shortest end of a session ID that names that session alone, for views
//! that show many sessions (`csa top`, `csa status`). A user can type it wherever a session
//! handle is taken (docs/shell.md, "Session handles").

use ulid::Ulid;

use super::{ID_LEN, MIN_PREFIX_LEN};

/// For each of `ids`, its short handle: the shortest suffix of its ID, at least
/// [`MIN_PREFIX_LEN`] characters, that no other ID of `ids` ends with and no other ID
/// starts with — so that [`super::StateRoot::resolve`] finds that session alone. (A
/// session *name* equal to it would still make it ambiguous; names rarely look like the
/// random end of a ULID, and `resolve` then names both.) In the order of `ids`.
///
/// Sorts the IDs twice: O(n log n) for n sessions.
pub fn short_handles(ids: &[Ulid]) -> Vec<String> {
    let texts: Vec<[u8; ID_LEN]> = ids.iter().map(|id| text(*id)).collect();
    // Neighbours in the order of the reversed texts share the longest suffixes.
    let mut by_suffix: Vec<usize> = (0..ids.len()).collect();
    by_suffix.sort_unstable_by(|&a, &b| texts[a].iter().rev().cmp(texts[b].iter().rev()));
    let mut needed = vec![MIN_PREFIX_LEN; ids.len()];
    for pair in by_suffix.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let common = texts[a]
            .iter()
            .rev()
            .zip(texts[b].iter().rev())
            .take_while(|(x, y)| x == y)
            .count();
        for at in [a, b] {
            needed[at] = needed[at].max((common + 1).min(ID_LEN));
        }
    }
    let mut by_prefix: Vec<&[u8; ID_LEN]> = texts.iter().collect();
    by_prefix.sort_unstable();
    texts
        .iter()
        .zip(needed)
        .map(|(text, mut len)| {
            // Longer while another ID starts with it (a prefix match would also count).
            while len < ID_LEN && starts_another(&by_prefix, text, &text[ID_LEN - len..]) {
                len += 1;
            }
            String::from_utf8_lossy(&text[ID_LEN - len..]).into_owned()
        })
        .collect()
}

/// The short handle of `id` alone among `ids` (which may include it): the same as
/// [`short_handles`] would give it, in one pass over `ids` without sorting them (for
/// `csa run`'s line on a terminal, which names one new session).
pub fn short_handle(id: Ulid, ids: &[Ulid]) -> String {
    let own = text(id);
    let mut len = MIN_PREFIX_LEN;
    for other in ids.iter().filter(|other| **other != id) {
        let other = text(*other);
        let common = own
            .iter()
            .rev()
            .zip(other.iter().rev())
            .take_while(|(x, y)| x == y)
            .count();
        len = len.max((common + 1).min(ID_LEN));
    }
    loop {
        let end = &own[ID_LEN - len..];
        let prefix_of_another = ids
            .iter()
            .filter(|other| **other != id)
            .any(|other| text(*other).starts_with(end));
        if len == ID_LEN || !prefix_of_another {
            return String::from_utf8_lossy(end).into_owned();
        }
        len += 1;
    }
}

/// True when an ID of `sorted` other than `own` starts with `start`.
fn starts_another(sorted: &[&[u8; ID_LEN]], own: &[u8; ID_LEN], start: &[u8]) -> bool {
    let from = sorted.partition_point(|text| &text[..] < start);
    sorted[from..]
        .iter()
        .take_while(|text| text.starts_with(start))
        .any(|text| *text != own)
}

fn text(id: Ulid) -> [u8; ID_LEN] {
    let mut buffer = [0; ID_LEN];
    id.array_to_str(&mut buffer);
    buffer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> Ulid {
        Ulid::from_string(text).unwrap()
    }

    #[test]
    fn four_characters_unless_another_id_shares_them() {
        let ids = [
            id("01JD4K9V0Q6Y3M8T2B5N7R1XWE"),
            id("01JD4K9V0Q6Y3M8T2B5N7R9XWE"),
            id("01JD4K9V0Q6Y3M8T2B5N7R1ABC"),
        ];
        assert_eq!(short_handles(&ids), ["1XWE", "9XWE", "1ABC"]);
    }

    #[test]
    fn never_the_prefix_of_another_id() {
        // The end of the first is how the second starts.
        let ids = [
            id("7ZZZZZZZZZZZZZZZZZZZZZ01JD"),
            id("01JD4K9V0Q6Y3M8T2B5N7R1XWE"),
        ];
        assert_eq!(short_handles(&ids), ["Z01JD", "1XWE"]);
    }

    #[test]
    fn one_handle_is_the_one_of_all_handles() {
        // Random ends with many shared last characters, and one end that is another's start.
        let unique: std::collections::BTreeSet<Ulid> = (0..500)
            .map(|_| Ulid::from_parts(1_800_000_000_000, fastrand::u128(..) % 40_000))
            .chain([
                id("7ZZZZZZZZZZZZZZZZZZZZZ01JD"),
                id("01JD4K9V0Q6Y3M8T2B5N7R1XWE"),
            ])
            .collect();
        let ids: Vec<Ulid> = unique.into_iter().collect();
        let all = short_handles(&ids);
        for (own, handle) in ids.iter().zip(&all) {
            assert_eq!(&short_handle(*own, &ids), handle, "{own}");
        }
    }

    #[test]
    fn every_handle_resolves_to_its_own_session_alone() {
        // The same millisecond and random ends: shared beginnings and, among 2,000, some shared
        // four-character ends.
        let ids: Vec<Ulid> = (0..2000)
            .map(|_| Ulid::from_parts(1_800_000_000_000, fastrand::u128(..)))
            .collect();
        let texts: Vec<String> = ids.iter().map(Ulid::to_string).collect();
        let handles = short_handles(&ids);
        for (own, handle) in ids.iter().zip(&handles) {
            let matches = texts
                .iter()
                .filter(|text| text.ends_with(handle.as_str()) || text.starts_with(handle.as_str()))
                .count();
            assert_eq!(matches, 1, "{handle} of {own}");
            assert!(own.to_string().ends_with(handle.as_str()));
        }
    }
}
