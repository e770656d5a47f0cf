//! What a file's earlier rows held, to report a repeat on a later row: the match keys seen so
//! far ([`KeySet`], exact), and the hashed values likely duplicates are found by ([`Seen`]).
//!
//! A million keys must cost little memory and time. Key bytes (with the row they first
//! appeared on; digits and hexadecimal two to a byte, so a SIRET takes 7 bytes and an id 12)
//! live in fixed-size arena chunks that never move; the table ([`Table`]) holds
//! 8-byte slots (32 bits of hash, the key's place in the arena), so growing it never reads the
//! keys again, a lookup reads the arena only on a 32-bit hash match, and the caller can
//! prefetch a key's slot while it checks the rest of the row: on a table far larger than the
//! CPU cache, that miss was the largest cost of validating a row.

use std::hash::BuildHasher;

use hashbrown::DefaultHashBuilder;

use super::table::{Entry, Table};

/// Arena chunk size; keys longer than this get a chunk of their own.
const CHUNK: usize = 1 << 20;
/// Bits of an arena position that address within a chunk.
const CHUNK_BITS: u32 = 20;
/// At most this many chunks (positions must fit 32 bits, minus one for the empty mark).
const MAX_CHUNKS: usize = (1 << (32 - CHUNK_BITS)) - 1;

/// A key's hash as the table uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyHash(u32);

impl KeyHash {
    /// The hash where the table wants it: in the top bits.
    fn top(self) -> u64 {
        u64::from(self.0) << 32
    }
}

#[derive(Default)]
pub struct KeySet {
    hasher: DefaultHashBuilder,
    /// Each entry: the row and the packed key (see [`store`]).
    chunks: Vec<Vec<u8>>,
    /// The key being looked up, packed.
    packed: Vec<u8>,
    /// `hash << 32 | (arena position + 1)`.
    slots: Table,
    /// Set once the arena is full: keys are no longer tracked rather than failing the run.
    full: bool,
}

impl KeySet {
    /// The same hash, with no key seen: for checking rows alone on another thread.
    pub fn apart(&self) -> KeySet {
        KeySet {
            hasher: self.hasher.clone(),
            ..KeySet::default()
        }
    }

    pub fn hash(&self, key: &str) -> KeyHash {
        KeyHash(self.hasher.hash_one(key.as_bytes()) as u32)
    }

    /// Asks the CPU to fetch the slot where `h` starts probing, ahead of [`KeySet::insert`].
    #[inline]
    pub fn prefetch(&self, h: KeyHash) {
        self.slots.prefetch(h.top());
    }

    /// Records `key` (whose hash is `h`) seen on `row`; returns the earlier row when the key
    /// was already there.
    pub fn insert(&mut self, key: &str, h: KeyHash, row: u32) -> Option<u32> {
        if self.full {
            return None;
        }
        pack(key, &mut self.packed);
        let (chunks, packed) = (&self.chunks, &self.packed);
        let same = |slot: u64| {
            (slot >> 32) as u32 == h.0 && stored(chunks, (slot as u32) - 1).1 == &packed[..]
        };
        let place = match self.slots.entry(h.top(), same) {
            Entry::Found(slot) => return Some(stored(&self.chunks, (slot as u32) - 1).0),
            Entry::Vacant(place) => place,
        };
        match store(&mut self.chunks, &self.packed, row) {
            Some(at) => place.insert(h.top() | u64::from(at + 1)),
            None => self.full = true,
        }
        None
    }
}

/// Writes `key` as the arena keeps it: a kind byte, then decimal digits (a SIRET) and lowercase
/// hexadecimal (an id) two to a byte, anything else as it is. Two keys are equal exactly when
/// their packed forms are: the kind byte tells the forms apart, and the padding of an odd
/// count of digits.
fn pack(key: &str, out: &mut Vec<u8>) {
    out.clear();
    let b = key.as_bytes();
    let kind = if !b.is_empty() && b.iter().all(u8::is_ascii_digit) {
        1
    } else if !b.is_empty() && b.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        2
    } else {
        out.push(0);
        out.extend_from_slice(b);
        return;
    };
    let nibble = |c: u8| if c <= b'9' { c - b'0' } else { c - b'a' + 10 };
    out.push(kind + 2 * (b.len() % 2) as u8);
    out.extend(b.chunks(2).map(|pair| match pair {
        [hi, lo] => nibble(*hi) << 4 | nibble(*lo),
        [hi] => nibble(*hi) << 4,
        _ => unreachable!("chunks of two"),
    }));
}

/// Appends (row, packed key) to the arena and returns its position; `None` when the arena is
/// full. An entry: the row (u32 LE), the key's length (a byte, or 255 and a u32 LE), the key.
fn store(chunks: &mut Vec<Vec<u8>>, key: &[u8], row: u32) -> Option<u32> {
    let need = 9 + key.len();
    let fits = chunks
        .last()
        .is_some_and(|c| c.len() + need <= c.capacity() && c.len() + need <= CHUNK);
    if !fits {
        if chunks.len() >= MAX_CHUNKS {
            return None;
        }
        chunks.push(Vec::with_capacity(CHUNK.max(need)));
    }
    let index = chunks.len() - 1;
    let chunk = &mut chunks[index];
    let at = ((index as u32) << CHUNK_BITS) | chunk.len() as u32;
    chunk.extend_from_slice(&row.to_le_bytes());
    match u8::try_from(key.len()) {
        Ok(len) if len < u8::MAX => chunk.push(len),
        _ => {
            chunk.push(u8::MAX);
            chunk.extend_from_slice(&(key.len() as u32).to_le_bytes());
        }
    }
    chunk.extend_from_slice(key);
    Some(at)
}

/// Kinds of value a row of [`Seen`] may hold one of each.
pub(super) const KINDS: usize = 3;
/// Low bits of a hash [`Seen`] keeps per row and kind, to confirm a match: those a slot
/// leaves to its row, three kinds to a u64.
const CHECK_BITS: u32 = 21;
/// Rows per chunk of [`Seen`]'s confirmations.
const CHECK_ROWS: usize = 1 << 16;

/// Hashes of values seen, each with the first row that had it. For warnings (likely
/// duplicates), where two values sharing a hash would cost a wrong warning, never a row; no
/// value kept. A slot (8 bytes) is the hash's top bits with the row in the bits below, as few
/// as the rows so far need (21 for two million rows). Those bits alone would let a million rows'
/// probes meet a stranger's hash about once a run (trillions of pairs against 2^43), so a match
/// is confirmed by the hash's low 21 bits, kept per row and kind of value (8 bytes a row): 64
/// bits compared, one false warning in millions of runs of a million rows.
pub struct Seen {
    slots: Table,
    /// Bits of a slot that hold the row.
    row_bits: u32,
    /// Per row, the low [`CHECK_BITS`] of the hash it holds of each kind, in chunks that never
    /// move (growing one array would hold the old and the new at once), made when a row needs
    /// one.
    checks: Vec<Option<Box<[u64]>>>,
}

impl Default for Seen {
    fn default() -> Seen {
        Seen {
            slots: Table::default(),
            row_bits: 21,
            checks: Vec::new(),
        }
    }
}

impl Seen {
    fn mask(&self) -> u64 {
        (1 << self.row_bits) - 1
    }

    /// Asks the CPU to fetch the slot where `h` starts probing.
    #[inline]
    pub fn prefetch(&self, h: u64) {
        self.slots.prefetch(h);
    }

    /// The first row that had `h`, a value of `kind` (below [`KINDS`]).
    pub fn get(&self, h: u64, kind: usize) -> Option<u32> {
        let mask = self.mask();
        let found = self.slots.find(h, holds(&self.checks, mask, h, kind))?;
        Some((found & mask) as u32)
    }

    /// Records that `row` had `h`, a value of `kind`, unless an earlier row did.
    pub fn insert(&mut self, h: u64, kind: usize, row: u32) {
        debug_assert!(kind < KINDS);
        if u64::from(row) > self.mask() {
            self.widen(64 - u64::from(row).leading_zeros());
        }
        let (mask, chunk) = (self.mask(), row as usize / CHECK_ROWS);
        if self.checks.len() <= chunk {
            self.checks.resize_with(chunk + 1, || None);
        }
        let Seen { slots, checks, .. } = self;
        if let Entry::Vacant(place) = slots.entry(h, holds(checks, mask, h, kind)) {
            place.insert(h & !mask | u64::from(row));
            let rows = checks[chunk].get_or_insert_with(|| vec![0; CHECK_ROWS].into());
            rows[row as usize % CHECK_ROWS] |= low_bits(h) << (CHECK_BITS * kind as u32);
        }
    }

    /// Gives the rows `bits` bits, taking them from the hashes' lowest.
    fn widen(&mut self, bits: u32) {
        let old = self.mask();
        let new: u64 = (1 << bits) - 1;
        self.slots.rewrite(|slot| slot & !new | slot & old);
        self.row_bits = bits;
    }
}

/// Whether a slot of [`Seen`] (whose row bits are `mask`) holds `h` of `kind`: its
/// fingerprint, then the low bits its row kept.
fn holds(
    checks: &[Option<Box<[u64]>>],
    mask: u64,
    h: u64,
    kind: usize,
) -> impl Fn(u64) -> bool + '_ {
    move |slot| {
        let row = (slot & mask) as usize;
        slot & !mask == h & !mask
            && checks
                .get(row / CHECK_ROWS)
                .and_then(Option::as_ref)
                .is_some_and(|rows| {
                    low_bits(rows[row % CHECK_ROWS] >> (CHECK_BITS * kind as u32)) == low_bits(h)
                })
    }
}

/// The bits of `h` [`Seen`] keeps per row and kind.
fn low_bits(h: u64) -> u64 {
    h & ((1 << CHECK_BITS) - 1)
}

/// The (row, packed key) stored at `at`.
fn stored(chunks: &[Vec<u8>], at: u32) -> (u32, &[u8]) {
    let chunk = &chunks[(at >> CHUNK_BITS) as usize];
    let off = (at & ((1 << CHUNK_BITS) - 1)) as usize;
    let word = |i: usize| u32::from_le_bytes([chunk[i], chunk[i + 1], chunk[i + 2], chunk[i + 3]]);
    let (len, start) = match chunk[off + 4] {
        u8::MAX => (word(off + 5) as usize, off + 9),
        len => (usize::from(len), off + 5),
    };
    (word(off), &chunk[start..start + len])
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

    /// Packing keeps keys apart exactly when they differ: digits, hexadecimal, odd and even
    /// lengths, and text that only looks like them.
    #[test]
    fn packed_keys_are_equal_only_when_the_keys_are() {
        let keys = [
            "",
            "0",
            "00",
            "000",
            "1",
            "01",
            "10",
            "a",
            "0a",
            "a0",
            "A",
            "1f",
            "1F",
            "f",
            "ff",
            "ff0",
            "0ff",
            "g",
            "12 3",
            "552120222",
            "55212022200013",
            "5521202220001",
            "65a0f3c2e4b1d2a3f4e5d6c7",
            "65a0f3c2e4b1d2a3f4e5d6c",
            "Épicerie",
        ];
        let packed: Vec<Vec<u8>> = keys
            .iter()
            .map(|k| {
                let mut out = Vec::new();
                pack(k, &mut out);
                out
            })
            .collect();
        for (i, a) in packed.iter().enumerate() {
            for (j, b) in packed.iter().enumerate() {
                assert_eq!(a == b, i == j, "{:?} and {:?}", keys[i], keys[j]);
            }
        }
        assert_eq!(packed[21].len(), 8, "a SIRET in 7 bytes and its kind");
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
        let spread = |n: u64| n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut seen = Seen::default();
        assert_eq!(seen.get(spread(5), 0), None);
        for h in 0..10_000u64 {
            seen.insert(spread(h), 0, h as u32 + 2);
        }
        seen.insert(spread(7), 0, 99);
        assert_eq!(seen.get(spread(7), 0), Some(9));
        assert_eq!(seen.get(0, 0), Some(2), "a hash of 0 is kept too");
        assert_eq!(seen.get(spread(12_345), 0), None);
        assert_eq!(seen.get(spread(7), 1), None, "a value of another kind");
    }

    /// Two values whose hashes share every bit a slot keeps of them are told apart by the low
    /// bits their row kept: a million rows' probes would meet such a pair about once a run.
    #[test]
    fn seen_hashes_sharing_their_top_bits_stay_apart() {
        let top = 0xDEAD_BEEF_CAFE_u64 << 21;
        let mut seen = Seen::default();
        seen.insert(top | 5, 2, 7);
        assert_eq!(seen.get(top | 6, 2), None);
        seen.insert(top | 6, 2, 9);
        assert_eq!(seen.get(top | 6, 2), Some(9));
        assert_eq!(seen.get(top | 5, 2), Some(7));
    }

    /// Rows past what the slots' row bits hold take bits from the hashes, and every hash keeps
    /// its row.
    #[test]
    fn seen_rows_widen_past_two_million() {
        let spread = |n: u64| n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5555;
        let mut seen = Seen::default();
        seen.insert(spread(1), 0, 2);
        seen.insert(spread(2), 1, 3_000_000);
        seen.insert(spread(3), 2, u32::MAX);
        assert_eq!(seen.row_bits, 32);
        assert_eq!(seen.get(spread(1), 0), Some(2));
        assert_eq!(seen.get(spread(2), 1), Some(3_000_000));
        assert_eq!(seen.get(spread(3), 2), Some(u32::MAX));
        assert_eq!(seen.get(spread(4), 0), None);
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
