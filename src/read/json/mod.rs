//! JSON input: an array of objects (`.json`) or one object per line (`.ndjson`, `.jsonl`), as
//! `custbulk export` writes backups. Each record is a row, its keys the headers.
//!
//! Two passes over the file, because a table needs its headers before its first row while a
//! JSON file only says which keys it has record by record (the last record of an export may
//! bring a key no other has). The first pass reads every record for its keys alone and keeps
//! nothing else; the second, on a background thread, turns records into rows. The file is on
//! disk, so reading it twice costs time but no memory: holding the records between the
//! passes would cost the whole file.
//!
//! Row numbers are the record's position: the line number in NDJSON (blank lines are blank
//! rows), the 1-based index of the element in an array. A record that is not a JSON object
//! is an invalid row saying why; a truncated array is a read error after the rows before it.

mod object;
pub(crate) mod records;

use std::path::Path;

use object::{Columns, Keys, Order};
use records::{Records, Split, MAX_RECORD_BYTES};

use super::threaded::{self, Emitter};
use super::{Extent, Format, ReadError, ReadOptions, Row, RowIssue, Source};

pub(crate) struct Opened {
    pub source: Source,
    pub headers: Vec<String>,
    /// How far the second pass has read.
    pub extent: Extent,
}

/// Reads the keys of every record (the first pass), then starts the second on its thread.
pub(crate) fn open(path: &Path, format: Format) -> Result<Opened, ReadError> {
    let keys = collect_keys(path, format)?;
    let headers = keys.names.clone();
    let mut records = Records::open(path, format)?;
    let extent = records.extent();
    let file = path.to_path_buf();
    let fail = move |reason: &str| ReadError::Unreadable {
        file: file.clone(),
        reason: format!("the JSON reader failed: {reason}"),
    };
    let source = threaded::spawn(fail, move |emit| rows(&mut records, &keys, format, emit));
    Ok(Opened {
        source: Source::Threaded(source),
        headers,
        extent,
    })
}

/// The first pass. A record that is not an object adds nothing (the second pass reports it);
/// a truncated array ends the pass quietly, and the second reports it after the rows before.
fn collect_keys(path: &Path, format: Format) -> Result<Keys, ReadError> {
    let mut records = Records::open(path, format)?;
    let mut keys = Keys::default();
    let mut order = Order::default();
    let mut first = true;
    loop {
        let record = match records.next() {
            Ok(Some((_, Split::Text))) => records.bytes(),
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(ReadError::Json { .. }) => break,
            Err(e) => return Err(e),
        };
        let found = object::collect_keys(record, &mut keys, &mut order);
        if first && format == Format::Ndjson {
            spread_object(path, record, found.as_ref().err())?;
        }
        first = false;
    }
    if keys.overflow {
        return Err(ReadError::Unreadable {
            file: path.to_path_buf(),
            reason: format!(
                "its records have more than {} different keys; a customer list has a few dozen",
                object::MAX_KEYS
            ),
        });
    }
    Ok(keys)
}

/// A first line that opens an object and ends before it closes is one object written over
/// several lines (a pretty-printed file), not NDJSON: say so once, rather than calling every
/// line of it an invalid record.
fn spread_object(
    path: &Path,
    line: &[u8],
    error: Option<&serde_json::Error>,
) -> Result<(), ReadError> {
    if error.is_some_and(|e| e.is_eof()) {
        return Err(ReadError::Unreadable {
            file: path.to_path_buf(),
            reason: format!(
                "it holds a JSON object written over several lines, starting {}; custbulk \
                 reads a JSON array of customer objects, or NDJSON (one object per line)",
                String::from_utf8_lossy(line).trim()
            ),
        });
    }
    Ok(())
}

/// The second pass: every record as a row, on the reader's thread.
fn rows(
    records: &mut Records,
    keys: &Keys,
    format: Format,
    emit: &mut Emitter<Row>,
) -> Result<(), ReadError> {
    let mut cols = Columns::default();
    let mut order = Order::default();
    let unit = if format == Format::Ndjson {
        "line"
    } else {
        "element"
    };
    while let Some((number, record)) = records.next()? {
        let Ok(row) = emit.slot() else {
            return Ok(());
        };
        row.begin(number);
        match record {
            Split::Blank => {}
            Split::TooLong => row.issues.push(invalid(format!(
                "the {unit} is longer than {} MB; a customer record is a few hundred bytes",
                MAX_RECORD_BYTES >> 20
            ))),
            Split::Text => match object::fill(records.bytes(), keys, &mut order, &mut cols) {
                Ok(()) => {
                    for cell in &cols.bufs[..cols.filled] {
                        row.cells.push(cell);
                    }
                }
                Err(e) => {
                    let message = not_an_object(records.bytes(), &e, unit, records.line());
                    row.issues.push(invalid(message));
                }
            },
        }
        emit.commit();
    }
    Ok(())
}

fn invalid(message: String) -> RowIssue {
    RowIssue {
        column: None,
        error: true,
        message,
    }
}

/// Why a record is not an object, where in it, and what it holds.
fn not_an_object(bytes: &[u8], e: &serde_json::Error, unit: &str, line: u64) -> String {
    if e.is_data() && !bytes.trim_ascii_start().starts_with(b"{") {
        return format!(
            "not a JSON object: the {unit} holds {}",
            object::describe(bytes)
        );
    }
    // serde_json's message ends with its own position, counted within the record.
    let text = e.to_string();
    let reason = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(reason, _)| reason);
    let at = if unit == "line" {
        format!("column {}", e.column())
    } else {
        format!("line {}, column {}", line + e.line() as u64 - 1, e.column())
    };
    format!("not a valid JSON object: {reason} at {at}")
}

/// Options that mean nothing for JSON, said rather than silently dropped.
pub(crate) fn ignored_options(opts: &ReadOptions) -> Vec<String> {
    let mut ignored = Vec::new();
    if opts.sheet.is_some() {
        ignored.push("--sheet");
    }
    if opts.header_row.is_some() {
        ignored.push("--header-row");
    }
    if opts.encoding.is_some() {
        ignored.push("--encoding");
    }
    if opts.delimiter.is_some() {
        ignored.push("--delimiter");
    }
    if ignored.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "JSON has no sheets, header row, encoding choice or delimiter; {} ignored.",
        ignored.join(", ")
    )]
}
