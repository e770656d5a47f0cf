//! Guessing how a CSV file was written from its first 64 KiB: the encoding and the delimiter.
//!
//! The encoding, in order: `--encoding`; a BOM; UTF-16 without BOM (NULs in every other byte);
//! UTF-8, also for text that is UTF-8 but for a few bad sequences, since decoding such a file in
//! a legacy code page would turn every `é` of it into `Ã©`, silently. The rule ([`mostly_utf8`]):
//! at least [`GOOD_PER_BAD`] well-formed multi-byte characters for each malformed sequence. A
//! file in a legacy code page has next to no well-formed sequences (an accented letter is one
//! byte, followed by ASCII), so it is not mistaken for UTF-8. Anything else is in one of the
//! code pages spreadsheet programs save in, which chardetng (Firefox's detector) tells from the
//! same bytes: Windows-1252 for French Excel, Windows-1256 for Arabic Excel, ISO-8859-6, the
//! other Windows-125x pages, and the East Asian multi-byte ones.
use std::path::Path;

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};

use crate::read::sniff::is_binary;
use crate::read::ReadError;

/// Lines looked at to choose the delimiter.
const DELIMITER_LINES: usize = 50;

/// Well-formed multi-byte UTF-8 characters needed for each malformed sequence to read a file
/// as UTF-8 nonetheless.
const GOOD_PER_BAD: usize = 10;

/// The encoding to read with and the length of the byte-order mark to skip.
pub(super) fn choose_encoding(
    path: &Path,
    prefix: &[u8],
    whole: bool,
    asked: Option<&str>,
) -> Result<(&'static Encoding, usize), ReadError> {
    let bom = Encoding::for_bom(prefix);
    if let Some(label) = asked {
        let encoding = Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
            ReadError::UnknownEncoding {
                asked: label.to_string(),
            }
        })?;
        let skip = match bom {
            Some((b, len)) if b == encoding => len,
            _ => 0,
        };
        return Ok((encoding, skip));
    }
    if let Some((encoding, len)) = bom {
        return Ok((encoding, len));
    }
    if let Some(encoding) = utf16_without_bom(prefix) {
        return Ok((encoding, 0));
    }
    if is_binary(prefix) {
        return Err(ReadError::Unreadable {
            file: path.to_path_buf(),
            reason: "it looks like a binary file, not CSV text or a spreadsheet".into(),
        });
    }
    if mostly_utf8(prefix, whole) {
        return Ok((UTF_8, 0));
    }
    Ok((legacy_code_page(prefix, whole), 0))
}

/// The legacy code page `text` reads best in, as chardetng judges it (no top-level domain to
/// go by, UTF-8 already ruled out). `whole`: the file ends with `text`.
fn legacy_code_page(text: &[u8], whole: bool) -> &'static Encoding {
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
    detector.feed(text, whole);
    detector.guess(None, Utf8Detection::Deny)
}

/// Whether `text` is UTF-8, or UTF-8 with at most one malformed sequence for every
/// [`GOOD_PER_BAD`] well-formed multi-byte characters. A character cut by the end of the
/// window (`whole` false) is not malformed.
fn mostly_utf8(text: &[u8], whole: bool) -> bool {
    let (mut good, mut bad) = (0usize, 0usize);
    let mut rest = text;
    loop {
        let valid = match std::str::from_utf8(rest) {
            Ok(_) => rest,
            Err(e) => &rest[..e.valid_up_to()],
        };
        // Lead bytes of multi-byte characters (continuation bytes are 0x80..=0xBF).
        good += valid.iter().filter(|&&b| b >= 0xC0).count();
        let Err(e) = std::str::from_utf8(rest) else {
            break;
        };
        match e.error_len() {
            Some(len) => {
                bad += 1;
                rest = &rest[e.valid_up_to() + len..];
            }
            None => {
                bad += usize::from(whole);
                break;
            }
        }
    }
    bad == 0 || good >= bad * GOOD_PER_BAD
}

/// UTF-16 text without a BOM has a NUL in every other byte of its ASCII characters.
fn utf16_without_bom(prefix: &[u8]) -> Option<&'static Encoding> {
    let pairs = prefix.len() / 2;
    if pairs < 2 {
        return None;
    }
    let even = prefix.iter().step_by(2).filter(|&&b| b == 0).count();
    let odd = prefix
        .iter()
        .skip(1)
        .step_by(2)
        .filter(|&&b| b == 0)
        .count();
    if odd * 10 > pairs * 7 && even * 10 < pairs {
        Some(UTF_16LE)
    } else if even * 10 > pairs * 7 && odd * 10 < pairs {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// Picks among `,` `;` tab `|` the delimiter that splits the most lines into the same number
/// of fields (counting outside quotes); ties go to the one giving more fields, then to `;`
/// over `,` (decimal commas are common in the French files this sees).
pub(super) fn detect_delimiter(text: &[u8], whole: bool) -> u8 {
    const CANDIDATES: [u8; 4] = [b';', b',', b'\t', b'|'];
    let mut counts: Vec<[usize; 4]> = Vec::new();
    let mut line = [0usize; 4];
    let mut quoted = false;
    let mut complete = false;
    let mut has_text = false;
    for &b in text {
        if b == b'"' {
            quoted = !quoted;
            has_text = true;
        } else if quoted {
            continue;
        } else if b == b'\n' || b == b'\r' {
            if has_text {
                counts.push(line);
                if counts.len() == DELIMITER_LINES {
                    complete = true;
                    break;
                }
            }
            line = [0; 4];
            has_text = false;
        } else if let Some(i) = CANDIDATES.iter().position(|&c| c == b) {
            line[i] += 1;
            has_text = true;
        } else {
            has_text = true;
        }
    }
    // The last line is whole only if the file ended inside the window.
    if has_text && !complete && whole {
        counts.push(line);
    }
    if counts.is_empty() && has_text {
        counts.push(line);
    }
    let mut best = (0usize, 0usize, b',');
    for (i, &delimiter) in CANDIDATES.iter().enumerate() {
        // The most frequent non-zero field count for this delimiter, and how many lines have it.
        let mut tally: Vec<(usize, usize)> = Vec::new();
        for c in counts.iter().map(|l| l[i]).filter(|&n| n > 0) {
            match tally.iter_mut().find(|(n, _)| *n == c) {
                Some((_, lines)) => *lines += 1,
                None => tally.push((c, 1)),
            }
        }
        if let Some(&(fields, lines)) = tally.iter().max_by_key(|&&(n, lines)| (lines, n)) {
            if (lines, fields) > (best.0, best.1) {
                best = (lines, fields, delimiter);
            }
        }
    }
    best.2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(detect_delimiter(b"a;b;c\n1;2,5;3\n", true), b';');
        assert_eq!(detect_delimiter(b"a,b,c\n1,2,3\n", true), b',');
        assert_eq!(detect_delimiter(b"a\tb\tc\n1\t2\t3\n", true), b'\t');
        assert_eq!(detect_delimiter(b"a|b|c\r\n1|2|3\r\n", true), b'|');
        assert_eq!(
            detect_delimiter(b"Liste des clients\n\nnom;ville\n\"a;b\";c\n", true),
            b';'
        );
        assert_eq!(
            detect_delimiter(b"name,note\n\"x\",\"a;b;c;d\"\n\"y\",\"e;f\"\n", true),
            b','
        );
        assert_eq!(detect_delimiter(b"single column\nvalue\n", true), b',');
    }

    /// The file: 1,001 rows of accented UTF-8 with four bad bytes in row 500 is UTF-8;
    /// a Windows-1252 file is not, and neither is mostly-ASCII text with one good and one bad.
    #[test]
    fn a_few_bad_sequences_leave_a_file_utf8() {
        let mut text = b"Nom,Ville\n".to_vec();
        for i in 1..=1001 {
            if i == 500 {
                text.extend_from_slice(b"Soci\xe9t\xe9 500,Orl\xe9ans\xff\n");
            } else {
                text.extend_from_slice(format!("Société {i},Orléans\n").as_bytes());
            }
        }
        assert!(mostly_utf8(&text, true));
        assert!(!mostly_utf8(b"Nom;Ville\nSoci\xe9t\xe9;Orl\xe9ans\n", true));
        assert!(!mostly_utf8(
            "Orléans;"
                .as_bytes()
                .iter()
                .chain(b"Fran\xe7ois")
                .copied()
                .collect::<Vec<_>>()
                .as_slice(),
            true
        ));
        // A character cut by the window's end is not malformed, unless the file ends there.
        assert!(mostly_utf8(&"Orléans".as_bytes()[..4], false));
        assert!(!mostly_utf8(b"caf\xc3", true));
    }

    /// Arabic Excel's "CSV (point-virgule)" is Windows-1256, Arabic and French letters both;
    /// French Excel's is Windows-1252; ISO-8859-6 and the Central European page are told too.
    #[test]
    fn legacy_code_pages_are_told_apart() {
        let arabic = "Raison sociale;Nom (arabe)\nGarçon & Fils;الشركة العامة للتجارة\n";
        let cases = [
            (encoding_rs::WINDOWS_1256, arabic),
            (
                encoding_rs::WINDOWS_1252,
                "Nom;Ville\nCrêperie François;Lyon à côté\n",
            ),
            (
                encoding_rs::ISO_8859_6,
                "الاسم;المدينة\nالشركة العامة;الرباط\n",
            ),
            (
                encoding_rs::WINDOWS_1250,
                "Jméno;Město\nČeská spořitelna;Žluťoučký kůň\n",
            ),
        ];
        for (encoding, text) in cases {
            let bytes = encoding.encode(text).0;
            let (chosen, bom) = choose_encoding(Path::new("x.csv"), &bytes, true, None).unwrap();
            assert_eq!((chosen.name(), bom), (encoding.name(), 0), "{text}");
        }
    }

    #[test]
    fn utf16_sniffing() {
        let le: Vec<u8> = "nom\tville\n"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        assert_eq!(utf16_without_bom(&le), Some(UTF_16LE));
        assert_eq!(utf16_without_bom(b"plain text"), None);
    }
}
