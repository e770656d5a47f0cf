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
    let mut space = false;
    let start = out.len();
    for c in text.chars() {
        if c.is_whitespace() {
            space = out.len() > start;
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            push_folded(c, out);
        }
    }
}

/// Appends `text` without any white space (SIRETs, postcodes: `552 120 222 00013`), folded.
pub fn compact_into(text: &str, out: &mut String) {
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            push_folded(c, out);
        }
    }
}

/// One character that is not ASCII, folded.
fn push_folded(c: char, out: &mut String) {
    match c {
        'œ' | 'Œ' => return out.push_str("oe"),
        'æ' | 'Æ' => return out.push_str("ae"),
        'ß' | 'ẞ' => return out.push_str("ss"),
        '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{2032}' => return out.push('\''),
        '\u{2010}'..='\u{2015}' | '\u{2212}' => return out.push('-'),
        _ => {}
    }
    unmarked_lowercase(c, |l| out.push(l));
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
mod tests {
    use super::*;

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
