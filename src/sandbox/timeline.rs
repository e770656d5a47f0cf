//! Records in creation order, addressable by position.
//!
//! A list page is "skip `offset`, take `limit`" in creation order. A `BTreeMap` can only skip by
//! walking, which for page 500 of a million-record store costs tens of milliseconds per page and
//! makes a full export quadratic. Here the records sit in sorted blocks of at most
//! `2 * BLOCK` entries: finding a position sums block lengths (a thousand additions for a million
//! records), new records append to the last block, and an insert or removal in the middle moves
//! at most one block's worth of entries.

use std::sync::Arc;

use super::store::{Key, Stored};

const BLOCK: usize = 512;

#[derive(Debug, Default)]
pub(crate) struct Timeline {
    blocks: Vec<Vec<Arc<Stored>>>,
    len: usize,
}

impl Timeline {
    pub fn len(&self) -> usize {
        self.len
    }

    /// The block that holds `key`, or would: the first whose last key is not below it.
    fn block_for(&self, key: Key) -> usize {
        let i = self
            .blocks
            .partition_point(|b| b.last().is_some_and(|r| r.key < key));
        i.min(self.blocks.len().saturating_sub(1))
    }

    /// Inserts a record, or replaces the one with the same key.
    pub fn upsert(&mut self, record: Arc<Stored>) {
        if self.blocks.is_empty() {
            self.blocks.push(Vec::with_capacity(2 * BLOCK));
        }
        let b = self.block_for(record.key);
        let block = &mut self.blocks[b];
        match block.binary_search_by(|r| r.key.cmp(&record.key)) {
            Ok(i) => block[i] = record,
            Err(i) => {
                block.insert(i, record);
                self.len += 1;
                if block.len() > 2 * BLOCK {
                    let tail = block.split_off(BLOCK);
                    self.blocks.insert(b + 1, tail);
                }
            }
        }
    }

    pub fn remove(&mut self, key: Key) -> bool {
        if self.blocks.is_empty() {
            return false;
        }
        let b = self.block_for(key);
        let block = &mut self.blocks[b];
        let Ok(i) = block.binary_search_by(|r| r.key.cmp(&key)) else {
            return false;
        };
        block.remove(i);
        self.len -= 1;
        if block.is_empty() {
            self.blocks.remove(b);
        }
        true
    }

    /// Every record, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Arc<Stored>> {
        self.blocks.iter().flatten()
    }

    /// Up to `count` records from ascending position `start`, oldest first.
    pub fn range(&self, start: usize, count: usize) -> Vec<Arc<Stored>> {
        let mut out = Vec::with_capacity(count.min(self.len.saturating_sub(start)));
        let mut skip = start;
        for block in &self.blocks {
            if out.len() == count {
                break;
            }
            if skip >= block.len() {
                skip -= block.len();
                continue;
            }
            let take = (count - out.len()).min(block.len() - skip);
            out.extend_from_slice(&block[skip..skip + take]);
            skip = 0;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ms: i64, seq: u64) -> Arc<Stored> {
        Arc::new(Stored {
            id: format!("{seq}"),
            key: (ms, seq),
            json: Default::default(),
        })
    }

    fn seqs(records: &[Arc<Stored>]) -> Vec<u64> {
        records.iter().map(|r| r.key.1).collect()
    }

    #[test]
    fn keeps_key_order_through_inserts_removals_and_splits() {
        let mut t = Timeline::default();
        // Out of order on purpose: every third record is older than the ones before it.
        for seq in 0..5000u64 {
            let ms = if seq % 3 == 0 { 0 } else { seq as i64 };
            t.upsert(rec(ms, seq));
        }
        for seq in (0..5000u64).step_by(7) {
            let ms = if seq % 3 == 0 { 0 } else { seq as i64 };
            assert!(t.remove((ms, seq)));
        }
        assert!(!t.remove((1, 1_000_000)));
        let all: Vec<Key> = t.iter().map(|r| r.key).collect();
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(all, sorted);
        assert_eq!(t.len(), all.len());
        let owned: Vec<Arc<Stored>> = t.iter().cloned().collect();
        for (start, count) in [
            (0, 10),
            (1234, 1000),
            (all.len() - 3, 10),
            (all.len() + 5, 10),
        ] {
            let end = (start + count).min(all.len());
            let expected = if start < all.len() {
                seqs(&owned[start..end])
            } else {
                vec![]
            };
            assert_eq!(seqs(&t.range(start, count)), expected, "{start}+{count}");
        }
    }

    #[test]
    fn upsert_with_an_existing_key_replaces() {
        // A record whose key is already there takes its place: same length, the new record
        // seen where the old one was, in a middle block as well as the first.
        let mut t = Timeline::default();
        for seq in 0..2000u64 {
            t.upsert(rec(seq as i64, seq));
        }
        for seq in [0u64, 1234] {
            let replacement = Arc::new(Stored {
                id: format!("replaced {seq}"),
                key: (seq as i64, seq),
                json: Default::default(),
            });
            t.upsert(replacement);
            assert_eq!(t.len(), 2000);
            let at = t.range(seq as usize, 1);
            assert_eq!(at[0].id, format!("replaced {seq}"));
        }
        assert_eq!(t.iter().filter(|r| r.id.starts_with("replaced")).count(), 2);
    }
}
