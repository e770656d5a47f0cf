//! The hash table under the checks across rows ([`super::keys`]): 64-bit slots in open
//! addressing, each slot carrying in its top bits the hash that places it.
//!
//! A million rows' values make tables of tens of megabytes. One table doubling would hold its
//! old and new arrays at once (half as much again, at the peak); so the table is 64 shards,
//! chosen by the hash's top 6 bits, each growing on its own (by half: a table between half and
//! three quarters full, not between three eighths and three quarters): a shard's growth costs
//! 1/64 of the table. Since a slot's top bits are its hash's, growing re-places slots without
//! asking their owner for the hash again, and a lookup can fetch its slot's cache line ahead
//! of time ([`Table::prefetch`]).

/// Bits of the hash that choose the shard.
const SHARD_BITS: u32 = 6;
const SHARDS: usize = 1 << SHARD_BITS;
/// Bits of the hash, after the shard's, that place a slot within its shard (the top 32 bits
/// are all a slot is sure to share with its hash).
const PLACE_BITS: u32 = 32 - SHARD_BITS;
/// Slots of a shard when it first holds something.
const FIRST_SIZE: usize = 256;

/// One shard: open addressing with linear probing; 0 is an empty slot.
#[derive(Default)]
struct Shard {
    slots: Vec<u64>,
    len: usize,
}

/// Slots placed by their top bits: the shard by the first 6, the home within it by the next.
/// Every slot a caller stores must be non-zero and share its top 32 bits with the `top` it was
/// stored under.
pub(super) struct Table {
    shards: Vec<Shard>,
}

impl Default for Table {
    fn default() -> Table {
        Table {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }
}

impl Shard {
    /// Where `top` starts probing: its place bits scaled to the shard's length.
    fn home(&self, top: u64) -> usize {
        let place = (top << SHARD_BITS) >> (64 - PLACE_BITS);
        ((place * self.slots.len() as u64) >> PLACE_BITS) as usize
    }

    /// The slot after `i`, wrapping around.
    fn next(&self, i: usize) -> usize {
        if i + 1 == self.slots.len() {
            0
        } else {
            i + 1
        }
    }

    /// Grows the shard by half, re-placing each slot by its own top bits.
    fn grow(&mut self) {
        let size = (self.slots.len() / 2 * 3).clamp(FIRST_SIZE, 1 << PLACE_BITS);
        let old = std::mem::replace(&mut self.slots, zeroed(size));
        for slot in old.into_iter().filter(|&s| s != 0) {
            let mut i = self.home(slot);
            while self.slots[i] != 0 {
                i = self.next(i);
            }
            self.slots[i] = slot;
        }
    }
}

/// `size` zero slots, written rather than allocated zeroed: memory the allocator maps zeroed
/// is the kernel's one zero page until written, so the probes' reads would map it first and
/// each write then fault again and flush both cores' TLBs; written now, each page faults once.
#[allow(clippy::slow_vector_initialization)] // `vec![0; size]` is the allocation meant here.
fn zeroed(size: usize) -> Vec<u64> {
    let mut slots = Vec::with_capacity(size);
    slots.resize(size, 0);
    slots
}

impl Table {
    fn shard(&self, top: u64) -> &Shard {
        &self.shards[(top >> (64 - SHARD_BITS)) as usize]
    }

    /// Asks the CPU to fetch the cache line where `top` starts probing, ahead of a lookup.
    #[inline]
    pub fn prefetch(&self, top: u64) {
        let shard = self.shard(top);
        if shard.slots.is_empty() {
            return;
        }
        let _at = shard.slots.as_ptr().wrapping_add(shard.home(top));
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is a hint and never faults; the address is inside the shard anyway.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(_at.cast());
        }
    }

    /// The first slot of `top`'s probe run that `hit` accepts.
    pub fn find(&self, top: u64, hit: impl FnMut(u64) -> bool) -> Option<u64> {
        let shard = self.shard(top);
        if shard.slots.is_empty() {
            return None;
        }
        probe(shard, top, hit).ok()
    }

    /// The first slot of `top`'s probe run that `hit` accepts, or the place for a new one.
    pub fn entry(&mut self, top: u64, hit: impl FnMut(u64) -> bool) -> Entry<'_> {
        let shard = &mut self.shards[(top >> (64 - SHARD_BITS)) as usize];
        if (shard.len + 1) * 4 > shard.slots.len() * 3 {
            shard.grow();
        }
        match probe(shard, top, hit) {
            Ok(found) => Entry::Found(found),
            Err(at) => Entry::Vacant(Vacant { shard, at, top }),
        }
    }

    /// Rewrites every slot; `f` must keep each slot's top 32 bits (its place).
    pub fn rewrite(&mut self, f: impl Fn(u64) -> u64) {
        for slot in self.shards.iter_mut().flat_map(|s| &mut s.slots) {
            if *slot != 0 {
                *slot = f(*slot);
            }
        }
    }
}

/// What [`Table::entry`] found.
pub(super) enum Entry<'a> {
    Found(u64),
    Vacant(Vacant<'a>),
}

/// Where a slot not found would go.
pub(super) struct Vacant<'a> {
    shard: &'a mut Shard,
    at: usize,
    top: u64,
}

impl Vacant<'_> {
    pub fn insert(self, slot: u64) {
        debug_assert!(slot != 0 && slot >> 32 == self.top >> 32);
        self.shard.slots[self.at] = slot;
        self.shard.len += 1;
    }
}

/// The first slot of the run from `top`'s home that `hit` accepts, or the empty slot that ends
/// the run.
fn probe(shard: &Shard, top: u64, mut hit: impl FnMut(u64) -> bool) -> Result<u64, usize> {
    let mut i = shard.home(top);
    loop {
        match shard.slots[i] {
            0 => return Err(i),
            slot if hit(slot) => return Ok(slot),
            _ => i = shard.next(i),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(n: u64) -> u64 {
        n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1
    }

    #[test]
    fn slots_are_found_across_growth_in_every_shard() {
        let mut table = Table::default();
        for n in 0..100_000 {
            let slot = spread(n);
            match table.entry(slot, |s| s == slot) {
                Entry::Vacant(place) => place.insert(slot),
                Entry::Found(_) => panic!("{slot} stored twice"),
            }
        }
        for n in 0..100_000 {
            let slot = spread(n);
            table.prefetch(slot);
            assert_eq!(table.find(slot, |s| s == slot), Some(slot));
            assert!(matches!(table.entry(slot, |s| s == slot), Entry::Found(s) if s == slot));
        }
        assert_eq!(table.find(spread(100_001), |s| s == spread(100_001)), None);
        assert!(
            table.shards.iter().all(|s| s.len > 1_000),
            "every shard used"
        );
    }
}
