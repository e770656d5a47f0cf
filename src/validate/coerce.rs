//! Turning cell text into the API's types, and the checks on single values.
//!
//! Each function takes the cell as text (already as the user sees it) and either returns the
//! typed value or a sentence saying what form was expected. Nothing here allocates unless it
//! must write a changed string.

use crate::bytes::Block;
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// A boolean as people write one in English or French: true/false, yes/no, oui/non, vrai/faux,
/// 1/0, y/n, o/n, and `x` for a ticked box. Case does not matter.
pub fn parse_bool(s: &str) -> Option<bool> {
    const TRUE: &[&str] = &["true", "yes", "oui", "vrai", "1", "x", "y", "o"];
    const FALSE: &[&str] = &["false", "no", "non", "faux", "0", "n"];
    let s = trim(s);
    if TRUE.iter().any(|w| w.eq_ignore_ascii_case(s)) {
        Some(true)
    } else if FALSE.iter().any(|w| w.eq_ignore_ascii_case(s)) {
        Some(false)
    } else {
        None
    }
}

/// Why a text is not a whole number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntError {
    /// Letters or other characters where digits belong.
    NotNumber,
    /// A non-zero fraction: `12,5`.
    Fraction,
    /// Separators that do not group by three: `1 00 000`.
    Grouping,
    /// Beyond what the API can store.
    TooLarge,
}

impl IntError {
    /// The end of a sentence starting with the quoted value.
    pub fn describe(self) -> &'static str {
        match self {
            IntError::NotNumber => "is not a whole number (write digits, e.g. 2 000 000)",
            IntError::Fraction => "has a fraction; a whole number is expected",
            IntError::Grouping => {
                "is not a whole number: thousands separators must group digits by three (2 000 000)"
            }
            IntError::TooLarge => "is too large",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sep {
    Space,
    Apostrophe,
    Dot,
    Comma,
    /// U+066C, the Arabic thousands separator: never a decimal point.
    Arabic,
}

/// U+066B, the Arabic decimal separator: never a thousands separator.
const ARABIC_DECIMAL: char = '\u{066B}';

fn sep_of(c: char) -> Option<Sep> {
    match c {
        ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' => Some(Sep::Space),
        '\'' | '\u{2019}' => Some(Sep::Apostrophe),
        '.' => Some(Sep::Dot),
        ',' => Some(Sep::Comma),
        '\u{066C}' => Some(Sep::Arabic),
        _ => None,
    }
}

/// A whole number from a cell: `2000000`, `2 000 000` (space, no-break or narrow no-break
/// space), `2,000,000`, `2.000.000`, `2'000'000`, `1000.0`, `1 000,00`, with an optional sign
/// and currency mark (`€`, `EUR`). Separators are accepted only where they group by three, so
/// the reading is never a guess; a `.` or `,` not followed by exactly three digits is a decimal
/// point, and its fraction must be zero. Arabic-Indic and Eastern Arabic-Indic digits count as
/// digits, with the Arabic thousands (`١٢٠٬٠٠٠`) and decimal (`١٢٠٫٠`) separators.
pub fn parse_int(s: &str) -> Result<i64, IntError> {
    // Plain digits (most cells): the same value the general path below finds, sooner.
    if (1..=18).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(s.bytes().fold(0i64, |v, b| v * 10 + i64::from(b - b'0')));
    }
    if let Some(value) = spaced_thousands(s) {
        return Ok(value);
    }
    if has_arabic_digits(s) {
        let mut folded = String::with_capacity(s.len());
        fold_digits(s, &mut folded);
        return parse_number(&folded);
    }
    parse_number(s)
}

/// The French way (`100 000`): ASCII digits grouped by three with single spaces, at most 18
/// digits. The same value the general path finds, sooner; `None` for anything else.
fn spaced_thousands(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let first = b.iter().position(|&c| c == b' ')?;
    if !(1..=3).contains(&first) || !(b.len() - first).is_multiple_of(4) || b.len() > 18 + 5 {
        return None;
    }
    let mut value = 0i64;
    for (i, &c) in b.iter().enumerate() {
        // Past the first group, every fourth byte is the space.
        if i >= first && (i - first) % 4 == 0 {
            if c != b' ' {
                return None;
            }
        } else if c.is_ascii_digit() {
            value = value * 10 + i64::from(c - b'0');
        } else {
            return None;
        }
    }
    Some(value)
}

/// [`parse_int`] past its fast paths, on ASCII digits.
fn parse_number(s: &str) -> Result<i64, IntError> {
    let (neg, s) = sign_and_digits(s)?;
    let (int_part, frac) = match decimal_point(s)? {
        Some(at) => {
            let point = s[at..].chars().next().map_or(1, char::len_utf8);
            (&s[..at], &s[at + point..])
        }
        None => (s, ""),
    };
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IntError::NotNumber);
    }
    let value = grouped_value(int_part, frac.is_empty())?;
    if frac.bytes().any(|b| b != b'0') {
        return Err(IntError::Fraction);
    }
    Ok(if neg { -value } else { value })
}

/// Strips spaces, a currency mark and the sign: (negative, the rest). The rest holds only
/// digits and separators.
fn sign_and_digits(s: &str) -> Result<(bool, &str), IntError> {
    let mut s = trim(s);
    for cur in ["€", "EUR", "eur", "$"] {
        if let Some(rest) = s.strip_suffix(cur) {
            s = rest.trim_end();
        } else if let Some(rest) = s.strip_prefix(cur) {
            s = rest.trim_start();
        }
    }
    let (neg, s) = match s.chars().next() {
        Some('-' | '\u{2212}') => (
            true,
            s[s.chars().next().map_or(1, char::len_utf8)..].trim_start(),
        ),
        Some('+') => (false, s[1..].trim_start()),
        _ => (false, s),
    };
    if s.is_empty()
        || s.chars()
            .any(|c| sep_of(c).is_none() && !c.is_ascii_digit() && c != ARABIC_DECIMAL)
    {
        return Err(IntError::NotNumber);
    }
    Ok((neg, s))
}

/// Where the integer part ends: the decimal point, if there is one. With both `.` and `,`, the
/// last is the decimal point and must be the only one of its kind; a lone `.` or `,` is a
/// thousands separator only when exactly three digits follow and one to three precede.
fn decimal_point(s: &str) -> Result<Option<usize>, IntError> {
    if let Some(at) = s.find(ARABIC_DECIMAL) {
        if s[at + ARABIC_DECIMAL.len_utf8()..].contains(ARABIC_DECIMAL) {
            return Err(IntError::NotNumber);
        }
        return Ok(Some(at));
    }
    let (mut dots, mut commas, mut others) = (0, 0, false);
    for c in s.chars() {
        match sep_of(c) {
            Some(Sep::Dot) => dots += 1,
            Some(Sep::Comma) => commas += 1,
            Some(_) => others = true,
            None => {}
        }
    }
    Ok(if dots > 0 && commas > 0 {
        let last_dot = s.rfind('.').unwrap_or(0);
        let last_comma = s.rfind(',').unwrap_or(0);
        let (at, count) = if last_dot > last_comma {
            (last_dot, dots)
        } else {
            (last_comma, commas)
        };
        if count > 1 {
            return Err(IntError::NotNumber);
        }
        Some(at)
    } else if dots + commas == 1 {
        let at = s.find(['.', ',']).unwrap_or(0);
        let after = &s[at + 1..];
        let before_digits = s[..at].bytes().filter(u8::is_ascii_digit).count();
        let grouping = after.len() == 3
            && after.bytes().all(|b| b.is_ascii_digit())
            && !others
            && (1..=3).contains(&before_digits);
        (!grouping).then_some(at)
    } else {
        None
    })
}

/// The value of an integer part whose separators must group by three: one kind of separator,
/// a first group of 1-3 digits, the others exactly 3. `no_fraction`: nothing follows a
/// decimal point, so the integer part must have digits.
fn grouped_value(int_part: &str, no_fraction: bool) -> Result<i64, IntError> {
    let mut kind: Option<Sep> = None;
    let mut group_len = 0usize;
    let mut groups = 0usize;
    let mut value: i64 = 0;
    for c in int_part.chars() {
        if let Some(d) = c.to_digit(10) {
            group_len += 1;
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(d as i64))
                .ok_or(IntError::TooLarge)?;
            continue;
        }
        let sep = sep_of(c).ok_or(IntError::NotNumber)?;
        if kind.is_some_and(|k| k != sep) {
            return Err(IntError::Grouping);
        }
        kind = Some(sep);
        let ok = if groups == 0 {
            (1..=3).contains(&group_len)
        } else {
            group_len == 3
        };
        if !ok {
            return Err(IntError::Grouping);
        }
        groups += 1;
        group_len = 0;
    }
    if group_len == 0 && (groups > 0 || no_fraction) {
        return Err(if groups > 0 {
            IntError::Grouping
        } else {
            IntError::NotNumber
        });
    }
    if groups > 0 && group_len != 3 {
        return Err(IntError::Grouping);
    }
    Ok(value)
}

/// A cell as a value: trimmed, and for Excel's `="01000"` (how a CSV keeps a leading zero when
/// Excel opens it) the text inside the quotes. A formula of any other shape stays as written.
#[inline]
pub fn cell_text(s: &str) -> &str {
    let t = trim(s);
    if t.as_bytes().first() != Some(&b'=') {
        return t;
    }
    match t.strip_prefix("=\"").and_then(|r| r.strip_suffix('"')) {
        Some(inside) if !inside.contains('"') => trim(inside),
        _ => t,
    }
}

pub use crate::read::trim;

/// Writes `s` trimmed and in Unicode NFC into `out`. ASCII and already-composed text (nearly
/// every cell) is copied without running the normaliser.
pub fn clean_text(s: &str, out: &mut String) {
    let t = trim(s);
    clean_known(t, is_nfc(t), out);
}

/// [`clean_text`] of text whose NFC is known already (`nfc`: in NFC), not checked again.
pub fn clean_known(s: &str, nfc: bool, out: &mut String) {
    out.clear();
    let t = trim(s);
    if nfc {
        out.push_str(t);
    } else {
        out.extend(t.nfc());
    }
}

pub use crate::read::surely_nfc;

/// Whether `s` is already in Unicode NFC.
pub fn is_nfc(s: &str) -> bool {
    surely_nfc(s) || is_nfc_quick(s.chars()) == IsNormalized::Yes
}

/// The SIREN of La Poste, whose establishments' SIRETs use their own checksum.
const LA_POSTE_SIREN: &str = "356000000";

/// Why a SIRET is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiretError {
    NotFourteenDigits,
    Checksum,
}

/// Checks a SIRET already stripped of spaces: 14 digits whose Luhn checksum holds, or, for La
/// Poste (SIREN 356000000), whose digit sum is a multiple of 5.
pub fn check_siret(digits: &str) -> Result<(), SiretError> {
    if digits.len() != 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SiretError::NotFourteenDigits);
    }
    let ok = if digits.starts_with(LA_POSTE_SIREN) {
        digits.bytes().map(|b| (b - b'0') as u32).sum::<u32>() % 5 == 0
    } else {
        luhn(digits)
    };
    if ok {
        Ok(())
    } else {
        Err(SiretError::Checksum)
    }
}

/// The Luhn checksum over ASCII digits.
pub fn luhn(digits: &str) -> bool {
    luhn_sum(digits, false).is_multiple_of(10)
}

/// The digit that completes `digits` into a number that passes [`luhn`], as a SIRET's last
/// digit completes its first 13.
pub fn luhn_check_digit(digits: &str) -> char {
    char::from(b'0' + ((10 - luhn_sum(digits, true) % 10) % 10) as u8)
}

/// Sums the digits from the right, doubling every second one (the rightmost too when it is
/// not yet followed by its check digit) and casting out nines.
fn luhn_sum(digits: &str, check_digit_missing: bool) -> u32 {
    let doubled = usize::from(!check_digit_missing);
    digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == doubled {
                let d2 = d * 2;
                d2 / 10 + d2 % 10
            } else {
                d
            }
        })
        .sum()
}

/// Copies `s` without whitespace, and with its Arabic-Indic digits as ASCII, into `out` (SIRETs
/// are often written `552 120 222 00013`).
pub fn strip_spaces(s: &str, out: &mut String) {
    out.clear();
    if s.bytes().all(|b| b > b' ' && b < 0x80) {
        out.push_str(s);
    } else {
        out.extend(s.chars().filter(|c| !c.is_whitespace()).map(ascii_digit));
    }
}

/// Whether `s` holds an Arabic-Indic (U+0660..U+0669) or Eastern Arabic-Indic (U+06F0..U+06F9)
/// digit. ASCII text (nearly every postcode and SIRET) is cleared by one word-wise check.
#[inline]
pub fn has_arabic_digits(s: &str) -> bool {
    !s.is_ascii() && s.chars().any(|c| c != ascii_digit(c))
}

/// Copies `s` into `out` with its Arabic-Indic and Eastern Arabic-Indic digits as ASCII digits.
pub fn fold_digits(s: &str, out: &mut String) {
    out.clear();
    out.extend(s.chars().map(ascii_digit));
}

/// The ASCII digit an Arabic-Indic or Eastern Arabic-Indic (Persian, Urdu) digit stands for;
/// any other character unchanged.
fn ascii_digit(c: char) -> char {
    match c {
        '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
        '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
        _ => c,
    }
}

/// The SIREN inside an RCS entry such as `RCS Paris B 552 120 222`: the nine digits after the
/// last letter, or the only nine digits in the text.
pub fn rcs_siren(rcs: &str) -> Option<[u8; 9]> {
    let tail = match rcs.rfind(|c: char| c.is_alphabetic()) {
        Some(at) => &rcs[at..],
        None => rcs,
    };
    nine_digits(tail).or_else(|| nine_digits(rcs))
}

fn nine_digits(s: &str) -> Option<[u8; 9]> {
    let mut out = [0u8; 9];
    let mut n = 0;
    for b in s.bytes().filter(u8::is_ascii_digit) {
        if n == 9 {
            return None;
        }
        out[n] = b;
        n += 1;
    }
    (n == 9).then_some(out)
}

/// A sane e-mail address: one `@`, something before it, a domain with a dot inside, no spaces.
/// An address of up to 64 bytes (nearly all) is tested sixteen bytes at a time.
pub fn is_email(s: &str) -> bool {
    if s.len() > 64 {
        return is_long_email(s);
    }
    let mut bytes = [0u8; 64];
    bytes[..s.len()].copy_from_slice(s.as_bytes());
    let (mut at, mut dot, mut space, mut high) = (0u64, 0u64, 0u64, 0u64);
    for (k, block) in bytes.chunks_exact(16).enumerate() {
        let block = Block::load(block.try_into().expect("16 bytes"));
        let shift = 16 * k;
        at |= u64::from(block.eq(b'@')) << shift;
        dot |= u64::from(block.eq(b'.')) << shift;
        let blank = [b' ', b'\t', b'\n', b'\x0C', b'\r'].map(|c| block.eq(c));
        space |= u64::from(blank.into_iter().fold(0, |m, b| m | b)) << shift;
        high |= u64::from(block.high()) << shift;
    }
    // The domain's bits: those after the `@`'s.
    let domain = !(at | at.wrapping_sub(1));
    let dots = dot & domain;
    let last = 1u64 << (s.len().max(1) - 1);
    at.count_ones() == 1
        && at != 1
        && space == 0
        && dots != 0
        && dots & dots >> 1 == 0
        && dot & at << 1 == 0
        && dot & last == 0
        && !(high != 0 && s.chars().any(char::is_whitespace))
}

/// [`is_email`] for an address over 64 bytes, one byte at a time.
fn is_long_email(s: &str) -> bool {
    let (mut at, mut dots, mut bad, mut non_ascii, mut prev) = (None, 0, false, false, 0);
    for (i, &c) in s.as_bytes().iter().enumerate() {
        match c {
            // Letters, `_` and every byte of a character past ASCII: nearly all of an address.
            0x41.. => non_ascii |= c >= 0x80,
            b'@' if at.is_some() => bad = true,
            b'@' => at = Some(i),
            // After the `@`, a dot right after a dot: `b[at]` is not one, so both are in the domain.
            b'.' if at.is_some() => {
                dots += 1;
                bad |= prev == b'.';
            }
            c if c.is_ascii_whitespace() => bad = true,
            _ => {}
        }
        prev = c;
    }
    let Some(at) = at else {
        return false;
    };
    let domain = &s.as_bytes()[at + 1..];
    !bad && at > 0
        && dots > 0
        && domain.first() != Some(&b'.')
        && domain.last() != Some(&b'.')
        && !(non_ascii && s.chars().any(char::is_whitespace))
}

/// Whether the text holds at least one character of the Arabic script.
pub fn has_arabic(s: &str) -> bool {
    // A lead byte 0xD8..=0xDB is a character of U+0600..U+06FF: no need to decode.
    s.bytes().any(|b| (0xD8..=0xDB).contains(&b))
        || s.chars().any(|c| {
            matches!(c, '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' | '\u{08A0}'..='\u{08FF}'
            | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}')
        })
}
