//! Formula cells without a saved value in an XLSX sheet, found by a pass of their own.
//!
//! calamine streams a sheet's cells with their style ids or with their formulas, not both.
//! A workbook with zero-padding number formats (`00000` on a zip code) needs the style ids to
//! read `01000` as shown, so its formulas come from this pass: a streaming read of the sheet's
//! XML that keeps only the positions of `<c>` elements holding an `<f>` and no `<v>` or `<is>`
//! text. Most customer lists hold no formula at all: a first look for any `<f` element (the
//! sheet inflated and searched, nothing parsed) settles those; only a sheet with formulas is
//! tokenised, without decoding a value (no shared strings, no numbers).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use memchr::memmem;
use quick_xml::events::{BytesStart, Event};

/// At most this many positions are remembered; the count goes on.
const MAX_CELLS: usize = 1 << 20;

/// Formula cells without a value, by 0-based (row, column) as calamine numbers them.
#[derive(Debug, Default)]
pub(crate) struct WithoutValue {
    pub cells: HashSet<(u32, u32)>,
    /// All of them, beyond the remembered ones too.
    pub count: u64,
}

/// The formula cells without a value of sheet `sheet` of the XLSX at `path`. Best effort: a
/// sheet this pass cannot read (calamine reads it, or says why) gives what was found so far.
pub(crate) fn without_value(path: &Path, sheet: &str) -> WithoutValue {
    let mut found = WithoutValue::default();
    let _ = scan(path, sheet, &mut found);
    found
}

/// Where the scan is: the row and next column (for cells without an `r`), and the cell open.
#[derive(Default)]
struct Cursor {
    row: u32,
    col: u32,
    cell: Option<Open>,
}

/// A `<c>` being read.
struct Open {
    pos: (u32, u32),
    formula: bool,
    value: bool,
    /// Inside its `<v>` or `<is>`: text there is a value.
    in_value: bool,
}

fn scan(path: &Path, sheet: &str, found: &mut WithoutValue) -> Option<()> {
    let member = super::limits::sheet_member(path, sheet)?;
    let mut zip = zip::ZipArchive::new(BufReader::new(File::open(path).ok()?)).ok()?;
    if !has_formula(zip.by_name(&member).ok()?)? {
        return Some(());
    }
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(zip.by_name(&member).ok()?));
    let mut buf = Vec::new();
    let mut at = Cursor::default();
    loop {
        let event = xml.read_event_into(&mut buf).ok()?;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                at.start(e, matches!(event, Event::Empty(_)), found);
            }
            Event::Text(_) | Event::GeneralRef(_) | Event::CData(_) => {
                if let Some(cell) = at.cell.as_mut().filter(|c| c.in_value) {
                    cell.value |= !buf.is_empty();
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                "c" => at.close(found),
                "v" | "is" => {
                    if let Some(cell) = &mut at.cell {
                        cell.in_value = false;
                    }
                }
                "row" => {
                    at.row += 1;
                    at.col = 0;
                }
                "sheetData" => return Some(()),
                _ => {}
            },
            Event::Eof => return Some(()),
            _ => {}
        }
        buf.clear();
    }
}

/// Whether the XML holds a formula element (`<f>`, `<f t="shared" .../>`, or a prefixed
/// `<x:f>`): a search through the bytes as they inflate. A false alarm costs only the scan.
fn has_formula(mut xml: impl Read) -> Option<bool> {
    let finders = [memmem::Finder::new(b"<f"), memmem::Finder::new(b":f")];
    let mut buf = vec![0u8; 256 * 1024];
    // The last bytes of a chunk are kept, so that a tag cut in two is still found.
    let mut kept = 0;
    loop {
        let n = xml.read(&mut buf[kept..]).ok()?;
        if n == 0 {
            return Some(false);
        }
        let chunk = &buf[..kept + n];
        let tag = |at: usize| {
            chunk
                .get(at + 2)
                .is_some_and(|b| matches!(b, b'>' | b'/' | b' ' | b'\t' | b'\r' | b'\n'))
        };
        if finders.iter().any(|f| f.find_iter(chunk).any(tag)) {
            return Some(true);
        }
        kept = chunk.len().min(2);
        let from = chunk.len() - kept;
        buf.copy_within(from..from + kept, 0);
    }
}

impl Cursor {
    fn start(&mut self, e: &BytesStart<'_>, empty: bool, found: &mut WithoutValue) {
        match e.local_name().as_ref() {
            "row" => {
                if let Some(r) = number_attr(e, "r") {
                    self.row = r.saturating_sub(1);
                }
                self.col = 0;
                if empty {
                    self.row += 1;
                }
            }
            "c" => {
                let pos = attr(e, "r")
                    .and_then(|r| reference(r.as_bytes()))
                    .unwrap_or((self.row, self.col));
                self.col = pos.1 + 1;
                self.cell = Some(Open {
                    pos,
                    formula: false,
                    value: false,
                    in_value: false,
                });
                if empty {
                    self.close(found);
                }
            }
            "f" => {
                if let Some(cell) = &mut self.cell {
                    cell.formula = true;
                }
            }
            "v" | "is" if !empty => {
                if let Some(cell) = &mut self.cell {
                    cell.in_value = true;
                }
            }
            _ => {}
        }
    }

    fn close(&mut self, found: &mut WithoutValue) {
        let Some(cell) = self.cell.take() else { return };
        if cell.formula && !cell.value {
            found.count += 1;
            if found.cells.len() < MAX_CELLS {
                found.cells.insert(cell.pos);
            }
        }
    }
}

fn attr<'a>(e: &'a BytesStart<'_>, name: &str) -> Option<Cow<'a, str>> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .map(|a| a.value)
}

fn number_attr(e: &BytesStart<'_>, name: &str) -> Option<u32> {
    attr(e, name)?.parse().ok()
}

/// `B7` → (6, 1): 0-based row and column.
fn reference(r: &[u8]) -> Option<(u32, u32)> {
    let letters = r.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if letters == 0 || letters > 3 {
        return None;
    }
    let col = r[..letters].iter().fold(0u32, |n, b| {
        n * 26 + u32::from(b.to_ascii_uppercase() - b'A' + 1)
    });
    let row: u32 = std::str::from_utf8(&r[letters..]).ok()?.parse().ok()?;
    Some((row.checked_sub(1)?, col - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out 3 bytes at a time, so tags fall across reads.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(3).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_formula_element_is_found_across_reads_and_nothing_else_is_one() {
        let with = br#"<row><c r="A1"><f>B1</f></c><c r="A2"><x:f t="shared"/></c></row>"#;
        assert_eq!(has_formula(Trickle(with)), Some(true));
        let prefixed = br#"<x:c r="A1"><x:f>B1</x:f></x:c>"#;
        assert_eq!(has_formula(Trickle(prefixed)), Some(true));
        let without = br#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><is><t>f</t></is></c><font/></row>"#;
        assert_eq!(has_formula(Trickle(without)), Some(false));
    }

    #[test]
    fn references_as_calamine_numbers_them() {
        assert_eq!(reference(b"A1"), Some((0, 0)));
        assert_eq!(reference(b"B7"), Some((6, 1)));
        assert_eq!(reference(b"AA10"), Some((9, 26)));
        assert_eq!(reference(b"7"), None);
        assert_eq!(reference(b"A0"), None);
    }
}
