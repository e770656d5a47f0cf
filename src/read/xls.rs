//! What calamine leaves out of an XLS sheet: number formats. A zip code in a column formatted
//! `00000` shows `01000` in Excel but reads 1000.
//!
//! The workbook stream (BIFF8) is read once more for just what that needs: the custom number
//! formats, the cell formats (XF) that use them, where the sheet starts, and its number cells.
//! Each number cell whose format pads with zeros is recorded with its text as shown.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::cell::{write_float, ZeroPad};
use super::sheet::Shown;

const EOF: u16 = 0x000A;
const FORMAT: u16 = 0x041E;
const XF: u16 = 0x00E0;
const BOUNDSHEET: u16 = 0x0085;
const NUMBER: u16 = 0x0203;
const RK: u16 = 0x027E;
const MULRK: u16 = 0x00BD;
const FORMULA: u16 = 0x0006;

/// The zero-padded numbers of sheet `sheet` of the XLS file at `path`, as shown. Best effort:
/// calamine has read the values already, so a file this pass cannot read keeps them as they are.
pub(crate) fn zero_padded(path: &Path, sheet: &str) -> Shown {
    let mut found = Shown::new();
    let _ = scan(path, sheet, &mut found);
    found
}

fn scan(path: &Path, sheet: &str, found: &mut Shown) -> std::io::Result<()> {
    let mut book = cfb::open(path)?;
    let mut stream = book.open_stream("/Workbook")?;
    let mut records = Records::default();

    // Globals: formats, cell formats in order, sheets and where each starts.
    let mut formats: Vec<(u16, ZeroPad)> = Vec::new();
    let mut xf_pads: Vec<Option<usize>> = Vec::new();
    let mut start = None;
    while let Some(kind) = records.next(&mut stream)? {
        let d = records.data();
        match kind {
            FORMAT if d.len() >= 5 => {
                let code = xl_string(&d[4..], u16_at(d, 2).into());
                if let Some(pad) = code.and_then(|c| ZeroPad::parse(&c)) {
                    formats.push((u16_at(d, 0), pad));
                }
            }
            XF if d.len() >= 4 => {
                let ifmt = u16_at(d, 2);
                xf_pads.push(formats.iter().position(|(i, _)| *i == ifmt));
            }
            BOUNDSHEET if d.len() >= 8 => {
                let name = xl_string(&d[7..], d[6].into());
                if name.as_deref() == Some(sheet) {
                    start = Some(u32_at(d, 0));
                }
            }
            EOF => break,
            _ => {}
        }
    }
    let Some(start) = start.filter(|_| !formats.is_empty()) else {
        return Ok(());
    };

    // The sheet's number cells.
    stream.seek(SeekFrom::Start(start.into()))?;
    let mut remember = |row: u16, col: u16, xf: u16, value: f64| {
        if let Some(Some(f)) = xf_pads.get(usize::from(xf)) {
            if value.fract() == 0.0 {
                let mut text = String::new();
                write_float(&mut text, value, Some(&formats[*f].1));
                found.insert((row.into(), col.into()), text);
            }
        }
    };
    let mut depth = 0;
    while let Some(kind) = records.next(&mut stream)? {
        let d = records.data();
        match kind {
            // A sheet's substream starts with BOF; an embedded chart has one of its own.
            0x0809 => depth += 1,
            EOF => {
                depth -= 1;
                if depth <= 0 {
                    break;
                }
            }
            NUMBER if d.len() >= 14 => {
                let value = f64::from_le_bytes(d[6..14].try_into().expect("8 bytes"));
                remember(u16_at(d, 0), u16_at(d, 2), u16_at(d, 4), value);
            }
            RK if d.len() >= 10 => {
                remember(u16_at(d, 0), u16_at(d, 2), u16_at(d, 4), rk(u32_at(d, 6)));
            }
            MULRK if d.len() >= 12 => {
                let (row, first) = (u16_at(d, 0), u16_at(d, 2));
                for (i, pair) in d[4..d.len() - 2].chunks_exact(6).enumerate() {
                    let col = first.saturating_add(i as u16);
                    remember(row, col, u16_at(pair, 0), rk(u32_at(pair, 2)));
                }
            }
            // A formula's cached result is a number unless its last two bytes are 0xFFFF.
            FORMULA if d.len() >= 14 && u16_at(d, 12) != 0xFFFF => {
                let value = f64::from_le_bytes(d[6..14].try_into().expect("8 bytes"));
                remember(u16_at(d, 0), u16_at(d, 2), u16_at(d, 4), value);
            }
            _ => {}
        }
    }
    Ok(())
}

/// BIFF records read one after another into a reused buffer.
#[derive(Default)]
struct Records {
    data: Vec<u8>,
}

impl Records {
    /// The next record's type (its data in [`Records::data`]), or `None` at the end.
    fn next(&mut self, stream: &mut impl Read) -> std::io::Result<Option<u16>> {
        let mut head = [0u8; 4];
        match stream.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let len = u16::from_le_bytes([head[2], head[3]]);
        self.data.resize(len.into(), 0);
        stream.read_exact(&mut self.data)?;
        Ok(Some(u16::from_le_bytes([head[0], head[1]])))
    }

    fn data(&self) -> &[u8] {
        &self.data
    }
}

fn u16_at(d: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([d[at], d[at + 1]])
}

fn u32_at(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
}

/// An RK number: a 30-bit integer or the high bits of a double, possibly divided by 100.
fn rk(v: u32) -> f64 {
    let n = if v & 2 != 0 {
        f64::from((v as i32) >> 2)
    } else {
        f64::from_bits(u64::from(v & !3) << 32)
    };
    if v & 1 != 0 {
        n / 100.0
    } else {
        n
    }
}

/// The characters of an XLUnicodeString after its length: a flags byte (bit 0: two bytes a
/// character, else one Latin-1 byte), then `count` characters.
fn xl_string(d: &[u8], count: usize) -> Option<String> {
    let (&flags, chars) = d.split_first()?;
    if flags & 1 != 0 {
        let units: Vec<u16> = chars
            .get(..count * 2)?
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).ok()
    } else {
        Some(chars.get(..count)?.iter().map(|&b| char::from(b)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rk_numbers() {
        assert_eq!(rk((1000 << 2) | 2), 1000.0);
        assert_eq!(rk((12345 << 2) | 3), 123.45);
        assert_eq!(rk(((-7i32) << 2) as u32 | 2), -7.0);
        let bits = (1.5f64.to_bits() >> 32) as u32;
        assert_eq!(rk(bits), 1.5);
    }

    #[test]
    fn strings() {
        assert_eq!(xl_string(b"\x0000000", 5).as_deref(), Some("00000"));
        assert_eq!(xl_string(b"\x01C\x00l\x00", 2).as_deref(), Some("Cl"));
        assert_eq!(xl_string(b"\x00Caf\xe9", 4).as_deref(), Some("Café"));
        assert_eq!(xl_string(b"\x00ab", 5), None);
    }
}
