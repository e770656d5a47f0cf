//! An index of a side's records by a 64-bit hash (of an id, or of a match key) in 8 bytes a
//! record: the hash's top 32 bits beside the record's position, sorted once the side is read.
//! A lookup binary-searches the top bits and checks the full hash on the record itself. About
//! a third of a hash map's memory for a million records, and no spike while it grows.

/// See the module doc.
#[derive(Debug, Default)]
pub struct SortedIndex {
    slots: Vec<u64>,
}

impl SortedIndex {
    pub fn push(&mut self, hash: u64, position: u32) {
        self.slots.push((hash & !0xffff_ffff) | u64::from(position));
    }

    /// Sorts the slots: by the hash's top bits, then by position.
    pub fn finish(&mut self) {
        self.slots.sort_unstable();
        self.slots.shrink_to_fit();
    }

    /// The positions of the records whose full hash (`full` gives it for a position) is
    /// `hash`, first position first.
    pub fn find<'a>(
        &'a self,
        hash: u64,
        full: impl Fn(u32) -> u64 + 'a,
    ) -> impl Iterator<Item = u32> + 'a {
        let top = hash & !0xffff_ffff;
        let start = self.slots.partition_point(|s| s & !0xffff_ffff < top);
        self.slots[start..]
            .iter()
            .take_while(move |s| *s & !0xffff_ffff == top)
            .map(|s| (*s & 0xffff_ffff) as u32)
            .filter(move |p| full(*p) == hash)
    }

    /// Records whose hash an earlier record already had. Only slots that share their top bits
    /// (a few hundred in a million) need the full hash looked up.
    pub fn repeats(&self, full: impl Fn(u32) -> u64) -> u64 {
        let mut repeats = 0;
        let mut seen: Vec<u64> = Vec::new();
        for group in self
            .slots
            .chunk_by(|a, b| a & !0xffff_ffff == b & !0xffff_ffff)
        {
            if group.len() < 2 {
                continue;
            }
            seen.clear();
            for slot in group {
                let hash = full((slot & 0xffff_ffff) as u32);
                if seen.contains(&hash) {
                    repeats += 1;
                } else {
                    seen.push(hash);
                }
            }
        }
        repeats
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_position_of_a_hash_and_only_those() {
        // Two hashes share their top bits; one of them is held twice.
        let hashes = [
            0xaaaa_0000_0000_0001u64,
            0xaaaa_0000_0000_0002,
            0x1,
            0xaaaa_0000_0000_0001,
        ];
        let mut index = SortedIndex::default();
        for (i, h) in hashes.iter().enumerate() {
            index.push(*h, i as u32);
        }
        index.finish();
        let full = |p: u32| hashes[p as usize];
        let found: Vec<u32> = index.find(0xaaaa_0000_0000_0001, full).collect();
        assert_eq!(found, [0, 3]);
        assert_eq!(
            index.find(0xaaaa_0000_0000_0002, full).collect::<Vec<_>>(),
            [1]
        );
        assert_eq!(index.find(0x1, full).collect::<Vec<_>>(), [2]);
        assert_eq!(index.find(0x2, full).count(), 0);
        assert_eq!(index.repeats(full), 1);
    }
}
