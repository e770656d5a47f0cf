//! The top-level fields of a JSON object as written, found without serde: [`Identity`] needs
//! only each field's name and the raw text of its value, and most of a customer record's
//! values are plain strings, numbers and booleans, which a scan that knows JSON's grammar
//! checks and delimits in one pass, with no allocation. Serde's tokenizer, which builds a
//! value or at least a `RawValue` per field, was most of the time `diff` spent on a backup.
//!
//! The scan accepts only what serde_json accepts. It checks plain values itself; a nested
//! value, or a string with escapes, it only delimits, and says so ([`Field::plain`] false):
//! whoever does not parse such a value must check it ([`check`]). Whatever it is not sure
//! of (a name with escapes, a malformed object) it gives up on, and the caller reads the
//! record with serde, which also says what is wrong with it.
//!
//! [`Identity`]: super::Identity

/// One field of an object as written.
pub(super) struct Field<'a> {
    pub name: &'a str,
    /// The value's JSON text.
    pub value: &'a str,
    /// Whether the scan checked the value whole (a string without escapes, a number short
    /// of a float's range, a literal); if not, it is only known to be delimited right.
    pub plain: bool,
}

/// The fields of the JSON object `text`, in order (a name written twice is listed twice, as
/// serde's map access gives it). The scan stops at what it cannot vouch for: only when
/// [`Fields::whole`] says so afterwards were they all the object's fields.
pub(super) struct Fields<'a> {
    text: &'a str,
    /// Where the scan is: before the next name (after `{` or `,`).
    at: usize,
    state: State,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Inside,
    /// At the end of the object, and nothing but white space after it.
    Whole,
    Failed,
}

impl<'a> Fields<'a> {
    pub(super) fn new(text: &'a str) -> Fields<'a> {
        Fields {
            text,
            at: 0,
            state: State::Start,
        }
    }

    /// Whether the scan reached the end of the object, and of the text, with every field.
    pub(super) fn whole(&self) -> bool {
        self.state == State::Whole
    }

    /// The next field, or where the object ends (`None` for the state to tell).
    fn step(&mut self) -> Option<Field<'a>> {
        let (text, b) = (self.text, self.text.as_bytes());
        let mut i = space(b, self.at);
        if self.state == State::Start {
            if b.get(i) != Some(&OBJECT) {
                return None;
            }
            i = space(b, i + 1);
            if b.get(i) == Some(&OBJECT_END) {
                self.at = i;
                self.end();
                return None;
            }
            self.state = State::Inside;
        }
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let (end, escaped) = string_end(b, i + 1)?;
        if escaped {
            return None;
        }
        let name = &text[i + 1..end - 1];
        i = space(b, end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = space(b, i + 1);
        let (end, plain) = value_end(b, i)?;
        let field = Field {
            name,
            value: &text[i..end],
            plain,
        };
        self.at = space(b, end);
        match b.get(self.at) {
            Some(b',') => self.at += 1,
            Some(&OBJECT_END) => self.end(),
            _ => return None,
        }
        Some(field)
    }

    /// At the object's closing brace.
    fn end(&mut self) {
        let b = self.text.as_bytes();
        self.state = if space(b, self.at + 1) == b.len() {
            State::Whole
        } else {
            State::Failed
        };
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        if matches!(self.state, State::Whole | State::Failed) {
            return None;
        }
        let field = self.step();
        if field.is_none() && self.state != State::Whole {
            self.state = State::Failed;
        }
        field
    }
}

/// The items of the JSON array `text`, each as written; `None` when the scan cannot vouch
/// for them. Items the scan only delimits are checked by whoever reads them.
pub(super) fn items<'a>(text: &'a str, out: &mut Vec<&'a str>) -> Option<()> {
    let b = text.as_bytes();
    if b.first() != Some(&b'[') {
        return None;
    }
    let mut i = space(b, 1);
    if b.get(i) == Some(&b']') {
        return (space(b, i + 1) == b.len()).then_some(());
    }
    loop {
        let (end, _) = value_end(b, i)?;
        out.push(&text[i..end]);
        i = space(b, end);
        match b.get(i)? {
            b',' => i = space(b, i + 1),
            b']' => return (space(b, i + 1) == b.len()).then_some(()),
            _ => return None,
        }
    }
}

/// Checks a value the scan did not, as parsing the record would: serde's own check of a
/// `RawValue` lets through a number too large for a float, which a parse refuses.
pub(super) fn check(value: &str) -> serde_json::Result<()> {
    match value_end(value.as_bytes(), 0) {
        Some((end, true)) if end == value.len() => Ok(()),
        _ => serde_json::from_str::<serde_json::Value>(value).map(drop),
    }
}

/// The bytes that open and close a JSON object (named, so that no brace stands alone in code).
pub(super) const OBJECT: u8 = 0x7b;
pub(super) const OBJECT_END: u8 = 0x7d;

/// The position after JSON white space from `i` (not all ASCII white space: no form feed).
fn space(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = b.get(i) {
        i += 1;
    }
    i
}

/// The end (after the closing quote) of the string whose text starts at `i`, and whether it
/// holds escapes (then only delimited, its escapes unchecked). `None` for a control
/// character in it, or no end.
fn string_end(b: &[u8], i: usize) -> Option<(usize, bool)> {
    let mut at = i;
    let mut escaped = false;
    loop {
        at = ordinary(b, at);
        match *b.get(at)? {
            b'"' => return Some((at + 1, escaped)),
            b'\\' => {
                escaped = true;
                // The escaped byte is skipped (checked later, by serde): `\"` ends nothing.
                if b.get(at + 1).is_none_or(|&c| c < 0x20) {
                    return None;
                }
                at += 2;
            }
            _ => return None,
        }
    }
}

/// The position of the first byte from `i` that is a quote, a backslash or a control
/// character (or the end): sixteen bytes at a time where SSE2 is (every x86-64), else eight
/// bytes at a time, the bit tricks telling whether a word holds one; the last few bytes one
/// by one.
fn ordinary(b: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    match ordinary_sse2(b, i) {
        Ok(found) => return found,
        Err(rest) => i = rest,
    }
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    while let Some(word) = b.get(i..i + 8) {
        let x = u64::from_ne_bytes(word.try_into().expect("8 bytes"));
        let special = zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')))
            | (x.wrapping_sub(ONES * 0x20) & !x & HIGH);
        if special != 0 {
            break;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

/// [`ordinary`] sixteen bytes at a time: the position of the first special byte among whole
/// blocks of 16 from `i`, or (`Err`) where the bytes left are fewer than a block.
#[cfg(target_arch = "x86_64")]
fn ordinary_sse2(b: &[u8], mut i: usize) -> Result<usize, usize> {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    while let Some(block) = b.get(i..i + 16) {
        // SAFETY: SSE2 is part of x86-64; the load reads the 16 bytes of `block`, unaligned.
        let special = unsafe {
            let x = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
            let quote = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
            // A byte below 0x20 is one that max(byte, 0x1f) leaves at 0x1f.
            let low = _mm_set1_epi8(0x1f);
            let control = _mm_cmpeq_epi8(_mm_max_epu8(x, low), low);
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control))
        };
        if special != 0 {
            return Ok(i + special.trailing_zeros() as usize);
        }
        i += 16;
    }
    Err(i)
}

/// The end of the value starting at `i`, and whether it is checked whole.
fn value_end(b: &[u8], i: usize) -> Option<(usize, bool)> {
    match *b.get(i)? {
        b'"' => string_end(b, i + 1).map(|(end, escaped)| (end, !escaped)),
        // A number that may be too large for a float (an exponent, many digits) is only
        // delimited: parsing the record would refuse it.
        b'-' | b'0'..=b'9' => number_end(b, i).map(|end| {
            let short = end - i < 300 && !b[i..end].iter().any(|c| matches!(c, b'e' | b'E'));
            (end, short)
        }),
        b't' => literal(b, i, b"true"),
        b'f' => literal(b, i, b"false"),
        b'n' => literal(b, i, b"null"),
        b'[' | OBJECT => nested_end(b, i).map(|end| (end, false)),
        _ => None,
    }
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<(usize, bool)> {
    b[i..].starts_with(word).then_some((i + word.len(), true))
}

/// The end of a number as JSON writes one: `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn number_end(b: &[u8], mut i: usize) -> Option<usize> {
    let digits = |i: usize| i + b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if b[i] == b'-' {
        i += 1;
    }
    i = match b.get(i)? {
        b'0' => i + 1,
        b'1'..=b'9' => digits(i),
        _ => return None,
    };
    if b.get(i) == Some(&b'.') {
        let end = digits(i + 1);
        if end == i + 1 {
            return None;
        }
        i = end;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        let end = digits(i);
        if end == i {
            return None;
        }
        i = end;
    }
    Some(i)
}

/// The end of the array or object starting at `i`: its brackets matched outside strings.
fn nested_end(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0u32;
    loop {
        match *b.get(i)? {
            b'"' => {
                i = string_end(b, i + 1)?.0;
                continue;
            }
            b'[' | OBJECT => depth += 1,
            b']' | OBJECT_END => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> Option<Vec<(&str, &str, bool)>> {
        let mut fields = Fields::new(text);
        let found = fields
            .by_ref()
            .map(|f| (f.name, f.value, f.plain))
            .collect();
        fields.whole().then_some(found)
    }

    #[test]
    fn fields_are_delimited_and_plain_values_told() {
        let text =
            " {\"a\" : \"x\\\"}\" ,\"b\":[1,{\"c\":\"]\"}],\"n\":-0.5e+3,\"t\":true, \"z\":{}}\r\n";
        assert_eq!(
            scan(text).unwrap(),
            [
                ("a", "\"x\\\"}\"", false),
                ("b", "[1,{\"c\":\"]\"}]", false),
                ("n", "-0.5e+3", false),
                ("t", "true", true),
                ("z", "{}", false),
            ]
        );
        assert_eq!(scan("{}").unwrap(), []);
    }

    #[test]
    fn what_serde_refuses_or_the_scan_cannot_vouch_for_is_left_to_serde() {
        for text in [
            "[]",
            "{",
            "{\"a\":1,}",
            "{,}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":-}",
            "{\"a\":1e}",
            "{\"a\":+1}",
            "{\"a\":tru}",
            "{\"a\":\"x\ty\"}",
            "{\"a\":1} x",
            "{\"a\":1}\u{c}",
            "{\"a\\u0062\":1}",
            "{\"a\":[1}",
            "{\"a\" 1}",
        ] {
            assert!(scan(text).is_none(), "{text}");
        }
    }

    /// The word-at-a-time search finds the first quote, backslash or control byte wherever it
    /// is, among bytes of every other value (UTF-8 ones too).
    #[test]
    fn the_first_special_byte_is_found_at_every_position() {
        let ordinary_bytes: Vec<u8> = (0x20..=0xff)
            .filter(|c| *c != b'"' && *c != b'\\')
            .collect();
        for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
            for len in 0..40 {
                for at in 0..=len {
                    let mut text: Vec<u8> = (0..len)
                        .map(|i| ordinary_bytes[(i * 37 + len) % ordinary_bytes.len()])
                        .collect();
                    if at < len {
                        text[at] = special;
                    }
                    assert_eq!(ordinary(&text, 0), at, "{special} at {at} of {len}");
                }
            }
        }
    }
}
