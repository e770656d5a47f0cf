//! Whether text is surely in Unicode NFC, decided on its UTF-8 bytes: the quick answer for
//! nearly every French and Arabic row, worked out on the reading thread (see
//! [`Cells::surely_nfc`](super::Cells::surely_nfc)) so the checks need not.

/// True when every character is one that NFC leaves alone whatever surrounds it: everything
/// below the combining marks (U+0300), and the Arabic letters and digits (not the harakat).
/// Checked on the UTF-8 bytes, before the full quick-check, because French and Arabic names
/// are nearly all this; validation runs it once over a whole row.
pub fn surely_nfc(s: &str) -> bool {
    let b = s.as_bytes();
    // 32 bytes (and the one after) at a time, a fixed size the compiler turns into vector
    // code; the last window overlaps the one before, and text shorter than a window is checked
    // pair by pair. The last byte of valid UTF-8 is never a lead byte, so the pairs
    // cover every byte that matters.
    const W: usize = 33;
    if b.len() < W {
        let next = b.get(1..).unwrap_or_default();
        return b.iter().zip(next).all(|(&x, &y)| unsure(x, y) == 0);
    }
    let mut i = 0;
    loop {
        let at = i.min(b.len() - W);
        if window_unsure(b[at..at + W].try_into().expect("a window")) {
            return false;
        }
        if at == b.len() - W {
            return true;
        }
        i += W - 1;
    }
}

/// Whether any of the 32 pairs of a window is [`unsure`].
#[inline(always)]
fn window_unsure(w: &[u8; 33]) -> bool {
    let mut acc = 0u8;
    for k in 0..32 {
        acc |= unsure(w[k], w[k + 1]);
    }
    acc != 0
}

/// 1 when the character whose UTF-8 starts with byte `x` (then `y`) may change under NFC: a
/// lead byte from U+0300 up, apart from the Arabic block, or an Arabic mark. Continuation
/// bytes are all below 0xCC. Branch-free, for vector code.
#[inline(always)]
fn unsure(x: u8, y: u8) -> u8 {
    let other = (x >= 0xCC) & (x.wrapping_sub(0xD8) > 3);
    // U+064B..U+065F and U+0670 (lead 0xD9), U+06D6..U+06ED (lead 0xDB).
    let mark_d9 = (x == 0xD9) & ((y.wrapping_sub(0x8B) <= 0x9F - 0x8B) | (y == 0xB0));
    let mark_db = (x == 0xDB) & (y.wrapping_sub(0x96) <= 0xAD - 0x96);
    u8::from(other | mark_d9 | mark_db)
}
