//! The forms values are compared in when rows are matched to customers: text folded so that
//! what a person reads as the same name is the same key.
//!
//! People type `  SARL Épicerie  ZOÉ ` in one sheet and `Sarl epicerie Zoé` in the next; the
//! server keeps what the first import sent. [`fold`] makes them equal: white space trimmed and
//! each run of it one space, letters lower-cased, accents and other combining marks dropped
//! (`É` → `e`, Arabic harakat too), the ligatures `œ` `æ` `ß` written out (`oe`, `ae`, `ss`),
//! typographic apostrophes and dashes made plain (`’` → `'`, `–` → `-`). Nothing else:
//! punctuation and words stay, so `Dupont & Fils` is not `Dupont Fils` as a key. The looser
//! comparison of likely duplicates (legal forms and punctuation set aside) builds on it in
//! [`super::duplicates`].

use unicode_normalization::char::{decompose_canonical, is_combining_mark};

/// `text` folded (see the module's header).
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_into(text, &mut out);
    out
}

/// Appends `text` folded to `out`.
pub fn fold_into(text: &str, out: &mut String) {
    // Most names and places are ASCII words with one space between them: copied and
    // lower-cased at once.
    let b = text.as_bytes();
    let mut after_space = true;
    let plain = b.iter().all(|&c| {
        let ok = c.is_ascii()
            && if c == b' ' {
                !after_space
            } else {
                !is_space(c)
            };
        after_space = c == b' ';
        ok
    }) && !after_space;
    if plain {
        let start = out.len();
        out.push_str(text);
        out[start..].make_ascii_lowercase();
        return;
    }
    let mut space = false;
    let start = out.len();
    for_each_char(text, |c| match c {
        Char::Space => space = out.len() > start,
        Char::Other(c) => {
            if space {
                out.push(' ');
                space = false;
            }
            push_folded(c, |l| out.push(l));
        }
    });
}

/// Appends `text` without any white space (SIRETs, postcodes: `552 120 222 00013`), folded.
pub fn compact_into(text: &str, out: &mut String) {
    // SIRETs and postcodes are digits: copied as they are.
    if text.bytes().all(|c| c.is_ascii_digit()) {
        return out.push_str(text);
    }
    for_each_char(text, |c| {
        if let Char::Other(c) = c {
            push_folded(c, |l| out.push(l));
        }
    });
}

/// Whether an ASCII byte is white space as `char::is_whitespace` has it (`is_ascii_whitespace`
/// leaves out the vertical tab).
fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r' | b' ')
}

/// One character of a text being folded.
pub(crate) enum Char {
    Space,
    Other(char),
}

/// Calls `f` with each character of `text`, white space as [`Char::Space`].
#[inline]
pub(crate) fn for_each_char(text: &str, mut f: impl FnMut(Char)) {
    for c in text.chars() {
        f(if c.is_whitespace() {
            Char::Space
        } else {
            Char::Other(c)
        });
    }
}

/// Calls `emit` with what `c` folds to, when it is not white space. ASCII is lower-cased,
/// the Latin letters of European names (up to U+024F) looked up, the rest decomposed.
#[inline]
pub(crate) fn push_folded(c: char, mut emit: impl FnMut(char)) {
    if c.is_ascii() {
        return emit(c.to_ascii_lowercase());
    }
    match LATIN.get(c as usize - 0x80) {
        Some(&(a, b)) if a != '\0' => {
            emit(a);
            if b != '\0' {
                emit(b);
            }
        }
        _ => fold_slowly(c, emit),
    }
}

/// What U+0080 to U+024F fold to, worked out once: one or two characters (`'\0'` where there
/// is no second), or `'\0'` for the few that fold to something else (none, or more).
static LATIN: std::sync::LazyLock<Vec<(char, char)>> = std::sync::LazyLock::new(|| {
    ('\u{80}'..'\u{250}')
        .map(|c| {
            let mut chars = Vec::new();
            fold_slowly(c, |l| chars.push(l));
            match chars[..] {
                [a] if a != '\0' => (a, '\0'),
                [a, b] if a != '\0' && b != '\0' => (a, b),
                _ => ('\0', '\0'),
            }
        })
        .collect()
});

/// One character that is not ASCII, folded: ligatures written out, typographic apostrophes
/// and dashes made plain, else [`unmarked_lowercase`].
fn fold_slowly(c: char, mut emit: impl FnMut(char)) {
    match c {
        'œ' | 'Œ' => "oe".chars().for_each(emit),
        'æ' | 'Æ' => "ae".chars().for_each(emit),
        'ß' | 'ẞ' => "ss".chars().for_each(emit),
        '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{2032}' => emit('\''),
        '\u{2010}'..='\u{2015}' | '\u{2212}' => emit('-'),
        _ => unmarked_lowercase(c, &mut emit),
    }
}

/// The core of every fold, this one and a header's ([`crate::mapping::normalize`]): `c`
/// lower-cased without its accents or other combining marks (`É` → `e`, Arabic harakat), the
/// Arabic tatweel (a stretch, not a letter) dropped.
pub fn unmarked_lowercase(c: char, mut emit: impl FnMut(char)) {
    if c == '\u{0640}' {
        return;
    }
    decompose_canonical(c, |d| {
        if !is_combining_mark(d) {
            d.to_lowercase().for_each(&mut emit);
        }
    });
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The fold as plainly as it reads, a character at a time, nothing looked up.
    pub(crate) fn fold_plainly(text: &str) -> String {
        let mut out = String::new();
        let mut space = false;
        for c in text.chars() {
            if c.is_whitespace() {
                space = !out.is_empty();
                continue;
            }
            if space {
                out.push(' ');
                space = false;
            }
            fold_slowly(c, |l| out.push(l));
        }
        out
    }

    /// Text of the characters folding treats apart: ASCII, Latin letters with accents and
    /// ligatures, spaces of every kind, marks, Arabic, Hangul (which decomposes into three),
    /// and any character at all.
    pub(crate) fn text() -> impl Strategy<Value = String> {
        let chars = prop_oneof![
            4 => prop::char::range(' ', '~'),
            3 => prop::char::range('\u{80}', '\u{250}'),
            1 => prop::sample::select(vec![
                '\t', '\u{a0}', '\u{85}', '\u{2009}', '\u{301}', 'œ', 'ẞ', '’', '–', 'İ', 'ـ',
                'أ', 'ة', '\u{64e}', '한', 'ﬁ',
            ]),
            1 => any::<char>(),
        ];
        prop::collection::vec(chars, 0..40).prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        /// The looked-up fast path folds every text as the plain fold does.
        #[test]
        fn looked_up_folding_is_plain_folding(text in text()) {
            prop_assert_eq!(fold(&text), fold_plainly(&text));
            let mut compact = String::new();
            compact_into(&text, &mut compact);
            prop_assert_eq!(compact, fold_plainly(&text).replace(' ', ""));
        }
    }

    #[test]
    fn case_accents_and_spaces_fold() {
        assert_eq!(fold("  SARL Épicerie\u{a0} ZOÉ "), "sarl epicerie zoe");
        assert_eq!(fold("Cœur d’Alène"), "coeur d'alene");
        assert_eq!(fold("Straße"), "strasse");
        // Decomposed input (an accent typed as its own mark) folds the same.
        assert_eq!(fold("Zoe\u{301}"), fold("Zoé"));
        assert_eq!(fold(""), "");
        assert_eq!(fold(" \t "), "");
    }

    #[test]
    fn punctuation_and_words_stay() {
        assert_ne!(fold("Dupont & Fils"), fold("Dupont Fils"));
        assert_eq!(fold("Saint-Étienne"), "saint-etienne");
        assert_eq!(fold("Saint–Étienne"), "saint-etienne");
    }

    #[test]
    fn compact_drops_every_space() {
        let mut out = String::new();
        compact_into(" 552 120\u{a0}222 00013 ", &mut out);
        assert_eq!(out, "55212022200013");
    }
}
