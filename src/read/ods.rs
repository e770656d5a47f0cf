//! What calamine leaves out of an ODS sheet: how numbers with leading zeros are shown.
//!
//! calamine gives an ODS number cell its value (1000) and drops the text the cell shows
//! (`01000`, from a `00000` number format): a zip code typed into such a column would lose its
//! zero. The sheet's XML keeps the shown text beside the value, so one more streaming pass over
//! `content.xml` collects the cells whose shown text is their whole value padded with zeros.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// Shown text of zero-padded whole numbers, by 0-based (row, column) of the sheet.
pub(crate) type Padded = HashMap<(u32, u32), String>;

/// At most this many cells are remembered (a repeated row can stand for a million rows).
const MAX_CELLS: usize = 1 << 20;

/// The zero-padded numbers of sheet `sheet` of the ODS file at `path`. Best effort: calamine
/// has read the values already, so a file this pass cannot read just keeps them as they are.
pub(crate) fn zero_padded(path: &Path, sheet: &str) -> Padded {
    let mut found = Padded::new();
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

fn scan(path: &Path, sheet: &str, found: &mut Padded) -> Result<(), Box<dyn std::error::Error>> {
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
                        let padded = c.value.as_deref().is_some_and(|v| is_padded(&c.shown, v));
                        if padded && c.paragraphs == 1 {
                            remember(found, (row, col), (rows_repeat, c.repeat), &c.shown);
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
fn remember(found: &mut Padded, (row, col): (u32, u32), (rows, cols): (u32, u32), shown: &str) {
    for r in row..row.saturating_add(rows) {
        for c in col..col.saturating_add(cols) {
            if found.len() >= MAX_CELLS {
                return;
            }
            found.insert((r, c), shown.to_string());
        }
    }
}

/// `shown` is the whole number `value` written with leading zeros: `01000` for 1000.
fn is_padded(shown: &str, value: &str) -> bool {
    shown.len() >= 2
        && shown.starts_with('0')
        && shown.bytes().all(|b| b.is_ascii_digit())
        && matches!(
            (shown.parse::<u64>(), value.parse::<f64>()),
            (Ok(n), Ok(v)) if v >= 0.0 && v.fract() == 0.0 && n as f64 == v
        )
}

/// The unescaped value of the attribute whose local name is `name`.
fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
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
    fn only_whole_numbers_shown_with_leading_zeros_count() {
        assert!(is_padded("01000", "1000"));
        assert!(is_padded("00", "0"));
        assert!(!is_padded("1000", "1000"));
        assert!(!is_padded("0", "0"));
        assert!(!is_padded("01 000", "1000"));
        assert!(!is_padded("01000", "1000.5"));
        assert!(!is_padded("01000", "999"));
        assert!(!is_padded("0,5", "0.5"));
    }
}
