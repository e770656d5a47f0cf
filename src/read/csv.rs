//! CSV sources: the delimiter, encoding and BOM that spreadsheet programs choose, detected from
//! the first 64 KiB, then a streaming record loop that decodes fields into reused buffers.
//!
//! French Excel writes `;`-separated Windows-1252 files; LibreOffice UTF-8 with `,`; Excel's
//! "Unicode text" is tab-separated UTF-16. UTF-8 files are read as bytes and each field is
//! checked; a stray Windows-1252 field later in a UTF-8 file is decoded as such rather than
//! failing. Other encodings are transcoded to UTF-8 on the fly before parsing.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

use super::sniff::{io_error, is_binary, open_file};
use super::{ReadError, ReadOptions, Row};

/// How much of the file detection looks at.
const PREFIX: usize = 64 * 1024;
/// Lines looked at to choose the delimiter.
const DELIMITER_LINES: usize = 50;

pub(crate) struct CsvSource {
    reader: csv::Reader<Box<dyn Read + Send>>,
    record: csv::ByteRecord,
    file: PathBuf,
    encoding: &'static Encoding,
    delimiter: u8,
    /// The file ends its lines with CRLF: a record's `\n` is consumed by the next read.
    crlf: bool,
    /// Row number the next row gets.
    next_number: u32,
    /// Line counter of the csv reader after the previous record.
    last_line: u64,
    records: u64,
    /// Blank lines still to hand out before `record`.
    blanks: u64,
    /// `record` holds a record not handed out yet (blank lines came first).
    held: bool,
}

impl CsvSource {
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<CsvSource, ReadError> {
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
        file.seek(SeekFrom::Start(bom as u64))
            .map_err(|e| io_error(path, e))?;
        let input: Box<dyn Read + Send> = if encoding == UTF_8 {
            Box::new(file)
        } else {
            Box::new(Transcoder::new(file, encoding))
        };
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(PREFIX)
            .from_reader(input);
        Ok(CsvSource {
            reader,
            record: csv::ByteRecord::new(),
            file: path.to_path_buf(),
            encoding,
            delimiter,
            crlf,
            next_number: 1,
            last_line: 1,
            records: 0,
            blanks: 0,
            held: false,
        })
    }

    pub fn encoding_name(&self) -> &'static str {
        self.encoding.name()
    }

    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    pub fn next(&mut self, row: &mut Row) -> Result<bool, ReadError> {
        if !self.held {
            match self.reader.read_byte_record(&mut self.record) {
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
            self.blanks = self.blank_lines_before_record();
            self.held = true;
        }
        row.begin(self.next_number);
        self.next_number = self.next_number.saturating_add(1);
        if self.blanks > 0 {
            // The csv crate skips empty lines; the user's spreadsheet shows them as rows.
            self.blanks -= 1;
        } else {
            self.held = false;
            for (i, field) in self.record.iter().enumerate() {
                decode_field(field, row.cell_mut(i));
            }
        }
        row.end();
        Ok(true)
    }

    /// Blank lines the csv crate skipped before the record just read: the newlines it consumed,
    /// minus those inside quoted fields and the one ending a line of text.
    fn blank_lines_before_record(&mut self) -> u64 {
        let line = self.reader.position().line();
        let consumed = line.saturating_sub(self.last_line);
        self.last_line = line;
        let mut expected = if self.crlf {
            u64::from(self.records > 1)
        } else {
            1
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

/// Appends a field's text: UTF-8 as is, anything else as Windows-1252 (a later part of a file
/// detected as UTF-8 may still hold a field typed on an older system).
fn decode_field(bytes: &[u8], out: &mut String) {
    match std::str::from_utf8(bytes) {
        Ok(s) => out.push_str(s),
        Err(_) => {
            let mut decoder = WINDOWS_1252.new_decoder_without_bom_handling();
            out.reserve(bytes.len() * 3);
            let _ = decoder.decode_to_string(bytes, out, true);
        }
    }
}

/// The encoding to read with and the length of the byte-order mark to skip.
fn choose_encoding(
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
    let utf8 = match std::str::from_utf8(prefix) {
        Ok(_) => true,
        // Cut in the middle of a character by the 64 KiB window: still UTF-8.
        Err(e) => e.error_len().is_none() && !whole,
    };
    Ok((if utf8 { UTF_8 } else { WINDOWS_1252 }, 0))
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
pub(crate) fn detect_delimiter(text: &[u8], whole: bool) -> u8 {
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

/// Decodes a non-UTF-8 byte stream into UTF-8 as it is read, with a fixed-size buffer.
struct Transcoder<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// The decoder was told the input ended; it must not be called again.
    finished: bool,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
}

impl<R: Read> Transcoder<R> {
    fn new(inner: R, encoding: &'static Encoding) -> Self {
        Transcoder {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            input: vec![0; PREFIX],
            start: 0,
            end: 0,
            eof: false,
            finished: false,
            output: vec![0; PREFIX * 3 + 16],
            out_start: 0,
            out_end: 0,
        }
    }
}

impl<R: Read> Read for Transcoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.out_start == self.out_end {
            if self.start == self.end && !self.eof {
                let n = self.inner.read(&mut self.input)?;
                self.start = 0;
                self.end = n;
                self.eof = n == 0;
            }
            if self.start == self.end && self.eof {
                if self.finished {
                    return Ok(0);
                }
                self.finished = true;
                // Flush whatever the decoder holds (an incomplete sequence becomes U+FFFD).
                let (_, _, written, _) = self.decoder.decode_to_utf8(&[], &mut self.output, true);
                if written == 0 {
                    return Ok(0);
                }
                self.out_start = 0;
                self.out_end = written;
                break;
            }
            let (_, read, written, _) = self.decoder.decode_to_utf8(
                &self.input[self.start..self.end],
                &mut self.output,
                false,
            );
            self.start += read;
            self.out_start = 0;
            self.out_end = written;
        }
        let n = buf.len().min(self.out_end - self.out_start);
        buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
        self.out_start += n;
        Ok(n)
    }
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

    #[test]
    fn transcoder_decodes_windows_1252() {
        let bytes: &[u8] = b"caf\xe9;\x80\n";
        let mut t = Transcoder::new(bytes, WINDOWS_1252);
        let mut s = String::new();
        t.read_to_string(&mut s).unwrap();
        assert_eq!(s, "café;€\n");
    }

    #[test]
    fn stray_windows_1252_field() {
        let mut s = String::new();
        decode_field(b"Fran\xe7ois", &mut s);
        assert_eq!(s, "François");
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
