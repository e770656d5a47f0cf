//! Sheet XML: rows and cells as bytes, and text escaped so that it reads back as written.

use std::io::Write;

use super::{Style, FLUSH_AT};

/// Rows of one sheet as XML, written in order: `row`, then its cells left to right.
pub(in crate::annotate) struct SheetXml {
    pub buf: Vec<u8>,
    /// The current row's number (1-based) as text, for cell references.
    row_ref: Vec<u8>,
    in_row: bool,
    /// The column a cell may take without naming it: the one after the last cell written.
    next_col: u32,
}

impl SheetXml {
    pub fn new() -> SheetXml {
        SheetXml {
            buf: Vec::with_capacity(FLUSH_AT * 2),
            row_ref: Vec::with_capacity(8),
            in_row: false,
            next_col: u32::MAX,
        }
    }

    /// Starts row `row` (0-based), closing the previous one.
    pub fn row(&mut self, row: u32) {
        self.end_row();
        self.row_ref.clear();
        let _ = write!(self.row_ref, "{}", row + 1);
        self.buf.extend_from_slice(b"<row r=\"");
        self.buf.extend_from_slice(&self.row_ref);
        self.buf.extend_from_slice(b"\">");
        self.in_row = true;
        self.next_col = u32::MAX;
    }

    pub fn end_row(&mut self) {
        if self.in_row {
            self.buf.extend_from_slice(b"</row>");
            self.in_row = false;
        }
    }

    /// `<c r="B7"`, or just `<c` for the cell right after the previous one: the reference is
    /// optional there (ECMA-376 §18.3.1.4, and Excel, LibreOffice, Google Sheets and calamine
    /// read it so), and leaving it out makes the sheet a sixth smaller to write and compress.
    fn cell_start(&mut self, col: u16, style: Style) {
        if u32::from(col) == self.next_col {
            self.buf.extend_from_slice(b"<c");
        } else {
            self.buf.extend_from_slice(b"<c r=\"");
            push_col(&mut self.buf, col);
            self.buf.extend_from_slice(&self.row_ref);
            self.buf.push(b'"');
        }
        self.next_col = u32::from(col) + 1;
        if style != Style::Plain {
            self.buf.extend_from_slice(b" s=\"");
            self.buf.push(b'0' + style as u8);
            self.buf.push(b'"');
        }
    }

    /// A text cell, kept as text whatever it looks like.
    pub fn string(&mut self, col: u16, text: &str, style: Style) {
        self.text_cell(col, text, style, false);
    }

    /// Like [`SheetXml::string`]; `plain` says the caller knows `text` has nothing to escape
    /// (see [`needs_escape`], run once over a whole row).
    pub fn text_cell(&mut self, col: u16, text: &str, style: Style, plain: bool) {
        self.buf.reserve(text.len() + 64);
        self.cell_start(col, style);
        if needs_preserve(text) {
            self.buf
                .extend_from_slice(b" t=\"inlineStr\"><is><t xml:space=\"preserve\">");
        } else {
            self.buf.extend_from_slice(b" t=\"inlineStr\"><is><t>");
        }
        if plain {
            self.buf.extend_from_slice(text.as_bytes());
        } else {
            push_escaped(&mut self.buf, text, false);
        }
        self.buf.extend_from_slice(b"</t></is></c>");
    }

    /// An empty cell that still shows its style (a required value that is missing).
    pub fn blank(&mut self, col: u16, style: Style) {
        self.cell_start(col, style);
        self.buf.extend_from_slice(b"/>");
    }

    pub fn number(&mut self, col: u16, n: u64) {
        self.cell_start(col, Style::Plain);
        let _ = write!(self.buf, "><v>{n}</v></c>");
    }
}

/// Column letters: 0 → `A`, 27 → `AB`.
pub(super) fn push_col(buf: &mut Vec<u8>, col: u16) {
    let mut letters = [0u8; 3];
    let mut n = col as usize + 1;
    let mut i = 3;
    while n > 0 {
        i -= 1;
        letters[i] = b'A' + ((n - 1) % 26) as u8;
        n = (n - 1) / 26;
    }
    buf.extend_from_slice(&letters[i..]);
}

/// `<t>text</t>`, with `xml:space="preserve"` when spaces at either end must survive.
pub(super) fn push_t(buf: &mut Vec<u8>, text: &str) {
    if needs_preserve(text) {
        buf.extend_from_slice(b"<t xml:space=\"preserve\">");
    } else {
        buf.extend_from_slice(b"<t>");
    }
    push_escaped(buf, text, false);
    buf.extend_from_slice(b"</t>");
}

/// Whether `text` starts or ends with white space, which readers drop unless told to keep it.
/// Looks at bytes; decodes a character only when an end is not ASCII.
fn needs_preserve(text: &str) -> bool {
    match (text.as_bytes().first(), text.as_bytes().last()) {
        (Some(f), Some(l)) if f.is_ascii() && l.is_ascii() => {
            f.is_ascii_whitespace() || l.is_ascii_whitespace()
        }
        (Some(_), Some(_)) => {
            text.starts_with(char::is_whitespace) || text.ends_with(char::is_whitespace)
        }
        _ => false,
    }
}

/// Bytes that need a look: XML's specials, control characters, `_` (Excel reads `_x0041_`
/// as an escape) and the lead byte of U+FFFE/U+FFFF. A table, because every cell is scanned
/// (measured: fewer instructions than comparisons, even folded over chunks).
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b != b'\t' as usize && b != b'\n' as usize;
        b += 1;
    }
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'&' as usize] = true;
    t[b'"' as usize] = true;
    t[b'_' as usize] = true;
    t[0xEF] = true;
    t
};

/// Whether `text` has a byte that [`push_escaped`] must look at. Branch-free, so the whole
/// text of a row is one pass of vector code rather than a table lookup per byte of each cell.
pub(in crate::annotate) fn needs_escape(text: &str) -> bool {
    text.bytes().fold(0u8, |acc, b| {
        let control = (b < 0x20) & (b != b'\t') & (b != b'\n');
        let markup = (b == b'<') | (b == b'>') | (b == b'&') | (b == b'"');
        acc | u8::from(control | markup | (b == b'_') | (b == 0xEF))
    }) != 0
}

/// Escapes `text` for XML content (and attributes when `attr`): the usual entities, and
/// characters XML cannot hold as Excel's `_xHHHH_`, so they read back as they were.
pub(super) fn push_escaped(buf: &mut Vec<u8>, text: &str, attr: bool) {
    let bytes = text.as_bytes();
    if !bytes.iter().any(|&b| SPECIAL[b as usize]) {
        buf.extend_from_slice(bytes);
        return;
    }
    for (i, c) in text.char_indices() {
        match c {
            '<' => buf.extend_from_slice(b"&lt;"),
            '>' => buf.extend_from_slice(b"&gt;"),
            '&' => buf.extend_from_slice(b"&amp;"),
            '"' if attr => buf.extend_from_slice(b"&quot;"),
            '\t' | '\n' => buf.push(c as u8),
            // A literal `_xHHHH_` would read back as the character it names: escape its `_`.
            '_' if looks_escaped(&bytes[i..]) => buf.extend_from_slice(b"_x005F_"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(buf, "_x{:04X}_", c as u32);
            }
            c => {
                let mut tmp = [0u8; 4];
                buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
        }
    }
}

/// `_xHHHH_` at the start of `bytes`.
fn looks_escaped(bytes: &[u8]) -> bool {
    bytes.len() >= 7
        && bytes[1] == b'x'
        && bytes[2..6].iter().all(u8::is_ascii_hexdigit)
        && bytes[6] == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str) -> String {
        let mut v = Vec::new();
        push_escaped(&mut v, s, false);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn text_is_escaped_so_it_reads_back_as_written() {
        assert_eq!(esc("01000"), "01000");
        assert_eq!(esc("a<b & c>d"), "a&lt;b &amp; c&gt;d");
        assert_eq!(esc("x\u{1}y"), "x_x0001_y");
        assert_eq!(esc("_x0041_"), "_x005F_x0041_");
        assert_eq!(esc("snake_case"), "snake_case");
        assert_eq!(esc("مخبزة مارتن"), "مخبزة مارتن");
        let long = format!("{}<{}", "a".repeat(40), "b".repeat(40));
        assert_eq!(esc(&long), long.replace('<', "&lt;"));
        assert_eq!(esc(&"é".repeat(40)), "é".repeat(40));
    }

    #[test]
    fn rows_that_need_no_escaping_are_told_apart() {
        for c in (0..0x800)
            .filter_map(char::from_u32)
            .chain(['\u{FFFE}', '\u{FFFF}'])
        {
            let text = format!("ab{c}cd");
            let special = text.bytes().any(|b| SPECIAL[usize::from(b)]);
            assert_eq!(needs_escape(&text), special, "{c:?}");
        }
        assert!(!needs_escape("Boulangerie Martin مخبزة مارتن 01000"));
    }

    #[test]
    fn spaces_at_either_end_are_kept() {
        assert!(needs_preserve(" Lyon"));
        assert!(needs_preserve("Lyon\n"));
        assert!(needs_preserve("\u{a0}Lyon"));
        assert!(!needs_preserve("Lyon"));
        assert!(!needs_preserve(""));
        assert!(!needs_preserve("مخبزة مارتن"));
    }

    #[test]
    fn columns_are_spelt_as_excel_does() {
        let col = |c| {
            let mut v = Vec::new();
            push_col(&mut v, c);
            String::from_utf8(v).unwrap()
        };
        assert_eq!(col(0), "A");
        assert_eq!(col(25), "Z");
        assert_eq!(col(26), "AA");
        assert_eq!(col(16383), "XFD");
    }
}
