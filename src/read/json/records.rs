//! Splitting a JSON file into its records without parsing them: the lines of NDJSON, the
//! elements of an array. Records are found in place, in one window over the file that is
//! refilled as it is used, so a record's bytes are never copied; the window grows only for a
//! record longer than itself, and is bounded like a CSV row, so a hostile file costs at most one
//! record's worth of memory, and a record that is not a valid object is still found whole, to
//! become one invalid row. Each record says where it lies in the file, so that a reader that
//! keeps only positions can read it again from there (`diff`, `restore`).

use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::read::extent::Counted;
use crate::read::sniff::{io_error, open_file};
use crate::read::{Extent, Format, ReadError};

/// The longest record kept, as for a CSV row: more is reported on its row and skipped.
pub(super) const MAX_RECORD_BYTES: usize = 32 << 20;

/// The window's size: large enough that refills (and the copy of the record they cut, to the
/// window's start) are rare, small enough to stay in the processor's cache.
const WINDOW: usize = 256 * 1024;

/// What the next record is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Split {
    /// Its bytes are in [`Records::bytes`].
    Text,
    /// An NDJSON line with nothing but white space on it.
    Blank,
    /// Longer than [`MAX_RECORD_BYTES`]; skipped.
    TooLong,
}

/// Where an array scan stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Array {
    /// Before the opening `[`.
    Start,
    /// Inside, before an element (or the closing `]`).
    Inside,
    /// The closing `]` has been read.
    Done,
}

/// The records of one file, in order, with their row numbers.
pub(crate) struct Records {
    input: Counted<File>,
    /// The window: `buf[start..end]` is read from the file and not yet used.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Where `buf[0]` is in the file.
    offset: u64,
    /// The last record [`Records::next`] returned as text, in `buf`.
    record: Range<usize>,
    /// The bytes taken from the file, against its size.
    extent: Extent,
    file: PathBuf,
    lines: bool,
    array: Array,
    /// The 1-based line the reader is on (arrays), for messages.
    line: u64,
    /// The last record's number.
    number: u32,
    /// The line the current array element starts on.
    element_line: u64,
}

impl Records {
    pub(crate) fn open(path: &Path, format: Format) -> Result<Records, ReadError> {
        let file = open_file(path)?;
        let size = file.metadata().map_err(|e| io_error(path, e))?.len();
        let extent = Extent::bytes(size);
        let mut records = Records {
            input: extent.count(file, 0),
            buf: vec![0; WINDOW],
            start: 0,
            end: 0,
            offset: 0,
            record: 0..0,
            extent,
            file: path.to_path_buf(),
            lines: format == Format::Ndjson,
            array: Array::Start,
            line: 1,
            number: 0,
            element_line: 1,
        };
        // A byte-order mark is allowed before the first record.
        while records.end < 3 && records.fill()? > 0 {}
        if records.pending().starts_with(b"\xEF\xBB\xBF") {
            records.start = 3;
        }
        Ok(records)
    }

    /// How far through the file the records are read, for the progress bar.
    pub(crate) fn extent(&self) -> Extent {
        self.extent.clone()
    }

    /// The bytes of the record [`Records::next`] last returned as [`Split::Text`].
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[self.record.clone()]
    }

    /// Where in the file [`Records::bytes`] starts.
    pub(crate) fn at(&self) -> u64 {
        self.offset + self.record.start as u64
    }

    /// The line the last record starts on.
    pub(super) fn line(&self) -> u64 {
        if self.lines {
            u64::from(self.number)
        } else {
            self.element_line
        }
    }

    /// The next record and its row number; `None` at the end. A truncated or garbled array is
    /// an error naming the line, returned after every record before it.
    pub(crate) fn next(&mut self) -> Result<Option<(u32, Split)>, ReadError> {
        self.record = 0..0;
        let record = if self.lines {
            self.next_line()?
        } else {
            self.next_element()?
        };
        self.extent.row(u64::from(self.number));
        Ok(record.map(|r| (self.number, r)))
    }

    /// What is read and not yet used.
    fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Reads more of the file after what is pending, which moves to the window's start (so
    /// positions counted from [`Records::start`] stay true); the window doubles when what is
    /// pending fills it. Returns how many bytes came, 0 at the end of the file.
    fn fill(&mut self) -> Result<usize, ReadError> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.offset += self.start as u64;
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            // Callers stop keeping a record past MAX_RECORD_BYTES, so this stays bounded.
            let len = (self.buf.len() * 2).min(MAX_RECORD_BYTES + WINDOW);
            self.buf.resize(len, 0);
        }
        loop {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error(&self.file, e)),
            }
        }
    }

    /// Drops what is pending, as a record too long to keep is skipped.
    fn discard(&mut self) {
        self.start = self.end;
    }

    fn next_line(&mut self) -> Result<Option<Split>, ReadError> {
        // Bytes of the line already searched for its end.
        let mut searched = 0;
        loop {
            let pending = self.pending();
            let limit = pending.len().min(MAX_RECORD_BYTES + 1);
            if let Some(i) = memchr::memchr(b'\n', &pending[searched..limit]) {
                return Ok(Some(self.take_line(searched + i + 1)));
            }
            searched = limit;
            if pending.len() > MAX_RECORD_BYTES {
                self.number = self.number.saturating_add(1);
                self.skip_line()?;
                return Ok(Some(Split::TooLong));
            }
            if self.fill()? == 0 {
                return Ok((searched > 0).then(|| self.take_line(searched)));
            }
        }
    }

    /// The next `len` pending bytes are a line.
    fn take_line(&mut self, len: usize) -> Split {
        self.number = self.number.saturating_add(1);
        self.record = self.start..self.start + len;
        self.start += len;
        if self.bytes().iter().all(u8::is_ascii_whitespace) {
            self.record = 0..0;
            Split::Blank
        } else {
            Split::Text
        }
    }

    /// Skips to the start of the next line without keeping what is read.
    fn skip_line(&mut self) -> Result<(), ReadError> {
        loop {
            if let Some(i) = memchr::memchr(b'\n', self.pending()) {
                self.start += i + 1;
                return Ok(());
            }
            self.discard();
            if self.fill()? == 0 {
                return Ok(());
            }
        }
    }

    fn next_element(&mut self) -> Result<Option<Split>, ReadError> {
        loop {
            match self.array {
                Array::Done => return self.after_array(),
                Array::Start => match self.skip_space()? {
                    Some(b'[') => {
                        self.start += 1;
                        self.array = Array::Inside;
                    }
                    found => return Err(self.unexpected(found, "a JSON array opening with [")),
                },
                Array::Inside => match self.skip_space()? {
                    Some(b']') => {
                        self.start += 1;
                        self.array = Array::Done;
                    }
                    // A comma where an element belongs (`[,` or `,,`): skipped, as a lenient reader does.
                    Some(b',') => self.start += 1,
                    Some(_) => return self.element().map(Some),
                    None => return Err(self.truncated()),
                },
            }
        }
    }

    /// After the closing `]`: nothing but white space may follow.
    fn after_array(&mut self) -> Result<Option<Split>, ReadError> {
        match self.skip_space()? {
            None => Ok(None),
            found => Err(self.unexpected(found, "the end of the file after the array's ]")),
        }
    }

    /// Finds one element, up to the `,` or `]` that ends it (outside strings and brackets).
    fn element(&mut self) -> Result<Split, ReadError> {
        self.number = self.number.saturating_add(1);
        self.element_line = self.line;
        let mut scan = Scan::default();
        // Bytes of the element already scanned; a too long one is dropped as it is scanned.
        let mut scanned = 0;
        let mut too_long = false;
        loop {
            let pending = &self.buf[self.start..self.end];
            match scan.end(&pending[scanned..], &mut self.line) {
                Some(i) => {
                    let len = scanned + i;
                    // The `,` is used; a `]` is left for `next_element` to close the array.
                    let closing = self.pending()[len] == b']';
                    let text = self.start..self.start + len;
                    self.start += if closing { len } else { len + 1 };
                    if too_long || len > MAX_RECORD_BYTES {
                        return Ok(Split::TooLong);
                    }
                    let trimmed = self.buf[text.clone()].trim_ascii_end().len();
                    self.record = text.start..text.start + trimmed;
                    return Ok(Split::Text);
                }
                None => scanned = self.end - self.start,
            }
            if scanned > MAX_RECORD_BYTES {
                too_long = true;
            }
            if too_long {
                self.discard();
                scanned = 0;
            }
            if self.fill()? == 0 {
                return Err(self.truncated());
            }
        }
    }

    /// Skips white space (counting lines) and returns the next byte without using it.
    fn skip_space(&mut self) -> Result<Option<u8>, ReadError> {
        loop {
            let pending = &self.buf[self.start..self.end];
            match pending.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) => {
                    self.line += memchr::memchr_iter(b'\n', &pending[..i]).count() as u64;
                    let b = pending[i];
                    self.start += i;
                    return Ok(Some(b));
                }
                None => {
                    self.line += memchr::memchr_iter(b'\n', pending).count() as u64;
                    self.discard();
                    if self.fill()? == 0 {
                        return Ok(None);
                    }
                }
            }
        }
    }

    fn unexpected(&self, found: Option<u8>, expected: &str) -> ReadError {
        let found = match found {
            None => "the end of the file".to_string(),
            Some(b) if b.is_ascii_graphic() => format!("{:?}", char::from(b)),
            Some(b) => format!("the byte 0x{b:02X}"),
        };
        ReadError::Json {
            file: self.file.clone(),
            line: self.line,
            reason: format!("expected {expected}, found {found}"),
        }
    }

    fn truncated(&self) -> ReadError {
        let inside = if self.number > 0 {
            format!(" (in or after element {})", self.number)
        } else {
            String::new()
        };
        ReadError::Json {
            file: self.file.clone(),
            line: self.line,
            reason: format!(
                "the JSON array ends before its closing ]{inside}; the file is truncated or \
                 damaged, and the records after this point cannot be read"
            ),
        }
    }
}

/// Where the scan of an array element stands, kept across refills.
#[derive(Default)]
struct Scan {
    depth: u32,
    in_string: bool,
    escaped: bool,
}

impl Scan {
    /// The position in `bytes` of the `,` or `]` that ends the element, if they hold it;
    /// counts the lines it passes.
    fn end(&mut self, bytes: &[u8], line: &mut u64) -> Option<usize> {
        for (i, &b) in bytes.iter().enumerate() {
            if self.in_string {
                match b {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' if self.depth > 0 => self.depth -= 1,
                b',' | b']' if self.depth == 0 => return Some(i),
                b'\n' => *line += 1,
                _ => {}
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(format: Format, text: &str) -> (Vec<(u32, String)>, Option<String>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        std::fs::write(&path, text).unwrap();
        let mut r = Records::open(&path, format).unwrap();
        let mut out = Vec::new();
        loop {
            match r.next() {
                Ok(Some((n, Split::Text))) => {
                    out.push((n, String::from_utf8(r.bytes().to_vec()).unwrap()))
                }
                Ok(Some((n, kind))) => out.push((n, format!("{kind:?}"))),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e.to_string())),
            }
        }
    }

    #[test]
    fn array_elements_split_outside_strings_and_brackets() {
        let (records, err) = all(
            Format::Json,
            "\u{feff}[\n{\"a\": \"x,]\\\"}\"},\n {\"b\": [1, {\"c\": 2}]} , 42,\"s\"\n]\n",
        );
        assert_eq!(err, None, "{records:?}");
        assert_eq!(
            records,
            [
                (1, r#"{"a": "x,]\"}"}"#.to_string()),
                (2, r#"{"b": [1, {"c": 2}]}"#.to_string()),
                (3, "42".to_string()),
                (4, "\"s\"".to_string()),
            ]
        );
        assert_eq!(all(Format::Json, " [ ] ").0, []);
    }

    #[test]
    fn a_truncated_array_is_an_error_after_the_elements_before_it() {
        let (records, err) = all(Format::Json, "[\n{\"a\": 1},\n{\"a\": 2},\n{\"a\": ");
        assert_eq!(records.len(), 2);
        let err = err.unwrap();
        assert!(err.contains("line 4"), "{err}");
        assert!(err.contains("truncated"), "{err}");
        let (_, err) = all(Format::Json, "[{\"a\": 1}] x");
        assert!(err.unwrap().contains("found 'x'"));
    }

    #[test]
    fn ndjson_lines_are_numbered_and_blank_lines_kept() {
        let (records, err) = all(Format::Ndjson, "{\"a\":1}\r\n\n  \n{\"a\":2}");
        assert_eq!(err, None);
        assert_eq!(
            records,
            [
                (1, "{\"a\":1}\r\n".to_string()),
                (2, "Blank".to_string()),
                (3, "Blank".to_string()),
                (4, "{\"a\":2}".to_string()),
            ]
        );
    }

    /// Records that straddle refills, and one longer than the window, are found whole, and
    /// each says truly where it lies in the file.
    #[test]
    fn records_across_refills_are_whole_and_placed() {
        let dir = tempfile::tempdir().unwrap();
        let long = "y".repeat(WINDOW + 1000);
        let texts: Vec<String> = (0..20_000)
            .map(|i| match i {
                7_000 => format!("{{\"long\":\"{long}\"}}"),
                _ => format!("{{\"id\":{i},\"pad\":\"{}\"}}", "x".repeat(i % 37)),
            })
            .collect();
        for format in [Format::Ndjson, Format::Json] {
            let text = match format {
                Format::Ndjson => texts.join("\n"),
                _ => format!("[{}]", texts.join(",\n")),
            };
            let path = dir.path().join("x.json");
            std::fs::write(&path, &text).unwrap();
            let mut r = Records::open(&path, format).unwrap();
            let mut n = 0;
            while let Some((number, kind)) = r.next().unwrap() {
                assert_eq!(kind, Split::Text);
                let at = r.at() as usize;
                assert_eq!(r.bytes(), &text.as_bytes()[at..at + r.bytes().len()]);
                assert_eq!(
                    r.bytes().trim_ascii(),
                    texts[n].as_bytes(),
                    "record {number}"
                );
                n += 1;
            }
            assert_eq!(n, texts.len());
        }
    }
}
