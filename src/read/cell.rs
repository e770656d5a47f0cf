//! Spreadsheet cells as the text a person sees in the cell.
//!
//! Numbers are where spreadsheets lose data: `1000` must not become `1000.0`, a SIRET typed as a
//! number must not become `5.5212022200013E+13`, and a zip code shown as `01000` through a
//! `00000` number format must keep its zero. Dates become ISO 8601. Writers append to a reused
//! `String`, so no cell allocates once buffers have grown.

use std::fmt::Write;

use calamine::{Data, DataRef, ExcelDateTime};

/// A number format that pads integers with zeros, such as `00000` or `"FR-"000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ZeroPad {
    pub width: usize,
    pub prefix: String,
    pub suffix: String,
}

impl ZeroPad {
    /// Parses an Excel number format code; `Some` only for literal text around a run of at
    /// least two `0`s (the first section of the format, the one for positive numbers).
    pub fn parse(code: &str) -> Option<ZeroPad> {
        let mut prefix = String::new();
        let mut suffix = String::new();
        let mut width = 0usize;
        let mut zeros_done = false;
        let mut chars = code.chars();
        while let Some(c) = chars.next() {
            let literal = match c {
                ';' => break,
                '0' if !zeros_done => {
                    width += 1;
                    continue;
                }
                '"' => {
                    let mut text = String::new();
                    for q in chars.by_ref() {
                        if q == '"' {
                            break;
                        }
                        text.push(q);
                    }
                    text
                }
                '\\' => chars.next().map(String::from).unwrap_or_default(),
                // Colour and condition sections like [Red] change nothing we print.
                '[' => {
                    for q in chars.by_ref() {
                        if q == ']' {
                            break;
                        }
                    }
                    continue;
                }
                // `_x` leaves the width of x blank; `*x` repeats x to fill: neither is content.
                '_' | '*' => {
                    chars.next();
                    continue;
                }
                '-' | ' ' | '(' | ')' | '/' | ':' | '+' | '$' => c.to_string(),
                _ => return None,
            };
            if width == 0 {
                prefix.push_str(&literal);
            } else {
                zeros_done = true;
                suffix.push_str(&literal);
            }
        }
        (width >= 2).then_some(ZeroPad {
            width,
            prefix,
            suffix,
        })
    }
}

/// Appends a calamine streamed value (XLSX, XLSB) to `out`.
pub(crate) fn write_ref(out: &mut String, value: &DataRef<'_>, pad: Option<&ZeroPad>) {
    match value {
        DataRef::SharedString(s) => out.push_str(s),
        DataRef::String(s) => out.push_str(s),
        DataRef::Int(i) => write_int(out, *i, pad),
        DataRef::Float(f) => write_float(out, *f, pad),
        DataRef::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        DataRef::DateTime(d) => write_datetime(out, d),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => out.push_str(s),
        DataRef::Error(e) => {
            let _ = write!(out, "{e}");
        }
        DataRef::Empty => {}
    }
}

/// Appends a calamine range value (XLS, ODS) to `out`.
pub(crate) fn write_data(out: &mut String, value: &Data) {
    match value {
        Data::String(s) => out.push_str(s),
        Data::Int(i) => write_int(out, *i, None),
        Data::Float(f) => write_float(out, *f, None),
        Data::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Data::DateTime(d) => write_datetime(out, d),
        Data::DateTimeIso(s) | Data::DurationIso(s) => out.push_str(s),
        Data::Error(e) => {
            let _ = write!(out, "{e}");
        }
        Data::Empty => {}
    }
}

pub(crate) fn is_empty_ref(value: &DataRef<'_>) -> bool {
    match value {
        DataRef::Empty => true,
        DataRef::SharedString(s) => s.is_empty(),
        DataRef::String(s) => s.is_empty(),
        _ => false,
    }
}

/// Largest integer below which every f64 integer is exact; beyond it `{}` still prints digits.
const EXACT: f64 = 9_007_199_254_740_992.0;

fn write_int(out: &mut String, value: i64, pad: Option<&ZeroPad>) {
    match pad {
        Some(p) => {
            out.push_str(&p.prefix);
            if value < 0 {
                out.push('-');
            }
            let _ = write!(out, "{:0width$}", value.unsigned_abs(), width = p.width);
            out.push_str(&p.suffix);
        }
        None => push_i64(out, value),
    }
}

/// Whole numbers print without `.0`; others in the shortest form that reads back to the same
/// number, never with an exponent (Rust's `Display` for floats does not use one).
pub(super) fn write_float(out: &mut String, value: f64, pad: Option<&ZeroPad>) {
    if value.fract() == 0.0 && value.abs() < EXACT {
        write_int(out, value as i64, pad);
    } else {
        let _ = write!(out, "{value}");
    }
}

/// Integer to decimal without going through `fmt`: this runs for every numeric cell.
fn push_i64(out: &mut String, value: i64) {
    let mut buf = [0u8; 20];
    let mut n = value.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if value < 0 {
        out.push('-');
    }
    // The buffer holds ASCII digits only.
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
}

/// ISO 8601: `2024-03-01`, `2024-03-01T10:30:00`, a bare time `10:30:00`, a duration `36:00:00`.
fn write_datetime(out: &mut String, value: &ExcelDateTime) {
    let serial = value.as_f64();
    if value.is_duration() {
        let total = (serial * 86_400.0).round() as i64;
        let sign = if total < 0 { "-" } else { "" };
        let t = total.unsigned_abs();
        let _ = write!(
            out,
            "{sign}{:02}:{:02}:{:02}",
            t / 3600,
            t / 60 % 60,
            t % 60
        );
        return;
    }
    let (y, mo, d, h, mi, s, ms) = value.to_ymd_hms_milli();
    let has_time = h != 0 || mi != 0 || s != 0 || ms != 0;
    if (0.0..1.0).contains(&serial) {
        let _ = write!(out, "{h:02}:{mi:02}:{s:02}");
    } else {
        let _ = write!(out, "{y:04}-{mo:02}-{d:02}");
        if has_time {
            let _ = write!(out, "T{h:02}:{mi:02}:{s:02}");
        }
    }
    if has_time && ms != 0 {
        let _ = write!(out, ".{ms:03}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::ExcelDateTimeType;

    fn show(v: DataRef<'_>, pad: Option<&ZeroPad>) -> String {
        let mut s = String::from("stale");
        s.clear();
        write_ref(&mut s, &v, pad);
        s
    }

    #[test]
    fn numbers_print_as_seen() {
        assert_eq!(show(DataRef::Float(1000.0), None), "1000");
        assert_eq!(show(DataRef::Float(-3.0), None), "-3");
        assert_eq!(show(DataRef::Float(12.5), None), "12.5");
        assert_eq!(show(DataRef::Float(0.1 + 0.2), None), "0.30000000000000004");
        assert_eq!(
            show(DataRef::Float(55212022200013.0), None),
            "55212022200013"
        );
        assert_eq!(show(DataRef::Float(1e20), None), "100000000000000000000");
        assert_eq!(show(DataRef::Float(1.5e-7), None), "0.00000015");
        assert_eq!(show(DataRef::Int(i64::MIN), None), "-9223372036854775808");
        assert_eq!(show(DataRef::Int(0), None), "0");
    }

    #[test]
    fn zero_padded_formats() {
        let pad = ZeroPad::parse("00000").unwrap();
        assert_eq!(show(DataRef::Float(1000.0), Some(&pad)), "01000");
        assert_eq!(show(DataRef::Int(75001), Some(&pad)), "75001");
        assert_eq!(show(DataRef::Float(10.5), Some(&pad)), "10.5");
        let lit = ZeroPad::parse("\"FR-\"000").unwrap();
        assert_eq!(show(DataRef::Int(7), Some(&lit)), "FR-007");
        assert_eq!(ZeroPad::parse("0"), None);
        assert_eq!(ZeroPad::parse("General"), None);
        assert_eq!(ZeroPad::parse("#,##0"), None);
        assert_eq!(ZeroPad::parse("0.00"), None);
        assert_eq!(ZeroPad::parse("@"), None);
        assert_eq!(ZeroPad::parse("00000;[Red]-00000").unwrap().width, 5);
        assert_eq!(ZeroPad::parse("000\\ 000"), None);
        assert_eq!(
            ZeroPad::parse("00000\\ \"cedex\"").unwrap().suffix,
            " cedex"
        );
    }

    #[test]
    fn other_values() {
        assert_eq!(show(DataRef::Bool(true), None), "true");
        assert_eq!(
            show(DataRef::Error(calamine::CellErrorType::NA), None),
            "#N/A"
        );
        assert_eq!(show(DataRef::SharedString("01000"), None), "01000");
        let date = ExcelDateTime::new(45352.0, ExcelDateTimeType::DateTime, false);
        assert_eq!(show(DataRef::DateTime(date), None), "2024-03-01");
        let dt = ExcelDateTime::new(45352.4375, ExcelDateTimeType::DateTime, false);
        assert_eq!(show(DataRef::DateTime(dt), None), "2024-03-01T10:30:00");
        let time = ExcelDateTime::new(0.4375, ExcelDateTimeType::DateTime, false);
        assert_eq!(show(DataRef::DateTime(time), None), "10:30:00");
        let dur = ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false);
        assert_eq!(show(DataRef::DateTime(dur), None), "36:00:00");
    }
}
