//! Each record once, in page order: the ids already exported, and the two ways a server that
//! mishandles `page` shows itself (page 2 repeating page 1; a later page bringing nothing new).
//! Ids are kept as 64-bit fingerprints, so a million cost about 18 MB.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use super::{Batch, Fetched, PagingError};
use crate::hash::BuildPrehashed;

/// The ids seen so far and the counts, in page order.
pub(super) struct Tracker {
    seen: HashSet<u64, BuildPrehashed>,
    /// Fingerprints of page 1, kept until page 2 has been compared with them.
    first_page: Vec<u64>,
    max: Option<u64>,
    pub(super) records: u64,
    pub(super) duplicates: u64,
    pub(super) without_id: u64,
}

impl Tracker {
    pub(super) fn new(max: Option<u64>) -> Tracker {
        Tracker {
            seen: HashSet::default(),
            first_page: Vec::new(),
            max,
            records: 0,
            duplicates: 0,
            without_id: 0,
        }
    }

    /// Sizes the id set for the expected count up front, so it does not double (and briefly
    /// hold both tables) while it grows; capped so a wild total cannot reserve gigabytes.
    pub(super) fn reserve(&mut self, expected: u64) {
        self.seen.reserve(expected.min(4_000_000) as usize);
    }

    /// Takes page `number`'s records; returns the new ones and whether `--max` is reached.
    pub(super) fn accept(
        &mut self,
        number: u64,
        page: Fetched,
    ) -> Result<(Batch, bool), PagingError> {
        let Fetched {
            mut lines,
            spans,
            keys,
            ..
        } = page;
        if number == 1 {
            self.first_page = spans.iter().map(|s| s.0).collect();
        } else if number == 2 {
            let first = std::mem::take(&mut self.first_page);
            if !spans.is_empty() && spans.iter().map(|s| s.0).eq(first) {
                return Err(PagingError::PageIgnored);
            }
        }
        let room = self
            .max
            .map_or(u64::MAX, |m| m.saturating_sub(self.records));
        // The page's buffer is sent as it is unless a record must go: then, from the first
        // record dropped, the kept lines are copied.
        let mut copied: Option<Vec<u8>> = None;
        let mut count = 0u64;
        let mut start = 0;
        for &(print, has_id, end) in &spans {
            let fresh = if !has_id {
                self.without_id += 1;
                true
            } else if self.seen.insert(print) {
                true
            } else {
                self.duplicates += 1;
                false
            };
            if fresh && count < room {
                count += 1;
                if let Some(out) = &mut copied {
                    out.extend_from_slice(&lines[start..end]);
                }
            } else if copied.is_none() {
                copied = Some(lines[..start].to_vec());
            }
            start = end;
        }
        if !spans.is_empty() && count == 0 && room > 0 {
            return Err(PagingError::Repeated { page: number });
        }
        if let Some(out) = copied {
            lines = out;
        }
        self.records += count;
        let full = self.max.is_some_and(|m| self.records >= m);
        Ok((
            Batch {
                lines,
                records: count,
                keys,
            },
            full,
        ))
    }
}

/// A record's fingerprint: a hash of its id, or of its serialised form when it has none (then
/// it only serves to recognise a repeated page). The flag says whether it came from an id.
pub(super) fn fingerprint(id: Option<&str>, serialised: &[u8]) -> (u64, bool) {
    // SipHash with fixed keys: the same id always gives the same fingerprint within a run.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    match id {
        Some(id) => {
            id.hash(&mut hasher);
            (hasher.finish(), true)
        }
        None => {
            serialised.hash(&mut hasher);
            (hasher.finish(), false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{fetched, lines};
    use super::*;

    #[test]
    fn duplicates_are_skipped_and_counted() {
        let mut t = Tracker::new(None);
        let (a, _) = t.accept(1, fetched(&["a", "b"])).unwrap();
        assert_eq!(a.records, 2);
        let (b, _) = t.accept(2, fetched(&["b", "c", "a", "d"])).unwrap();
        assert_eq!(b.records, 2);
        assert_eq!(lines(&b), [r#"{"_id":"c","n":1}"#, r#"{"_id":"d","n":1}"#]);
        assert_eq!((t.records, t.duplicates), (4, 2));
    }

    #[test]
    fn page_two_repeating_page_one_is_caught() {
        let mut t = Tracker::new(None);
        t.accept(1, fetched(&["a", "b"])).unwrap();
        assert!(matches!(
            t.accept(2, fetched(&["a", "b"])),
            Err(PagingError::PageIgnored)
        ));
        let mut t = Tracker::new(None);
        t.accept(1, fetched(&["a"])).unwrap();
        t.accept(2, fetched(&["b"])).unwrap();
        assert!(matches!(
            t.accept(3, fetched(&["b"])),
            Err(PagingError::Repeated { page: 3 })
        ));
    }

    #[test]
    fn max_truncates_and_stops() {
        let mut t = Tracker::new(Some(3));
        let (_, full) = t.accept(1, fetched(&["a", "b"])).unwrap();
        assert!(!full);
        let (b, full) = t.accept(2, fetched(&["c", "d"])).unwrap();
        assert_eq!((b.records, full), (1, true));
        assert_eq!(lines(&b), [r#"{"_id":"c","n":1}"#]);
    }
}
