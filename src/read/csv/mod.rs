//! CSV sources: the delimiter, encoding and BOM that spreadsheet programs choose, detected from
//! the first 64 KiB, then a streaming record loop that decodes fields into reused buffers.
//!
//! French Excel writes `;`-separated Windows-1252 files, Arabic Excel Windows-1256; LibreOffice
//! UTF-8 with `,`; Excel's "Unicode text" is tab-separated UTF-16. UTF-8 files are read as bytes and each field is
//! checked; a field that is not UTF-8 in a UTF-8 file is decoded as Windows-1252 (its likeliest
//! origin) and is an error on its row, so that it is looked at rather than imported as a guess.
//! Other encodings are transcoded to UTF-8 on the fly before parsing.

use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

use super::sniff::{io_error, open_file};
use super::{threaded, Extent, ReadError, ReadOptions, Row, RowIssue};

mod detect;
mod records;
mod transcode;

use detect::{choose_encoding, detect_delimiter};
use records::{Record, Records};
use transcode::{RecordLimit, Transcoder};

/// How much of the file detection looks at.
pub(crate) const PREFIX: usize = 64 * 1024;

/// Tokenises the file into records and numbers them as the user's spreadsheet would; the
/// half of CSV reading that may run on a background thread.
pub(crate) struct Tokenizer {
    reader: Records,
    /// Where the last record ended, for [`RecordLimit`].
    record_end: Arc<AtomicU64>,
    record: Record,
    file: PathBuf,
    /// The file ends its lines with CRLF: a record's `\n` is consumed by the next read.
    crlf: bool,
    /// Row number the next row gets.
    next_number: u32,
    /// Line counter of the record reader after the previous record.
    last_line: u64,
    records: u64,
    /// Blank lines still to hand out before `record`.
    blanks: u64,
    /// For a UTF-8 file whose last line has no line ending: the stream length, where the last
    /// record ends without consuming a newline.
    unterminated_end: Option<u64>,
    /// `record` holds a record not handed out yet (blank lines came first).
    held: bool,
    /// Told each row number, for the progress bar's estimate of the rows.
    extent: Extent,
}

/// One record as the tokenizer hands it over: the row number and the raw field bytes.
#[derive(Default)]
pub(crate) struct RawRecord {
    number: u32,
    /// A blank line: `record` is stale.
    blank: bool,
    record: Record,
    /// The record decoded into cells, when the tokenizer's thread did it (`decoded`).
    row: Row,
    decoded: bool,
}

/// CSV rows: records from the tokenizer (here or on its thread), decoded into text cells.
pub(crate) struct CsvSource {
    input: Input,
    /// The tokenizer is to move to a thread of its own when the rows are wanted ([`CsvSource::start`]).
    background: bool,
    raw: RawRecord,
    encoding: &'static Encoding,
    delimiter: u8,
    /// The bytes taken from the file, against its size.
    extent: Extent,
}

enum Input {
    Here(Box<Tokenizer>),
    Thread(threaded::Receiver<RawRecord>),
    /// Moving from here to a thread.
    Moving,
}

impl CsvSource {
    /// Detects encoding and delimiter, ready to tokenise; on a background thread once the
    /// rows below the header are wanted ([`CsvSource::start`]) when `background` is true.
    pub fn open(path: &Path, opts: &ReadOptions, background: bool) -> Result<CsvSource, ReadError> {
        let mut file = open_file(path)?;
        let mut prefix = Vec::with_capacity(PREFIX);
        (&mut file)
            .take(PREFIX as u64)
            .read_to_end(&mut prefix)
            .map_err(|e| io_error(path, e))?;
        let whole = prefix.len() < PREFIX;
        let (encoding, bom) = choose_encoding(path, &prefix, whole, opts.encoding.as_deref())?;
        let body = &prefix[bom..];
        // Detection runs on UTF-8 (or ASCII-compatible) bytes: decode UTF-16 and the like first.
        let decoded;
        let text: &[u8] = if encoding == UTF_8 || encoding.is_single_byte() {
            body
        } else {
            decoded = encoding.decode_without_bom_handling(body).0.into_owned();
            decoded.as_bytes()
        };
        let delimiter = match opts.delimiter {
            Some(d) => d,
            None => detect_delimiter(text, whole),
        };
        let crlf = text
            .iter()
            .position(|&b| b == b'\n')
            .is_some_and(|i| i > 0 && text[i - 1] == b'\r');
        let unterminated_end = if encoding == UTF_8 {
            let len = file.seek(SeekFrom::End(0)).map_err(|e| io_error(path, e))?;
            let mut last = [0u8];
            if len > bom as u64 {
                file.seek(SeekFrom::End(-1))
                    .map_err(|e| io_error(path, e))?;
                file.read_exact(&mut last).map_err(|e| io_error(path, e))?;
            }
            file.seek(SeekFrom::Start(prefix.len() as u64))
                .map_err(|e| io_error(path, e))?;
            (!matches!(last[0], b'\n' | b'\r')).then_some(len - bom as u64)
        } else {
            None
        };
        let size = file.metadata().map_err(|e| io_error(path, e))?.len();
        let extent = Extent::bytes(size);
        // The prefix already read, then the rest of the file: nothing is read twice.
        let mut head = Cursor::new(prefix);
        head.set_position(bom as u64);
        let file = extent.count(head.chain(file), bom as u64);
        let record_end = Arc::new(AtomicU64::new(0));
        let input: Box<dyn Read + Send> = if encoding == UTF_8 {
            Box::new(RecordLimit::new(file, record_end.clone()))
        } else {
            Box::new(RecordLimit::new(
                Transcoder::new(file, encoding),
                record_end.clone(),
            ))
        };
        let reader = Records::new(input, delimiter);
        let tokenizer = Tokenizer {
            reader,
            record_end,
            record: Record::default(),
            file: path.to_path_buf(),
            crlf,
            next_number: 1,
            last_line: 1,
            records: 0,
            blanks: 0,
            unterminated_end,
            held: false,
            extent: extent.clone(),
        };
        Ok(CsvSource {
            input: Input::Here(Box::new(tokenizer)),
            background,
            raw: RawRecord::default(),
            encoding,
            delimiter,
            extent,
        })
    }

    pub fn extent(&self) -> Extent {
        self.extent.clone()
    }

    pub fn encoding_name(&self) -> &'static str {
        self.encoding.name()
    }

    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// Moves the tokenizer to a thread of its own, when it is to go and has not gone yet.
    pub fn start(&mut self) {
        if !std::mem::take(&mut self.background) {
            return;
        }
        if let Input::Here(tokenizer) = std::mem::replace(&mut self.input, Input::Moving) {
            self.input = Input::Thread(tokenizer.spawn());
        }
    }

    /// Keeps the tokenizer on the caller's thread: the caller is itself a reading thread.
    pub fn stay_here(&mut self) {
        self.background = false;
    }

    pub fn next(&mut self, row: &mut Row) -> Result<bool, ReadError> {
        let more = match &mut self.input {
            Input::Here(tokenizer) => tokenizer.next(&mut self.raw)?,
            Input::Thread(receiver) => receiver.next(&mut self.raw)?,
            Input::Moving => false,
        };
        if !more {
            return Ok(false);
        }
        if self.raw.decoded {
            // Decoded on the tokenizer's thread: hand the row over, take back a used one.
            std::mem::swap(row, &mut self.raw.row);
            return Ok(true);
        }
        row.begin(self.raw.number);
        if !self.raw.blank {
            fill_row(&self.raw.record, row);
        }
        Ok(true)
    }
}

impl Tokenizer {
    /// Runs on a background thread, which also decodes the fields into cells.
    fn spawn(mut self) -> threaded::Receiver<RawRecord> {
        let file = self.file.clone();
        let fail = move |reason: &str| ReadError::Unreadable {
            file: file.clone(),
            reason: format!("the CSV reader failed: {reason}"),
        };
        threaded::spawn(fail, move |emit| loop {
            let Ok(raw) = emit.slot() else {
                return Ok(());
            };
            if !self.next(raw)? {
                return Ok(());
            }
            // Decoding here too leaves the caller's core the checks, the larger half.
            raw.row.begin(raw.number);
            if !raw.blank {
                fill_row(&raw.record, &mut raw.row);
                raw.row.cells.find_nfc();
            }
            raw.decoded = true;
            emit.commit();
        })
    }

    fn next(&mut self, raw: &mut RawRecord) -> Result<bool, ReadError> {
        if !self.held {
            match self.reader.read(&mut self.record) {
                Ok(true) => {}
                Ok(false) => return Ok(false),
                Err(e) => {
                    return Err(ReadError::Csv {
                        file: self.file.clone(),
                        row: self.next_number,
                        reason: e.to_string(),
                    })
                }
            }
            self.records += 1;
            self.record_end.store(self.reader.byte(), Ordering::Relaxed);
            self.blanks = self.blank_lines_before_record();
            self.held = true;
        }
        raw.number = self.next_number;
        self.extent.row(u64::from(raw.number));
        self.next_number = self.next_number.saturating_add(1);
        if self.blanks > 0 {
            // The record reader skips empty lines, as the csv crate does; the user's
            // spreadsheet shows them as rows.
            self.blanks -= 1;
            raw.blank = true;
        } else {
            self.held = false;
            raw.blank = false;
            // Swapping hands the record over and takes back a used buffer: no copy.
            std::mem::swap(&mut raw.record, &mut self.record);
        }
        Ok(true)
    }

    /// Blank lines the record reader skipped before the record just read: the newlines it
    /// consumed, minus those inside quoted fields and the one ending a line of text.
    fn blank_lines_before_record(&mut self) -> u64 {
        let line = self.reader.line();
        let consumed = line.saturating_sub(self.last_line);
        self.last_line = line;
        let mut expected = if self.crlf {
            u64::from(self.records > 1)
        } else {
            // A last line without a line ending consumed no newline of its own.
            u64::from(Some(self.reader.byte()) != self.unterminated_end)
        };
        if consumed <= expected {
            return 0;
        }
        expected += self
            .record
            .as_slice()
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        consumed.saturating_sub(expected)
    }
}

/// Copies the record into the row's cells: its bytes in one copy when they are UTF-8 (checked
/// in one pass, then at each field end, which a stray byte could put inside a character; a
/// line kept with its ASCII delimiters has none there), else field by field, each decoded on
/// its own; a field that is not UTF-8 is an issue of the row.
fn fill_row(record: &Record, row: &mut Row) {
    if let Ok(text) = simdutf8::basic::from_utf8(record.as_slice()) {
        let gap = record.gap();
        if gap > 0 || record.ends().iter().all(|&end| text.is_char_boundary(end)) {
            row.cells.assign(text, record.ends(), gap);
            return;
        }
    }
    row.cells.clear();
    for (i, field) in record.iter().enumerate() {
        let mut utf8 = true;
        row.cells.set(i, |out| utf8 = decode_field(field, out));
        if !utf8 {
            let message = not_utf8(field, row.cells.get(i).unwrap_or_default());
            row.issues.push(RowIssue {
                column: Some(i),
                error: true,
                message,
            });
        }
    }
}

/// Appends a field's text: UTF-8 as is, anything else as Windows-1252 (a field typed on an
/// older system is the likeliest reason for bytes that are not UTF-8 in a UTF-8 file). False
/// when the field was not UTF-8.
fn decode_field(bytes: &[u8], out: &mut String) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            out.push_str(s);
            true
        }
        Err(_) => {
            let mut decoder = WINDOWS_1252.new_decoder_without_bom_handling();
            out.reserve(bytes.len() * 3);
            let _ = decoder.decode_to_string(bytes, out, true);
            false
        }
    }
}

/// The message for a field of a UTF-8 file that is not UTF-8: its bad bytes, and what it reads
/// as in Windows-1252.
fn not_utf8(field: &[u8], as_1252: &str) -> String {
    let mut bad = Vec::new();
    let mut rest = field;
    while let Err(e) = std::str::from_utf8(rest) {
        let at = e.valid_up_to();
        let len = e.error_len().unwrap_or(rest.len() - at);
        bad.extend(rest[at..at + len].iter().map(|b| format!("\\x{b:02X}")));
        rest = &rest[at + len..];
    }
    let shown = if bad.len() > 8 {
        format!("{} and {} more", bad[..8].join(" "), bad.len() - 8)
    } else {
        bad.join(" ")
    };
    format!(
        "invalid UTF-8 bytes ({shown}) in a file that is UTF-8 elsewhere; read as Windows-1252 \
         the cell is {as_1252:?}: correct it and save the file as UTF-8, or give --encoding \
         windows-1252 if the whole file is in that encoding"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stray_windows_1252_field() {
        let mut s = String::new();
        assert!(!decode_field(b"Fran\xe7ois", &mut s));
        assert_eq!(s, "François");
        assert!(not_utf8(b"Fran\xe7ois", &s).starts_with("invalid UTF-8 bytes (\\xE7) in a file"));
    }
}
