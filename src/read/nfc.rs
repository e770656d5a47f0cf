//! Whether text is surely in Unicode NFC, decided on its UTF-8 bytes: the quick answer for
//! nearly every French and Arabic row, worked out on the reading thread (see
//! [`Cells::surely_nfc`](super::Cells::surely_nfc)) so the checks need not.

use crate::bytes::Block;

/// True when every character is one that NFC leaves alone whatever surrounds it: everything
/// below the combining marks (U+0300), and the Arabic letters and digits (not the harakat).
/// Checked on the UTF-8 bytes, before the full quick-check, because French and Arabic names
/// are nearly all this; validation runs it once over a whole row.
pub fn surely_nfc(s: &str) -> bool {
    let b = s.as_bytes();
    // Sixteen bytes at a time, each with the byte after it: the last block overlaps the one
    // before, and text shorter than a block and its next byte is one block padded with
    // zeros (a cell's value, as a transform makes it). The last byte of valid UTF-8 is never a
    // lead byte, so the pairs cover every byte that matters, and a zero is never unsure.
    const W: usize = 17;
    if b.len() < W {
        let mut padded = [0u8; W];
        padded[..b.len()].copy_from_slice(b);
        let x = Block::load(padded[..16].try_into().expect("16 bytes"));
        let leads = x.at_least(0xCC);
        return leads == 0
            || block_unsure(
                x,
                Block::load(padded[1..].try_into().expect("16 bytes")),
                leads,
            ) == 0;
    }
    let mut i = 0;
    loop {
        let at = i.min(b.len() - W);
        let x = Block::load(b[at..at + 16].try_into().expect("16 bytes"));
        // Text below U+0300 (all of French) has no byte from 0xCC: most blocks stop here.
        let leads = x.at_least(0xCC);
        if leads != 0 {
            let y = Block::load(b[at + 1..at + W].try_into().expect("16 bytes"));
            if block_unsure(x, y, leads) != 0 {
                return false;
            }
        }
        if at == b.len() - W {
            return true;
        }
        i += 16;
    }
}

/// Which of sixteen characters may change under NFC: `x` the bytes, `y` the bytes after them,
/// `leads` the bytes of `x` from 0xCC. Bit `i` is set when pair `i` is unsure, as the tests'
/// `unsure` says of one pair.
#[inline(always)]
fn block_unsure(x: Block, y: Block, leads: u32) -> u32 {
    let arabic = x.at_least(0xD8) & !x.at_least(0xDC);
    let in_range = |b: Block, low: u8, high: u8| b.at_least(low) & !b.at_least(high + 1);
    let mark_d9 = x.eq(0xD9) & (in_range(y, 0x8B, 0x9F) | y.eq(0xB0));
    let mark_db = x.eq(0xDB) & in_range(y, 0x96, 0xAD);
    (leads & !arabic) | mark_d9 | mark_db
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use unicode_normalization::UnicodeNormalization;

    use super::*;

    /// Whether the character whose UTF-8 starts with byte `x` (then `y`) may change under NFC: a
    /// lead byte from U+0300 up, apart from the Arabic block, or an Arabic mark. Continuation
    /// bytes are all below 0xCC.
    fn unsure(x: u8, y: u8) -> bool {
        let other = x >= 0xCC && !(0xD8..=0xDB).contains(&x);
        // U+064B..U+065F and U+0670 (lead 0xD9), U+06D6..U+06ED (lead 0xDB).
        let mark_d9 = x == 0xD9 && ((0x8B..=0x9F).contains(&y) || y == 0xB0);
        let mark_db = x == 0xDB && (0x96..=0xAD).contains(&y);
        other || mark_d9 || mark_db
    }

    /// The rule pair by pair.
    fn plainly(s: &str) -> bool {
        let b = s.as_bytes();
        b.iter()
            .zip(&b[1.min(b.len())..])
            .all(|(&x, &y)| !unsure(x, y))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Blocks, their overlap and the pairs that cross blocks agree with the rule, and text
        /// the rule is sure of is NFC indeed.
        #[test]
        fn blocks_decide_as_pairs_do(
            s in proptest::collection::vec(
                prop_oneof![
                    "[a-z ;,0-9]{1,12}",
                    "[éèàçôœÉ€]{1,4}",
                    "[\u{621}-\u{64A}\u{660}-\u{669}\u{6F0}-\u{6F9}]{1,8}",
                    "[\u{64B}-\u{65F}\u{670}\u{6D6}-\u{6ED}\u{300}-\u{36F}]",
                    "[\u{100}-\u{2FF}\u{370}-\u{3FF}\u{6A0}-\u{6FF}\u{1E00}-\u{1EFF}\u{AC00}-\u{AC10}]{1,3}",
                ],
                0..24,
            ).prop_map(|parts| parts.concat())
        ) {
            prop_assert_eq!(surely_nfc(&s), plainly(&s));
            if surely_nfc(&s) {
                prop_assert_eq!(s.nfc().collect::<String>(), s);
            }
        }
    }
}
