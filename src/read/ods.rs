//! What calamine leaves out of an ODS sheet: how some numbers are shown.
//!
//! calamine gives an ODS number cell its value and drops the text the cell shows: a zip code in
//! a column formatted `00000` shows `01000` but reads 1000, and LibreOffice's booleans are the
//! numbers 1 and 0 shown as TRUE and FALSE (VRAI and FAUX in French). The sheet's XML keeps the
//! shown text beside the value, so one more streaming pass over `content.xml` collects those
//! cells and the text they are read as: `01000`, `true`, `false`.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::sheet::Shown;

/// At most this many cells are remembered (a repeated row can stand for a million rows).
const MAX_CELLS: usize = 1 << 20;

/// The zero-padded numbers and booleans of sheet `sheet` of the ODS file at `path`. Best
/// effort: calamine has read the values already, so a file this pass cannot read just keeps
/// them as they are.
pub(crate) fn shown_numbers(path: &Path, sheet: &str) -> Shown {
    let mut found = Shown::new();
    let _ = scan(path, sheet, &mut found);
    found
}

/// The cell being read: how many columns it stands for, its value when it is a number, and
/// the text it shows so far.
struct Cell {
    repeat: u32,
    value: Option<String>,
    shown: String,
    paragraphs: u32,
}

fn scan(path: &Path, sheet: &str, found: &mut Shown) -> Result<(), Box<dyn std::error::Error>> {
    let mut zip = zip::ZipArchive::new(BufReader::new(File::open(path)?))?;
    let mut xml = Reader::from_reader(BufReader::new(zip.by_name("content.xml")?));
    let mut buf = Vec::new();
    let mut in_sheet = false;
    let (mut row, mut col, mut rows_repeat) = (0u32, 0u32, 1u32);
    let mut cell: Option<Cell> = None;
    loop {
        let event = xml.read_event_into(&mut buf)?;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                let empty = matches!(event, Event::Empty(_));
                match e.local_name().as_ref() {
                    "table" if !in_sheet => {
                        in_sheet = !empty && attr(e, "name").as_deref() == Some(sheet);
                    }
                    "table-row" if in_sheet => {
                        rows_repeat = repeat(e, "number-rows-repeated");
                        col = 0;
                        if empty {
                            row = row.saturating_add(rows_repeat);
                        }
                    }
                    "table-cell" | "covered-table-cell" if in_sheet => {
                        let repeat = repeat(e, "number-columns-repeated");
                        if empty {
                            col = col.saturating_add(repeat);
                        } else {
                            let float = attr(e, "value-type").as_deref() == Some("float");
                            cell = Some(Cell {
                                repeat,
                                value: float.then(|| attr(e, "value")).flatten(),
                                shown: String::new(),
                                paragraphs: 0,
                            });
                        }
                    }
                    "p" => {
                        if let Some(c) = &mut cell {
                            c.paragraphs += 1;
                        }
                    }
                    // A run of spaces: never part of a padded number.
                    "s" | "tab" | "line-break" => {
                        if let Some(c) = &mut cell {
                            c.shown.push(' ');
                        }
                    }
                    _ => {}
                }
            }
            Event::Text(t) => {
                if let Some(c) = &mut cell {
                    c.shown.push_str(t);
                }
            }
            Event::GeneralRef(_) => {
                if let Some(c) = &mut cell {
                    c.shown.push('&');
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                "table" if in_sheet => return Ok(()),
                "table-row" if in_sheet => row = row.saturating_add(rows_repeat),
                "table-cell" | "covered-table-cell" if in_sheet => {
                    if let Some(c) = cell.take() {
                        let text = match &c.value {
                            Some(v) if c.paragraphs == 1 => read_as(&c.shown, v),
                            _ => None,
                        };
                        if let Some(text) = text {
                            remember(found, (row, col), (rows_repeat, c.repeat), text);
                        }
                        col = col.saturating_add(c.repeat);
                    }
                }
                _ => {}
            },
            Event::Eof => return Ok(()),
            _ => {}
        }
        buf.clear();
    }
}

/// Records `shown` for every cell a (possibly repeated) cell stands for.
fn remember(found: &mut Shown, (row, col): (u32, u32), (rows, cols): (u32, u32), text: &str) {
    for r in row..row.saturating_add(rows) {
        for c in col..col.saturating_add(cols) {
            if found.len() >= MAX_CELLS {
                return;
            }
            found.insert((r, c), text.to_string());
        }
    }
}

/// The text a number cell showing `shown` is read as, when it is not its `value`: the number
/// with leading zeros as shown (`01000` for 1000, `FR-007` for 7), or a boolean shown as TRUE
/// or FALSE.
fn read_as<'a>(shown: &'a str, value: &str) -> Option<&'a str> {
    if is_padded(shown, value) {
        return Some(shown);
    }
    let word = |words: [&str; 2]| words.iter().any(|w| shown.eq_ignore_ascii_case(w));
    match value {
        "1" if word(["true", "vrai"]) => Some("true"),
        "0" if word(["false", "faux"]) => Some("false"),
        _ => None,
    }
}

/// `shown` is the whole number `value` written with leading zeros (`01000` for 1000), maybe
/// between literal text without digits, as a format such as `"FR-"000` shows it (`FR-007`).
fn is_padded(shown: &str, value: &str) -> bool {
    let Some(start) = shown.find(|c: char| c.is_ascii_digit()) else {
        return false;
    };
    let digits = &shown[start..];
    let digits = &digits[..digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len())];
    let rest = &shown[start + digits.len()..];
    digits.len() >= 2
        && digits.starts_with('0')
        && !rest.contains(|c: char| c.is_ascii_digit())
        && matches!(
            (digits.parse::<u64>(), value.parse::<f64>()),
            (Ok(n), Ok(v)) if v >= 0.0 && v.fract() == 0.0 && n as f64 == v
        )
}

/// The unescaped value of the attribute whose local name is `name` (`r:id` is `id`).
pub(crate) fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| a.normalized_value(XmlVersion::Implicit1_0).ok())
        .map(|v| v.into_owned())
}

fn repeat(e: &BytesStart<'_>, name: &str) -> u32 {
    attr(e, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_are_read_as_words() {
        assert_eq!(read_as("TRUE", "1"), Some("true"));
        assert_eq!(read_as("Faux", "0"), Some("false"));
        assert_eq!(read_as("TRUE", "2"), None);
        assert_eq!(read_as("1", "1"), None);
        assert_eq!(read_as("007", "7"), Some("007"));
    }

    #[test]
    fn only_whole_numbers_shown_with_leading_zeros_count() {
        assert!(is_padded("01000", "1000"));
        assert!(is_padded("00", "0"));
        assert!(!is_padded("1000", "1000"));
        assert!(!is_padded("0", "0"));
        assert!(!is_padded("01 000", "1000"));
        assert!(!is_padded("01000", "1000.5"));
        assert!(!is_padded("01000", "999"));
        assert!(!is_padded("0,5", "0.5"));
        assert!(is_padded("FR-007", "7"));
        assert!(is_padded("(0042)", "42"));
        assert!(!is_padded("-007", "-7"));
        assert!(!is_padded("007-1", "7"));
    }
}
