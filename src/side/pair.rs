//! Which record of one side stands for which of the other: by id, by match key, or by id and
//! then key (a backup restored into an account whose customers were re-created with new ids).

use super::{Match, Side};

/// How records are matched across sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Id,
    Key,
    /// The id when the other side has it, else the key.
    IdThenKey,
}

/// One record of the new side and its match on the old, or an old record nobody matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pair {
    /// Only on the new side.
    Added { new: u32 },
    /// Only on the old side.
    Removed { old: u32 },
    /// On both, with the same fingerprint: the same customer values.
    Same { old: u32, new: u32 },
    /// On both, with different fingerprints: read them again to see what differs.
    Differ { old: u32, new: u32 },
    /// Its key is shared by several old records: none can be chosen.
    Ambiguous { new: u32 },
    /// Its old match was already taken by an earlier new record (a backup with the same
    /// customer twice).
    Taken { old: u32, new: u32 },
}

/// Pairs every record of `new`, in order, then lists the records of `old` left over.
pub fn pairs<'a>(old: &'a Side, new: &'a Side, by: By) -> Pairs<'a> {
    Pairs {
        old,
        new,
        by,
        next: 0,
        leftover: 0,
        near: 0,
        taken: vec![0; old.entries.len().div_ceil(64)],
    }
}

/// See [`pairs`].
pub struct Pairs<'a> {
    old: &'a Side,
    new: &'a Side,
    by: By,
    next: usize,
    leftover: usize,
    /// The old record after the last one matched: where the next match likely is.
    near: usize,
    /// One bit per old record: matched already.
    taken: Vec<u64>,
}

impl Pairs<'_> {
    fn matching(&self, new: u32) -> Match {
        let entry = &self.new.entries[new as usize];
        let by_id = || match self.old.by_id_hash_near(entry.id, self.near) {
            Some(i) => Match::One(i),
            None => Match::None,
        };
        match self.by {
            By::Id => by_id(),
            By::Key => self.old.by_key_hash(entry.key),
            By::IdThenKey => match by_id() {
                Match::None => self.old.by_key_hash(entry.key),
                found => found,
            },
        }
    }

    fn take(&mut self, old: u32) -> bool {
        self.near = old as usize + 1;
        let (word, bit) = (old as usize / 64, 1u64 << (old % 64));
        let free = self.taken[word] & bit == 0;
        self.taken[word] |= bit;
        free
    }
}

impl Iterator for Pairs<'_> {
    type Item = Pair;

    fn next(&mut self) -> Option<Pair> {
        if self.next < self.new.entries.len() {
            let new = self.next as u32;
            self.next += 1;
            return Some(match self.matching(new) {
                Match::None => Pair::Added { new },
                Match::Many => Pair::Ambiguous { new },
                Match::One(old) if !self.take(old) => Pair::Taken { old, new },
                Match::One(old) => {
                    let (a, b) = (
                        &self.old.entries[old as usize],
                        &self.new.entries[new as usize],
                    );
                    if a.fingerprint == b.fingerprint {
                        Pair::Same { old, new }
                    } else {
                        Pair::Differ { old, new }
                    }
                }
            });
        }
        while self.leftover < self.old.entries.len() {
            let old = self.leftover as u32;
            self.leftover += 1;
            if self.taken[old as usize / 64] & (1u64 << (old % 64)) == 0 {
                return Some(Pair::Removed { old });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(dir: &std::path::Path, name: &str, ids: &[&str]) -> Side {
        let path = dir.join(name);
        let lines: Vec<String> = ids
            .iter()
            .map(|id| format!("{{\"_id\":\"{id}\"}}"))
            .collect();
        std::fs::write(&path, lines.join("\n")).unwrap();
        super::super::from_file(&path, None, true).unwrap()
    }

    /// Records are paired in order with the first old record of their id, whether or not
    /// the old side lists them in the same order, and holds an id twice.
    #[test]
    fn each_new_record_pairs_with_the_first_old_record_of_its_id() {
        let dir = tempfile::tempdir().unwrap();
        let new = side(dir.path(), "new.ndjson", &["x", "a", "b", "y"]);
        let old = side(dir.path(), "old.ndjson", &["a", "x", "a", "b"]);
        assert_eq!(old.duplicate_ids, 1);
        let found: Vec<Pair> = pairs(&old, &new, By::Id).collect();
        assert_eq!(
            found,
            [
                Pair::Same { old: 1, new: 0 },
                Pair::Same { old: 0, new: 1 },
                Pair::Same { old: 3, new: 2 },
                Pair::Added { new: 3 },
                Pair::Removed { old: 2 },
            ]
        );
        let old = side(dir.path(), "same.ndjson", &["x", "a", "b", "z"]);
        let found: Vec<Pair> = pairs(&old, &new, By::Id).collect();
        assert_eq!(found[..3], [0, 1, 2].map(|i| Pair::Same { old: i, new: i }));
        assert_eq!(
            found[3..],
            [Pair::Added { new: 3 }, Pair::Removed { old: 3 }]
        );
    }
}
