//! The set of match keys seen so far in a file, to report a key repeated on a later row.
//!
//! A million keys must fit in little memory: the key bytes live in one arena and the table
//! holds only (offset, first row) pairs, about 30 bytes per key in all, with no allocation per
//! row.

use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

#[derive(Default)]
pub struct KeySet {
    hasher: DefaultHashBuilder,
    /// Keys, each stored as a little-endian u32 length followed by its bytes.
    arena: Vec<u8>,
    /// (offset of the key in `arena`, row where it first appeared).
    table: HashTable<(u32, u32)>,
}

impl KeySet {
    /// Records `key` seen on `row`; returns the earlier row when the key was already there.
    pub fn insert(&mut self, key: &str, row: u32) -> Option<u32> {
        let hash = self.hasher.hash_one(key.as_bytes());
        let arena = &self.arena;
        if let Some(&(_, first)) = self
            .table
            .find(hash, |&(off, _)| stored(arena, off) == key.as_bytes())
        {
            return Some(first);
        }
        let Ok(off) = u32::try_from(self.arena.len()) else {
            // Beyond 4 GiB of keys: stop tracking rather than fail the run.
            return None;
        };
        self.arena
            .extend_from_slice(&(key.len() as u32).to_le_bytes());
        self.arena.extend_from_slice(key.as_bytes());
        let (hasher, arena) = (&self.hasher, &self.arena);
        self.table.insert_unique(hash, (off, row), |&(o, _)| {
            hasher.hash_one(stored(arena, o))
        });
        None
    }
}

fn stored(arena: &[u8], off: u32) -> &[u8] {
    let off = off as usize;
    let len =
        u32::from_le_bytes([arena[off], arena[off + 1], arena[off + 2], arena[off + 3]]) as usize;
    &arena[off + 4..off + 4 + len]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_names_the_first_row() {
        let mut set = KeySet::default();
        for i in 0..10_000u32 {
            assert_eq!(set.insert(&format!("k{i}"), i + 2), None);
        }
        assert_eq!(set.insert("k5", 99), Some(7));
        assert_eq!(set.insert("k5", 100), Some(7));
        assert_eq!(set.insert("", 3), None);
        assert_eq!(set.insert("", 4), Some(3));
    }
}
