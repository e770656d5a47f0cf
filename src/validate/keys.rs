//! What a file's earlier rows held, to report a repeat on a later row: the match keys seen so
//! far ([`KeySet`], exact), and the hashed values likely duplicates are found by ([`Seen`]).
//!
//! A million keys must cost little memory and time. Key bytes (with the row they first
//! appeared on) live in fixed-size arena chunks that never move; the table is an
//! open-addressing array of 8-byte slots (32 bits of hash, the key's place in the arena), so
//! growing it never reads the keys again, a lookup reads the arena only on a 32-bit hash match,
//! and the caller can prefetch a key's slot while it checks the rest of the row: on a table
//! far larger than the CPU cache, that miss was the largest cost of validating a row.

use std::hash::BuildHasher;

use hashbrown::DefaultHashBuilder;

/// Arena chunk size; keys longer than this get a chunk of their own.
const CHUNK: usize = 1 << 20;
/// Bits of an arena position that address within a chunk.
const CHUNK_BITS: u32 = 20;
/// At most this many chunks (positions must fit 32 bits, minus one for the empty mark).
const MAX_CHUNKS: usize = (1 << (32 - CHUNK_BITS)) - 1;

/// A key's hash as the table uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyHash(u32);

#[derive(Default)]
pub struct KeySet {
    hasher: DefaultHashBuilder,
    /// Each entry: row (u32 LE), length (u32 LE), key bytes.
    chunks: Vec<Vec<u8>>,
    /// 0 when empty, else `hash << 32 | (arena position + 1)`; the length is a power of two.
    slots: Vec<u64>,
    len: usize,
    /// Set once the arena is full: keys are no longer tracked rather than failing the run.
    full: bool,
}

impl KeySet {
    pub fn hash(&self, key: &str) -> KeyHash {
        KeyHash(self.hasher.hash_one(key.as_bytes()) as u32)
    }

    /// Asks the CPU to fetch the slot where `h` starts probing, ahead of [`KeySet::insert`].
    #[inline]
    pub fn prefetch(&self, h: KeyHash) {
        if self.slots.is_empty() {
            return;
        }
        let i = h.0 as usize & (self.slots.len() - 1);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is a hint and never faults; the address is inside `slots` anyway.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(self.slots.as_ptr().add(i).cast());
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = i;
    }

    /// Records `key` (whose hash is `h`) seen on `row`; returns the earlier row when the key
    /// was already there.
    pub fn insert(&mut self, key: &str, h: KeyHash, row: u32) -> Option<u32> {
        if self.full {
            return None;
        }
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = h.0 as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                break;
            }
            if (slot >> 32) as u32 == h.0 {
                let (first, bytes) = stored(&self.chunks, (slot as u32) - 1);
                if bytes == key.as_bytes() {
                    return Some(first);
                }
            }
            i = (i + 1) & mask;
        }
        let Some(at) = self.store(key, row) else {
            self.full = true;
            return None;
        };
        self.slots[i] = (u64::from(h.0) << 32) | u64::from(at + 1);
        self.len += 1;
        None
    }

    /// Appends (row, key) to the arena and returns its position.
    fn store(&mut self, key: &str, row: u32) -> Option<u32> {
        let need = 8 + key.len();
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.len() + need <= c.capacity() && c.len() + need <= CHUNK);
        if !fits {
            if self.chunks.len() >= MAX_CHUNKS {
                return None;
            }
            self.chunks.push(Vec::with_capacity(CHUNK.max(need)));
        }
        let index = self.chunks.len() - 1;
        let chunk = &mut self.chunks[index];
        let at = ((index as u32) << CHUNK_BITS) | chunk.len() as u32;
        chunk.extend_from_slice(&row.to_le_bytes());
        chunk.extend_from_slice(&(key.len() as u32).to_le_bytes());
        chunk.extend_from_slice(key.as_bytes());
        Some(at)
    }

    /// Doubles the table, placing entries by their stored hash.
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(1024);
        let old = std::mem::replace(&mut self.slots, vec![0; size]);
        let mask = size - 1;
        for slot in old.into_iter().filter(|&s| s != 0) {
            let mut i = (slot >> 32) as usize & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
    }
}

/// 64-bit hashes of values seen, each with the first row that had it. For warnings (likely
/// duplicates), where two values sharing a hash (about one chance in 10^13 per pair) would
/// cost a wrong warning, never a row: 12 bytes a slot, no key bytes kept.
#[derive(Default)]
pub struct Seen {
    /// 0 when empty; a hash of 0 is stored as 1. The length is a power of two.
    hashes: Vec<u64>,
    rows: Vec<u32>,
    len: usize,
}

impl Seen {
    fn start(&self, h: u64) -> usize {
        (h as usize) & (self.hashes.len() - 1)
    }

    /// The first row that had `h`.
    pub fn get(&self, h: u64) -> Option<u32> {
        let h = h.max(1);
        if self.hashes.is_empty() {
            return None;
        }
        let mask = self.hashes.len() - 1;
        let mut i = self.start(h);
        loop {
            match self.hashes[i] {
                0 => return None,
                x if x == h => return Some(self.rows[i]),
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Records that `row` had `h`, unless an earlier row did.
    pub fn insert(&mut self, h: u64, row: u32) {
        let h = h.max(1);
        if (self.len + 1) * 4 > self.hashes.len() * 3 {
            self.grow();
        }
        let mask = self.hashes.len() - 1;
        let mut i = self.start(h);
        loop {
            match self.hashes[i] {
                0 => break,
                x if x == h => return,
                _ => i = (i + 1) & mask,
            }
        }
        self.hashes[i] = h;
        self.rows[i] = row;
        self.len += 1;
    }

    fn grow(&mut self) {
        let size = (self.hashes.len() * 2).max(1024);
        let hashes = std::mem::replace(&mut self.hashes, vec![0; size]);
        let rows = std::mem::replace(&mut self.rows, vec![0; size]);
        let mask = size - 1;
        for (h, row) in hashes.into_iter().zip(rows).filter(|(h, _)| *h != 0) {
            let mut i = self.start(h);
            while self.hashes[i] != 0 {
                i = (i + 1) & mask;
            }
            self.hashes[i] = h;
            self.rows[i] = row;
        }
    }
}

/// The (row, key bytes) stored at `at`.
fn stored(chunks: &[Vec<u8>], at: u32) -> (u32, &[u8]) {
    let chunk = &chunks[(at >> CHUNK_BITS) as usize];
    let off = (at & ((1 << CHUNK_BITS) - 1)) as usize;
    let word = |i: usize| u32::from_le_bytes([chunk[i], chunk[i + 1], chunk[i + 2], chunk[i + 3]]);
    let (row, len) = (word(off), word(off + 4) as usize);
    (row, &chunk[off + 8..off + 8 + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(set: &mut KeySet, key: &str, row: u32) -> Option<u32> {
        let h = set.hash(key);
        set.prefetch(h);
        set.insert(key, h, row)
    }

    #[test]
    fn a_repeated_key_names_the_first_row() {
        let mut set = KeySet::default();
        for i in 0..200_000u32 {
            assert_eq!(insert(&mut set, &format!("key number {i}"), i + 2), None);
        }
        assert_eq!(insert(&mut set, "key number 5", 99), Some(7));
        assert_eq!(insert(&mut set, "key number 5", 100), Some(7));
        assert_eq!(insert(&mut set, "key number 199999", 1), Some(200_001));
        assert_eq!(insert(&mut set, "", 3), None);
        assert_eq!(insert(&mut set, "", 4), Some(3));
        assert!(set.chunks.len() > 1, "the test should cross chunks");
    }

    #[test]
    fn keys_with_the_same_32_bit_hash_stay_apart() {
        let mut set = KeySet::default();
        let h = KeyHash(7);
        assert_eq!(set.insert("a", h, 2), None);
        assert_eq!(set.insert("b", h, 3), None);
        assert_eq!(set.insert("b", h, 4), Some(3));
        assert_eq!(set.insert("a", h, 5), Some(2));
    }

    #[test]
    fn seen_hashes_keep_their_first_row() {
        let mut seen = Seen::default();
        assert_eq!(seen.get(5), None);
        for h in 0..10_000u64 {
            seen.insert(h.wrapping_mul(0x9E37_79B9_7F4A_7C15), h as u32 + 2);
        }
        seen.insert(7u64.wrapping_mul(0x9E37_79B9_7F4A_7C15), 99);
        assert_eq!(seen.get(7u64.wrapping_mul(0x9E37_79B9_7F4A_7C15)), Some(9));
        assert_eq!(seen.get(0), Some(2), "a hash of 0 is kept too");
        assert_eq!(seen.get(12_345), None);
    }

    #[test]
    fn a_key_longer_than_a_chunk_is_kept() {
        let mut set = KeySet::default();
        let long = "x".repeat(CHUNK + 10);
        assert_eq!(insert(&mut set, &long, 2), None);
        assert_eq!(insert(&mut set, &long, 3), Some(2));
        assert_eq!(insert(&mut set, "short", 4), None);
    }
}
