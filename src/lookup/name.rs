//! A company name's core, as likely duplicates compare names: folded, its punctuation and legal
//! forms set aside, so that `SARL Épicerie Zoé` and `Epicerie Zoe` are one name.

use super::fold;
use crate::bytes::Block;

/// Words set aside when names are compared for duplicates, folded and without dots
/// (`S.A.R.L.` is `sarl`): French legal forms, and the usual English and German ones.
pub const LEGAL_FORMS: &[&str] = &[
    "sarl", "sarlu", "sas", "sasu", "sa", "snc", "sci", "scp", "scop", "sca", "selarl", "selas",
    "eurl", "ei", "eirl", "gie", "ltd", "limited", "llc", "inc", "corp", "plc", "gmbh",
];

/// Appends the name as duplicates compare it to `out`: folded, dots and apostrophes dropped
/// (`S.A.R.L.`, `L'Atelier`), other punctuation a space, legal forms left out, one space
/// between the words that remain.
pub fn core_name_into(name: &str, out: &mut String) {
    let mut words = Words {
        start: out.len(),
        word: out.len(),
        out,
    };
    words.out.reserve(name.len());
    // ASCII runs of a word are taken whole, the usual case; any other character is folded.
    let b = name.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c >= 0x80 {
            let c = name[i..].chars().next().expect("a character");
            i += c.len_utf8();
            if c.is_whitespace() {
                words.end_word();
            } else {
                fold::push_folded(c, |c| words.push(c));
            }
            continue;
        }
        let start = i;
        let marks;
        (i, marks) = ascii_run(b, i);
        if i > start {
            words.extend_ascii(&name[start..i], marks);
        } else {
            // An ASCII space or punctuation.
            words.end_word();
            i += 1;
        }
    }
    words.end_word();
}

/// The end of the run of ASCII letters, digits, dots and apostrophes from `i`, sixteen bytes
/// at a time, and whether it has dots or apostrophes.
fn ascii_run(b: &[u8], mut i: usize) -> (usize, bool) {
    let mut marks = 0;
    loop {
        let x = match b.get(i..i + 16) {
            Some(block) => Block::load(block.try_into().expect("16 bytes")),
            None => {
                // The tail, padded with zeros, which end a run.
                let mut tail = [0u8; 16];
                tail[..b.len() - i].copy_from_slice(&b[i..]);
                Block::load(&tail)
            }
        };
        let within = |low: u8, high: u8| x.at_least(low) & !x.at_least(high + 1);
        let mark = x.eq(b'.') | x.eq(b'\'');
        let word = within(b'0', b'9') | within(b'A', b'Z') | within(b'a', b'z') | mark;
        // At most 16: the mask has sixteen bits.
        let n = (!word).trailing_zeros();
        marks |= mark & ((1 << n) - 1);
        i += n as usize;
        if n < 16 {
            return (i, marks != 0);
        }
    }
}

/// A core name being written, a folded character at a time.
struct Words<'a> {
    out: &'a mut String,
    start: usize,
    /// Where the current word starts.
    word: usize,
}

impl Words<'_> {
    #[inline(always)]
    fn push(&mut self, c: char) {
        if c == '.' || c == '\'' {
            return;
        }
        if !c.is_alphanumeric() {
            return self.end_word();
        }
        let out = &mut *self.out;
        if self.word == out.len() && out.len() > self.start {
            out.push(' ');
            self.word = out.len();
        }
        out.push(c);
    }

    /// ASCII letters and digits of the current word, and dots and apostrophes (`marks`),
    /// which are dropped: what [`Words::push`] of each would make.
    fn extend_ascii(&mut self, run: &str, marks: bool) {
        let out = &mut *self.out;
        let before = out.len();
        if self.word == before && before > self.start {
            out.push(' ');
            self.word = out.len();
        }
        let at = out.len();
        if marks {
            out.extend(run.chars().filter(|&c| c != '.' && c != '\''));
        } else {
            out.push_str(run);
        }
        if out.len() == at {
            // Nothing but dots and apostrophes: no word begun.
            out.truncate(before);
            self.word = self.word.min(before);
            return;
        }
        out[at..].make_ascii_lowercase();
    }

    /// The end of a word: drop it when it is a legal form.
    fn end_word(&mut self) {
        let out = &mut *self.out;
        if is_legal_form(&out[self.word..]) {
            out.truncate(if self.word > self.start {
                self.word - 1
            } else {
                self.start
            });
        }
        self.word = out.len();
    }
}

/// Whether a folded word is one of [`LEGAL_FORMS`], as a match (a jump on the length, then
/// a few compares) rather than a scan of the list: it runs on every word of every row.
fn is_legal_form(word: &str) -> bool {
    matches!(
        word,
        "sarl"
            | "sarlu"
            | "sas"
            | "sasu"
            | "sa"
            | "snc"
            | "sci"
            | "scp"
            | "scop"
            | "sca"
            | "selarl"
            | "selas"
            | "eurl"
            | "ei"
            | "eirl"
            | "gie"
            | "ltd"
            | "limited"
            | "llc"
            | "inc"
            | "corp"
            | "plc"
            | "gmbh"
    )
}

/// The name as duplicates compare it (see [`core_name_into`]).
pub fn core_name(name: &str) -> String {
    let mut out = String::new();
    core_name_into(name, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The core name as plainly as it reads: the name folded, then cut into words.
    fn core_name_plainly(name: &str) -> String {
        let folded = fold::fold(name);
        let mut words: Vec<String> = vec![String::new()];
        for c in folded.chars() {
            if c == '.' || c == '\'' {
                continue;
            }
            if c.is_alphanumeric() {
                words.last_mut().unwrap().push(c);
            } else {
                words.push(String::new());
            }
        }
        words.retain(|w| !w.is_empty() && !LEGAL_FORMS.contains(&w.as_str()));
        words.join(" ")
    }

    /// Names with legal forms among any text.
    fn name() -> impl Strategy<Value = String> {
        let forms = vec![
            "S.A.R.L. Épicerie",
            "Ltd",
            "sas  SASU sa",
            "L'Inc.",
            "EURL-Zoé",
            "Gmbh.",
        ];
        let words = prop::sample::select(vec![
            "SARL",
            "S.A.R.L.",
            "sas",
            "Ltd",
            "L'Atelier",
            "Zoe",
            "bois",
            "...",
            "'",
            "a.b",
            "X1",
            "EURL",
            "",
            "Belaïd",
            "ÉPICERIE",
            "Zoé",
            "straße",
            "Œuvre",
            "شعبان",
            "é.",
            "É'S",
            "ﬁn",
            "\u{301}",
        ]);
        let gaps = prop::sample::select(vec![
            " ", "  ", "-", ", ", "(", ")", "&", ".", "\t", "\u{a0}", "\u{2019}", "«", "\u{3000}",
        ]);
        // Up to twelve words: names past a block of sixteen bytes, and short ones.
        let joined = prop::collection::vec((words, gaps), 0..12)
            .prop_map(|parts| parts.into_iter().flat_map(|(w, g)| [w, g]).collect());
        prop_oneof![
            fold::tests::text(),
            prop::sample::select(forms).prop_map(String::from),
            joined,
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        /// Folding and cutting in one pass gives the name the plain reading gives.
        #[test]
        fn core_name_in_one_pass_is_the_plain_one(name in name()) {
            prop_assert_eq!(core_name(&name), core_name_plainly(&name));
        }
    }

    #[test]
    fn legal_forms_and_punctuation_are_set_aside() {
        assert_eq!(core_name("SARL Épicerie Zoé"), "epicerie zoe");
        assert_eq!(core_name("Epicerie  Zoe, S.A.R.L."), "epicerie zoe");
        assert_eq!(core_name("ÉPICERIE ZOÉ (SAS)"), "epicerie zoe");
        assert_eq!(core_name("Acme Ltd."), "acme");
        assert_eq!(core_name("L'Atelier-Bois Inc"), "latelier bois");
        assert_eq!(core_name("SARL"), "");
        // A legal form inside a word is part of the word.
        assert_eq!(core_name("Sasha Saint"), "sasha saint");
        for form in LEGAL_FORMS {
            assert_eq!(core_name(&format!("Zoé {}", form.to_uppercase())), "zoe");
        }
    }
}
