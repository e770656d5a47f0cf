//! Splitting a JSON file into its records without parsing them: the lines of NDJSON, the
//! elements of an array. Each record's bytes land in one reused buffer, bounded like a CSV row,
//! so a hostile file costs at most one record's worth of memory, and a record that is not a
//! valid object is still found whole, to become one invalid row.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::read::extent::Counted;
use crate::read::sniff::{io_error, open_file};
use crate::read::{Extent, Format, ReadError};

/// The longest record kept, as for a CSV row: more is reported on its row and skipped.
pub(super) const MAX_RECORD_BYTES: usize = 32 << 20;

/// What the next record is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Record {
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
    reader: BufReader<Counted<File>>,
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
    buf: Vec<u8>,
}

impl Records {
    pub(crate) fn open(path: &Path, format: Format) -> Result<Records, ReadError> {
        let file = open_file(path)?;
        let size = file.metadata().map_err(|e| io_error(path, e))?.len();
        let extent = Extent::bytes(size);
        let mut reader = BufReader::with_capacity(64 * 1024, extent.count(file, 0));
        // A byte-order mark is allowed before the first record.
        let head = reader.fill_buf().map_err(|e| io_error(path, e))?;
        if head.starts_with(b"\xEF\xBB\xBF") {
            reader.consume(3);
        }
        Ok(Records {
            reader,
            extent,
            file: path.to_path_buf(),
            lines: format == Format::Ndjson,
            array: Array::Start,
            line: 1,
            number: 0,
            element_line: 1,
            buf: Vec::new(),
        })
    }

    /// How far through the file the records are read, for the progress bar.
    pub(crate) fn extent(&self) -> Extent {
        self.extent.clone()
    }

    /// The bytes of the record [`Records::next`] last returned as [`Record::Text`].
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf
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
    pub(crate) fn next(&mut self) -> Result<Option<(u32, Record)>, ReadError> {
        let record = if self.lines {
            self.next_line()?
        } else {
            self.next_element()?
        };
        self.extent.row(u64::from(self.number));
        Ok(record.map(|r| (self.number, r)))
    }

    fn next_line(&mut self) -> Result<Option<Record>, ReadError> {
        self.buf.clear();
        let limit = MAX_RECORD_BYTES as u64 + 1;
        let n = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| io_error(&self.file, e))?;
        if n == 0 {
            return Ok(None);
        }
        self.number = self.number.saturating_add(1);
        if !self.buf.ends_with(b"\n") && self.buf.len() > MAX_RECORD_BYTES {
            self.skip_line()?;
            return Ok(Some(Record::TooLong));
        }
        let blank = self.buf.iter().all(u8::is_ascii_whitespace);
        Ok(Some(if blank { Record::Blank } else { Record::Text }))
    }

    /// Skips to the start of the next line without keeping what is read.
    fn skip_line(&mut self) -> Result<(), ReadError> {
        loop {
            let chunk = self
                .reader
                .fill_buf()
                .map_err(|e| io_error(&self.file, e))?;
            if chunk.is_empty() {
                return Ok(());
            }
            match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.reader.consume(i + 1);
                    return Ok(());
                }
                None => {
                    let n = chunk.len();
                    self.reader.consume(n);
                }
            }
        }
    }

    fn next_element(&mut self) -> Result<Option<Record>, ReadError> {
        self.buf.clear();
        loop {
            match self.array {
                Array::Done => return self.after_array(),
                Array::Start => match self.skip_space()? {
                    Some(b'[') => {
                        self.reader.consume(1);
                        self.array = Array::Inside;
                    }
                    found => return Err(self.unexpected(found, "a JSON array opening with [")),
                },
                Array::Inside => match self.skip_space()? {
                    Some(b']') => {
                        self.reader.consume(1);
                        self.array = Array::Done;
                    }
                    // A comma where an element belongs (`[,` or `,,`): skipped, as a lenient reader does.
                    Some(b',') => self.reader.consume(1),
                    Some(_) => return self.element().map(Some),
                    None => return Err(self.truncated()),
                },
            }
        }
    }

    /// After the closing `]`: nothing but white space may follow.
    fn after_array(&mut self) -> Result<Option<Record>, ReadError> {
        match self.skip_space()? {
            None => Ok(None),
            found => Err(self.unexpected(found, "the end of the file after the array's ]")),
        }
    }

    /// Reads one element up to the `,` or `]` that ends it (outside strings and brackets).
    fn element(&mut self) -> Result<Record, ReadError> {
        self.number = self.number.saturating_add(1);
        self.element_line = self.line;
        let (mut depth, mut in_string, mut escaped) = (0u32, false, false);
        let mut too_long = false;
        loop {
            let chunk = self
                .reader
                .fill_buf()
                .map_err(|e| io_error(&self.file, e))?;
            if chunk.is_empty() {
                return Err(self.truncated());
            }
            let mut end = None;
            for (i, &b) in chunk.iter().enumerate() {
                if in_string {
                    match b {
                        _ if escaped => escaped = false,
                        b'\\' => escaped = true,
                        b'"' => in_string = false,
                        _ => {}
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => depth -= 1,
                    b',' | b']' if depth == 0 => {
                        end = Some(i);
                        break;
                    }
                    b'\n' => self.line += 1,
                    _ => {}
                }
            }
            let used = end.unwrap_or(chunk.len());
            if !too_long {
                if self.buf.len() + used > MAX_RECORD_BYTES {
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(&chunk[..used]);
                }
            }
            match end {
                Some(i) => {
                    // The `,` is consumed; a `]` is left for `next_element` to close the array.
                    let closing = chunk[i] == b']';
                    self.reader.consume(if closing { i } else { i + 1 });
                    break;
                }
                None => self.reader.consume(used),
            }
        }
        while self.buf.last().is_some_and(u8::is_ascii_whitespace) {
            self.buf.pop();
        }
        Ok(if too_long {
            Record::TooLong
        } else {
            Record::Text
        })
    }

    /// Skips white space (counting lines) and returns the next byte without consuming it.
    fn skip_space(&mut self) -> Result<Option<u8>, ReadError> {
        loop {
            let chunk = self
                .reader
                .fill_buf()
                .map_err(|e| io_error(&self.file, e))?;
            if chunk.is_empty() {
                return Ok(None);
            }
            match chunk.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) => {
                    self.line += chunk[..i].iter().filter(|&&b| b == b'\n').count() as u64;
                    let b = chunk[i];
                    self.reader.consume(i);
                    return Ok(Some(b));
                }
                None => {
                    let n = chunk.len();
                    self.line += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
                    self.reader.consume(n);
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
                Ok(Some((n, Record::Text))) => {
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
}
