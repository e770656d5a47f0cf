//! `custbulk export`: every customer into a file a person can open and custbulk can import
//! back, as a backup that is provably complete and never half-written.
//!
//! The flow: [`pager`] fetches pages in order (concurrently when the total is known) and sends
//! each page's new records over a bounded channel to one writer thread. JSON and NDJSON are
//! written directly. CSV and XLSX need their columns before the first row, and a key may first
//! appear on the last page, so their records are spooled as NDJSON beside the target while the
//! key set is gathered, then written as a table in a second pass: memory stays flat either way.
//! Everything is written to hidden temporary files beside the target; only a complete export is
//! renamed onto the final name, with its manifest ([`manifest`]).

pub mod manifest;
pub mod pager;
mod progress;
mod run;
pub mod write;

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use crate::error::usage;

pub use progress::Progress;
pub use run::{export, run, Job, Summary};

/// Export every customer to a file: a complete backup you can open, verify, and import back.
///
/// custbulk pages through the API in a stable order (oldest first by default), writes each
/// customer once even if the list shifts between pages, and writes CSV, XLSX, JSON or NDJSON,
/// chosen by --format or the file's extension. The file appears under its name only when the
/// export is complete, with FILE.manifest.json beside it (record count, size, sha256, query);
/// `custbulk verify FILE` checks it later. A failed export leaves no new file and exits 3.
///
/// Columns of CSV and XLSX: the id, the customer fields in a fixed order, then every other
/// field the API returned; contacts are JSON text.
///
/// Examples: `custbulk export customers.xlsx`,
/// `custbulk export backup.ndjson --page-size 1000 --concurrency 8`,
/// `custbulk export actifs.csv --p '{"status":"actif"}' --bom`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The file to write; its extension (.csv, .xlsx, .json, .ndjson or .jsonl) picks the
    /// format unless --format is given.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The output format, when the extension does not say it.
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Start a CSV with a UTF-8 byte-order mark, so Excel shows accents and Arabic correctly.
    #[arg(long)]
    pub bom: bool,

    /// Records per page to ask for (the server may cap it lower; custbulk notices).
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub page_size: u64,

    /// Pages in flight (when the server tells the total) and requests per second.
    #[command(flatten)]
    pub load: crate::api::Load,

    /// The field to sort by; a stable key keeps pages consistent.
    #[arg(long, value_name = "FIELD", default_value = "createdAt")]
    pub sort_by: String,

    /// The sort order.
    #[arg(long, value_enum, default_value_t = Order::Asc)]
    pub order: Order,

    /// Search text, passed to the API's `q` as given.
    #[arg(long, value_name = "TEXT")]
    pub q: Option<String>,

    /// Policy filters, passed to the API's `p` as given (the sandbox takes a JSON object).
    #[arg(long, value_name = "FILTER")]
    pub p: Option<String>,

    /// Fields to return, passed to the API's `fields` as given (e.g. `name,city`); the id always
    /// comes along.
    #[arg(long, value_name = "LIST")]
    pub fields: Option<String>,

    /// Stop after this many records.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max: Option<u64>,

    /// Give up after this many pages: a guard against a list that never ends.
    #[arg(long, value_name = "N", default_value_t = 1_000_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pages: u64,

    /// Where list responses keep their records, as a dotted path, when detection fails.
    #[arg(long, value_name = "PATH")]
    pub items_path: Option<String>,
}

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// UTF-8 CSV with a header row.
    Csv,
    /// An Excel workbook.
    Xlsx,
    /// One JSON array of records as the API returned them.
    Json,
    /// One JSON record per line, as the API returned it.
    Ndjson,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::Xlsx => "XLSX",
            Format::Json => "JSON",
            Format::Ndjson => "NDJSON",
        }
    }

    /// The format a file name's extension stands for.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" => Format::Csv,
            "xlsx" => Format::Xlsx,
            "json" => Format::Json,
            "ndjson" | "jsonl" => Format::Ndjson,
            _ => return None,
        })
    }

    /// CSV and XLSX: a header row, so the columns must be known first.
    pub fn is_table(self) -> bool {
        matches!(self, Format::Csv | Format::Xlsx)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Order {
    Asc,
    Desc,
}

impl Order {
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Asc => "asc",
            Order::Desc => "desc",
        }
    }
}

/// The format to write: `--format`, else the extension, else a usage error.
fn format_of(file: &Path, flag: Option<Format>) -> anyhow::Result<Format> {
    flag.or_else(|| Format::from_path(file)).ok_or_else(|| {
        usage(format!(
            "cannot tell the format of {} from its name: use a .csv, .xlsx, .json, .ndjson or \
             .jsonl name, or --format",
            file.display()
        ))
    })
}

/// Splits a `--fields` list the way servers do: commas or spaces.
fn field_list(fields: &str) -> Vec<String> {
    fields
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_comes_from_the_flag_or_the_extension() {
        assert_eq!(format_of(Path::new("a.CSV"), None).unwrap(), Format::Csv);
        assert_eq!(
            format_of(Path::new("a.jsonl"), None).unwrap(),
            Format::Ndjson
        );
        assert_eq!(
            format_of(Path::new("a.txt"), Some(Format::Json)).unwrap(),
            Format::Json
        );
        let err = format_of(Path::new("backup"), None).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), crate::error::USAGE);
    }

    #[test]
    fn field_lists_split_on_commas_and_spaces() {
        assert_eq!(
            field_list("name, city,,zipCode"),
            ["name", "city", "zipCode"]
        );
    }
}
