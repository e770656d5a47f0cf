//! Bytes tested sixteen at a time, for the scans that run on every row (the CSV tokenizer, an
//! e-mail address's rule, the NFC pre-check): a mask with a bit a byte, from SSE2 on x86-64 (part of every
//! x86-64 processor) and from a plain loop elsewhere.

/// Sixteen bytes, to be compared all at once.
#[derive(Clone, Copy)]
pub struct Block(
    #[cfg(target_arch = "x86_64")] std::arch::x86_64::__m128i,
    #[cfg(not(target_arch = "x86_64"))] [u8; 16],
);

impl Block {
    #[inline(always)]
    pub fn load(bytes: &[u8; 16]) -> Block {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: SSE2 is part of x86-64; the load reads the 16 bytes of `bytes`, unaligned.
        return Block(unsafe {
            std::arch::x86_64::_mm_loadu_si128(bytes.as_ptr().cast::<std::arch::x86_64::__m128i>())
        });
        #[cfg(not(target_arch = "x86_64"))]
        return Block(*bytes);
    }

    /// Bit `i` is set when byte `i` is `c`.
    #[inline(always)]
    pub fn eq(self, c: u8) -> u32 {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_set1_epi8};
            // SAFETY: SSE2 is part of x86-64.
            unsafe { _mm_movemask_epi8(_mm_cmpeq_epi8(self.0, _mm_set1_epi8(c as i8))) as u32 }
        }
        #[cfg(not(target_arch = "x86_64"))]
        self.0
            .iter()
            .enumerate()
            .fold(0, |m, (i, &b)| m | u32::from(b == c) << i)
    }

    /// Bit `i` is set when byte `i` is `c` or more.
    #[inline(always)]
    pub fn at_least(self, c: u8) -> u32 {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{
                _mm_cmpeq_epi8, _mm_max_epu8, _mm_movemask_epi8, _mm_set1_epi8,
            };
            // SAFETY: SSE2 is part of x86-64. A byte is `c` or more when the larger of the two
            // is the byte itself.
            unsafe {
                let larger = _mm_max_epu8(self.0, _mm_set1_epi8(c as i8));
                _mm_movemask_epi8(_mm_cmpeq_epi8(larger, self.0)) as u32
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        self.0
            .iter()
            .enumerate()
            .fold(0, |m, (i, &b)| m | u32::from(b >= c) << i)
    }

    /// Bit `i` is set when byte `i` is past ASCII (0x80 and up).
    #[inline(always)]
    pub fn high(self) -> u32 {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: SSE2 is part of x86-64.
            unsafe { std::arch::x86_64::_mm_movemask_epi8(self.0) as u32 }
        }
        #[cfg(not(target_arch = "x86_64"))]
        self.0
            .iter()
            .enumerate()
            .fold(0, |m, (i, &b)| m | u32::from(b >= 0x80) << i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_have_a_bit_a_byte() {
        let block = Block::load(b"a;b;\xC3\xA9;;\n\"xyz;;;");
        assert_eq!(block.eq(b';'), 0b1110_0000_1100_1010);
        assert_eq!(block.eq(b'\n'), 1 << 8);
        assert_eq!(block.high(), 0b11 << 4);
        assert_eq!(block.at_least(0xC3), 1 << 4);
        assert_eq!(block.at_least(0xA9), 0b11 << 4);
        assert_eq!(block.at_least(0), 0xFFFF);
    }
}
