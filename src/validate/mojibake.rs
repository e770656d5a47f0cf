//! A CSV file whose Arabic fields hold no Arabic letters: the mark of a file decoded in a code
//! page that has none, such as Arabic Excel's Windows-1256 read as Windows-1252, where
//! `الشركة` becomes `ÇáÔÑßÉ`. One such cell is a warning of its row; a file where they are
//! the rule is refused before any row is used, naming the fix.
//!
//! "The rule": of the non-blank `name_ar` and `address_ar` values in the file's first
//! [`SAMPLE_ROWS`] rows (at most [`SAMPLE_CELLS`] of them), at least [`MIN_LATIN`] have no
//! Arabic letter and they are at least 4 in 5. A list with a few names in Latin letters among
//! Arabic ones imports with a warning on each; mojibake spares no cell.

use encoding_rs::{Encoding, WINDOWS_1256};

use super::{coerce, Checked, FieldValue};

/// The rows looked at, at most, before the first is handed on.
pub(crate) const SAMPLE_ROWS: usize = 1_000;
/// The Arabic-field values that are enough to judge.
const SAMPLE_CELLS: usize = 200;
/// Fewer values without Arabic letters than this are never the rule.
const MIN_LATIN: usize = 5;
const ARABIC_FIELDS: [&str; 2] = ["name_ar", "address_ar"];

/// Whether text decoded in `encoding` could hold Arabic letters: UTF-8, UTF-16, Windows-1256
/// and ISO-8859-6 can; Windows-1252 and the other legacy pages cannot.
pub(crate) fn can_hold_arabic(encoding: &'static Encoding) -> bool {
    !encoding.encode("\u{0628}").2
}

/// The Arabic-field values of the first rows, counted.
#[derive(Debug, Default)]
pub(crate) struct Sample {
    values: usize,
    latin: usize,
    /// The first value without an Arabic letter.
    example: Option<String>,
}

impl Sample {
    pub(crate) fn add(&mut self, row: &Checked) {
        for field in ARABIC_FIELDS {
            if let Some(FieldValue::Text(text)) = row.get(field) {
                self.values += 1;
                if !coerce::has_arabic(text) {
                    self.latin += 1;
                    self.example.get_or_insert_with(|| text.to_string());
                }
            }
        }
    }

    pub(crate) fn is_enough(&self) -> bool {
        self.values >= SAMPLE_CELLS
    }

    /// The file's verdict: `Err` with the sentence to show when Arabic-free values are the
    /// rule. `read_as` is the code page the file was decoded in.
    pub(crate) fn verdict(&self, location: &str, read_as: &'static Encoding) -> Result<(), String> {
        if self.latin < MIN_LATIN || self.latin * 5 < self.values * 4 {
            return Ok(());
        }
        let example = self.example.as_deref().unwrap_or_default();
        let (bytes, _, unmappable) = read_as.encode(example);
        let as_arabic = WINDOWS_1256.decode_without_bom_handling(&bytes).0;
        let hint = if !unmappable && coerce::has_arabic(&as_arabic) {
            format!(
                "{example:?} reads as {as_arabic:?} in Windows-1256, the code page of Arabic \
                 Excel: give --encoding windows-1256"
            )
        } else {
            format!(
                "if the file comes from Arabic Excel, give --encoding windows-1256; if these \
                 columns hold Latin text on purpose, map them to \"ignore\" in a mapping file \
                 (e.g. {example:?})"
            )
        };
        Err(format!(
            "{location}: {} of the first {} name_ar and address_ar values have no Arabic \
             letters, as the file was read as {}, which has none: {hint}",
            self.latin,
            self.values,
            read_as.name()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{UTF_8, WINDOWS_1252};

    #[test]
    fn code_pages_without_arabic_letters() {
        assert!(can_hold_arabic(UTF_8));
        assert!(can_hold_arabic(WINDOWS_1256));
        assert!(can_hold_arabic(encoding_rs::ISO_8859_6));
        assert!(can_hold_arabic(encoding_rs::UTF_16LE));
        assert!(!can_hold_arabic(WINDOWS_1252));
        assert!(!can_hold_arabic(encoding_rs::WINDOWS_1250));
    }

    fn sample(latin: usize, arabic: usize, example: &str) -> Sample {
        Sample {
            values: latin + arabic,
            latin,
            example: Some(example.to_string()),
        }
    }

    #[test]
    fn latin_values_refuse_the_file_when_they_are_the_rule() {
        let mojibake = WINDOWS_1252
            .decode(&WINDOWS_1256.encode("الشركة العامة").0)
            .0
            .into_owned();
        let err = sample(40, 0, &mojibake)
            .verdict("clients.csv", WINDOWS_1252)
            .unwrap_err();
        assert!(
            err.starts_with("clients.csv: 40 of the first 40 name_ar"),
            "{err}"
        );
        assert!(
            err.contains("reads as \"الشركة العامة\" in Windows-1256"),
            "{err}"
        );
        assert!(err.ends_with("give --encoding windows-1256"), "{err}");
        // Latin text that is no mojibake: the fix is the file's or the mapping's.
        let err = sample(8, 2, "Taxi Meziane")
            .verdict("clients.csv", WINDOWS_1252)
            .unwrap_err();
        assert!(err.contains("map them to \"ignore\""), "{err}");
        // A few Latin names among Arabic ones, or too few values to tell: a warning per cell.
        assert!(sample(7, 33, "Taxi Meziane")
            .verdict("c", WINDOWS_1252)
            .is_ok());
        assert!(sample(4, 0, "Taxi Meziane")
            .verdict("c", WINDOWS_1252)
            .is_ok());
        assert!(sample(0, 0, "").verdict("c", WINDOWS_1252).is_ok());
    }
}
