//! A hasher for keys that are hashes already (a record's 64-bit fingerprint, a 32-bit tag of a
//! match key): hashing them again would only cost time. The one pass-through hasher of the
//! crate, for the ids an export has seen ([`crate::api::list`]) and the look-up index's tables
//! ([`crate::lookup`]).

use std::hash::{BuildHasherDefault, Hasher};

/// [`Prehashed`] as a map's or a set's hasher.
pub type BuildPrehashed = BuildHasherDefault<Prehashed>;

/// A 64-bit hash passes through as it is. A 32-bit one is spread over the 64 bits, since
/// hashbrown takes its control bits from the top ones; anything else is mixed in byte by byte.
#[derive(Default)]
pub struct Prehashed(u64);

/// The multiplier of Fibonacci hashing: spreads low bits over the whole word.
const SPREAD: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(SPREAD);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(SPREAD);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
