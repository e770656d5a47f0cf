//! The records of a CSV byte stream, as the csv crate reads them, but faster on the lines
//! nearly every file is made of.
//!
//! A line with no quote in it is kept as read, its delimiters found sixteen bytes at a time;
//! any other record goes through `csv_core`'s reader, the one under the csv crate, from the
//! start of the record. The two agree on every record, line count and byte position: `csv_core` only ever
//! starts at the beginning of a record, where its state is the same whoever read the record
//! before, and a line without quotes is what it would cut at each delimiter.

use std::io::{self, Read};

use csv_core::ReadRecordResult;

use crate::bytes::Block;

/// How many bytes are read from the stream at a time.
const BUFFER: usize = 64 * 1024;

/// One record: its fields' bytes and where each field ends.
#[derive(Default)]
pub(crate) struct Record {
    /// The record in `bytes[..len]`; past it, room that [`Records::read_core`] fills.
    bytes: Vec<u8>,
    len: usize,
    ends: Ends,
    /// Bytes between one field and the next: 1 for a line kept as read, its delimiters in
    /// place (one copy of the line, not one per field); 0 for a record `csv_core` read, its
    /// fields end to end.
    gap: usize,
}

impl Record {
    /// Every field's bytes, each after the one before and [`Record::gap`] bytes between.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Where each field ends in [`Record::as_slice`].
    pub fn ends(&self) -> &[usize] {
        self.ends.as_slice()
    }

    /// Bytes between one field and the next in [`Record::as_slice`]: 0, or 1 for an ASCII
    /// delimiter.
    pub fn gap(&self) -> usize {
        self.gap
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let ends = self.ends();
        let starts = std::iter::once(0).chain(ends.iter().map(|&end| end + self.gap));
        starts
            .zip(ends)
            .map(|(start, &end)| &self.bytes[start..end])
    }

    fn clear(&mut self) {
        self.len = 0;
        self.ends.len = 0;
        self.gap = 0;
    }

    /// Makes room for `n` more bytes.
    fn room(&mut self, n: usize) {
        let wanted = self.len + n;
        if self.bytes.len() < wanted {
            self.bytes.resize(wanted.max(self.bytes.len() * 2), 0);
        }
    }

    /// Keeps `line` as the record, whose field ends are already in `ends`.
    fn keep_line(&mut self, line: &[u8]) {
        self.len = 0;
        self.room(line.len());
        self.bytes[..line.len()].copy_from_slice(line);
        self.len = line.len();
        self.gap = 1;
    }
}

/// Where each field of a record ends: `at[..len]`. `at` is kept longer than that, so that a
/// block's delimiters are written with no check each.
#[derive(Default)]
struct Ends {
    at: Vec<usize>,
    len: usize,
}

impl Ends {
    fn as_slice(&self) -> &[usize] {
        &self.at[..self.len]
    }

    /// Makes room for `n` more ends.
    fn room(&mut self, n: usize) {
        if self.at.len() < self.len + n {
            self.grow(n);
        }
    }

    /// Makes room for `n` more ends than `len`, and at least doubles.
    #[cold]
    fn grow(&mut self, n: usize) {
        self.at.resize((self.len + n).max(self.at.len() * 2), 0);
    }

    fn push(&mut self, end: usize) {
        self.room(1);
        self.at[self.len] = end;
        self.len += 1;
    }

    /// Pushes `i` plus the place of each bit set in the low 16 bits of `bits`.
    #[inline(always)]
    fn push_bits(&mut self, i: usize, mut bits: u32) {
        self.room(16);
        let at = &mut self.at[self.len..self.len + 16];
        // Four are written whatever the count, which differs from block to block: a branch on
        // it would be mispredicted on most blocks. Those past the count lie past `len`.
        let mut n = 0;
        for end in &mut at[..4] {
            *end = i + bits.trailing_zeros() as usize;
            n += usize::from(bits != 0);
            bits &= bits.wrapping_sub(1);
        }
        while bits != 0 {
            at[n] = i + bits.trailing_zeros() as usize;
            n += 1;
            bits &= bits - 1;
        }
        self.len += n;
    }
}

/// Reads records from a stream of (UTF-8 or ASCII-compatible) bytes; `;`, `,` or tab, with
/// `"` quotes and `\r`, `\n` or `\r\n` line ends, and blank lines skipped, like
/// `csv::ReaderBuilder::new().flexible(true)`.
pub(crate) struct Records {
    input: Box<dyn Read + Send>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    core: csv_core::Reader,
    delimiter: u8,
    line: u64,
    byte: u64,
}

/// How a line at the start of the buffer splits.
enum Split {
    /// Its field ends are found; the line end is at this index.
    Line(usize),
    /// The buffer ends before the line does; the field ends up to there are found.
    Unfinished,
    /// It holds a quote (or the delimiter is past ASCII): `csv_core` reads it.
    Quoted,
}

impl Records {
    pub fn new(input: Box<dyn Read + Send>, delimiter: u8) -> Records {
        Records::with_buffer(input, delimiter, BUFFER)
    }

    fn with_buffer(input: Box<dyn Read + Send>, delimiter: u8, size: usize) -> Records {
        let mut core = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
        // The csv reader drops a UTF-8 byte order mark at the start of the stream only, so
        // `csv_core` is told a line first: it may start later, in the middle of the stream.
        core.read_record(b"\n", &mut [0; 1], &mut [0; 1]);
        Records {
            input,
            buf: vec![0; size.max(16)],
            start: 0,
            end: 0,
            eof: false,
            core,
            delimiter,
            line: 1,
            byte: 0,
        }
    }

    /// The line the reader is on, counting from 1 (the `\n`s read so far, plus one).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The bytes read so far: up to the end of the last record, its line end included.
    pub fn byte(&self) -> u64 {
        self.byte
    }

    /// Reads the next record into `record`; false at the end of the stream.
    pub fn read(&mut self, record: &mut Record) -> io::Result<bool> {
        record.clear();
        if self.byte == 0 {
            while self.end < 3 && !self.eof {
                self.fill()?;
            }
            if self.buf[..self.end].starts_with(b"\xEF\xBB\xBF") {
                self.consume(3);
            }
        }
        loop {
            // Blank lines are skipped, as the csv reader skips them.
            while self.start < self.end && matches!(self.buf[self.start], b'\r' | b'\n') {
                self.line += u64::from(self.buf[self.start] == b'\n');
                self.consume(1);
            }
            if self.start == self.end {
                if self.eof {
                    return Ok(false);
                }
                self.fill()?;
                continue;
            }
            let line = &self.buf[self.start..self.end];
            match split(line, self.delimiter, &mut record.ends) {
                Split::Line(at) => {
                    record.keep_line(&line[..at]);
                    self.line += u64::from(line[at] == b'\n');
                    self.consume(at + 1);
                    return Ok(true);
                }
                Split::Unfinished if self.eof => {
                    record.keep_line(line);
                    self.consume(self.end - self.start);
                    return Ok(true);
                }
                // A line longer than the buffer: the csv reader streams it.
                Split::Unfinished if self.start == 0 && self.end == self.buf.len() => {
                    record.clear();
                    return self.read_core(record);
                }
                Split::Unfinished => {
                    record.clear();
                    self.fill()?;
                }
                Split::Quoted => {
                    record.clear();
                    return self.read_core(record);
                }
            }
        }
    }

    /// Reads one record with `csv_core`, from the start of the record.
    fn read_core(&mut self, record: &mut Record) -> io::Result<bool> {
        let line = self.core.line();
        let (mut out, mut ends) = (0, 0);
        record.room(1024);
        record.ends.room(32);
        loop {
            if self.start == self.end && !self.eof {
                self.fill()?;
            }
            let input = &self.buf[self.start..self.end];
            let (result, nin, nout, nend) =
                self.core
                    .read_record(input, &mut record.bytes[out..], &mut record.ends.at[ends..]);
            self.consume(nin);
            out += nout;
            ends += nend;
            match result {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => record.bytes.resize(record.bytes.len() * 2, 0),
                ReadRecordResult::OutputEndsFull => record.ends.grow(record.ends.at.len()),
                ReadRecordResult::Record | ReadRecordResult::End => {
                    record.len = out;
                    record.ends.len = ends;
                    self.line += self.core.line() - line;
                    return Ok(matches!(result, ReadRecordResult::Record));
                }
            }
        }
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.byte += n as u64;
    }

    /// Moves what is left to the front of the buffer and reads more after it.
    fn fill(&mut self) -> io::Result<()> {
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        let n = loop {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        self.end += n;
        self.eof = n == 0;
        Ok(())
    }
}

/// Finds where each field of the line at the start of `b` ends, up to its line end or the end
/// of `b`, unless a quote comes first. A delimiter past ASCII always sends the line to
/// `csv_core`, so that every field end is a character's end in UTF-8 text.
fn split(b: &[u8], delimiter: u8, ends: &mut Ends) -> Split {
    if !delimiter.is_ascii() {
        return Split::Quoted;
    }
    let mut i = 0;
    while let Some(block) = b.get(i..i + 16) {
        let block = Block::load(block.try_into().expect("16 bytes"));
        let (delimiters, stops) = (
            block.eq(delimiter),
            block.eq(b'"') | block.eq(b'\n') | block.eq(b'\r'),
        );
        // Bit 16 stands for the next block: `stop` is 16 when no byte of this one stops.
        let stop = (stops | 1 << 16).trailing_zeros() as usize;
        ends.push_bits(i, delimiters & ((1 << stop) - 1));
        if stop < 16 {
            let at = i + stop;
            if b[at] == b'"' {
                return Split::Quoted;
            }
            ends.push(at);
            return Split::Line(at);
        }
        i += 16;
    }
    for (at, &c) in b.iter().enumerate().skip(i) {
        match c {
            b'"' => return Split::Quoted,
            b'\r' | b'\n' => {
                ends.push(at);
                return Split::Line(at);
            }
            c if c == delimiter => ends.push(at),
            _ => {}
        }
    }
    ends.push(b.len());
    Split::Unfinished
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A reader that hands out at most `chunk` bytes a call, as pipes and slow disks do.
    struct Trickle {
        bytes: Vec<u8>,
        at: usize,
        chunk: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.chunk).min(self.bytes.len() - self.at);
            buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    /// Each record's fields, with the line and byte after it.
    type Seen = Vec<(Vec<Vec<u8>>, u64, u64)>;

    fn with_csv_crate(bytes: &[u8], delimiter: u8) -> Seen {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(bytes);
        let mut record = csv::ByteRecord::new();
        let mut out = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            let fields = record.iter().map(<[u8]>::to_vec).collect();
            out.push((fields, reader.position().line(), reader.position().byte()));
        }
        out
    }

    fn with_records(bytes: &[u8], delimiter: u8, buffer: usize, chunk: usize) -> Seen {
        let input = Trickle {
            bytes: bytes.to_vec(),
            at: 0,
            chunk,
        };
        let mut records = Records::with_buffer(Box::new(input), delimiter, buffer);
        let mut record = Record::default();
        let mut out = Vec::new();
        while records.read(&mut record).unwrap() {
            let fields = record.iter().map(<[u8]>::to_vec).collect();
            out.push((fields, records.line(), records.byte()));
        }
        out
    }

    #[test]
    fn reads_what_the_csv_crate_reads() {
        let text = "\u{feff}a;b\r\n\r\n\"x;\"\"y\"\"\nz\";é\nlast;\"q\" tail;mid\"quote\n\n;;\rc";
        for buffer in [16, 17, 40, 1024] {
            assert_eq!(
                with_records(text.as_bytes(), b';', buffer, 7),
                with_csv_crate(text.as_bytes(), b';'),
                "buffer {buffer}"
            );
        }
    }

    #[test]
    fn records_of_many_fields_read_whole_on_both_paths() {
        let plain = vec!["x"; 300].join(";");
        let quoted = vec!["\"a;b\""; 300].join(";");
        let text = format!("{quoted}\n{plain}\n{quoted}\n");
        assert_eq!(
            with_records(text.as_bytes(), b';', 1024, 100),
            with_csv_crate(text.as_bytes(), b';')
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        /// Any bytes, cut into reads of any size, in a buffer of any size: the same records,
        /// lines and byte positions as the csv crate.
        #[test]
        fn any_stream_reads_as_the_csv_crate_reads_it(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just(&b";"[..]), Just(&b","[..]), Just(&b"\""[..]), Just(&b"\r"[..]),
                    Just(&b"\n"[..]), Just(&b"\r\n"[..]), Just(&b"ab"[..]), Just(&b" "[..]),
                    Just("é".as_bytes()), Just("مجوهرات".as_bytes()), Just(&b"\xEF\xBB\xBF"[..]),
                    Just(&b"0123456789abcdef"[..]),
                ],
                0..60,
            ),
            buffer in 16usize..80,
            chunk in 1usize..40,
            comma in any::<bool>(),
        ) {
            let bytes = parts.concat();
            let delimiter = if comma { b',' } else { b';' };
            prop_assert_eq!(
                with_records(&bytes, delimiter, buffer, chunk),
                with_csv_crate(&bytes, delimiter)
            );
        }
    }
}
