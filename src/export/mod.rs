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
pub use run::{export, Job, Summary};

/// What an export is asked for: the command line, checked into plain values.
#[derive(Debug, Clone)]
pub struct Options {
    pub file: PathBuf,
    pub format: Option<Format>,
    pub bom: bool,
    pub page_size: u64,
    /// Pages in flight at most, when the server tells the total.
    pub concurrency: usize,
    pub sort_by: String,
    pub order: Order,
    pub q: Option<String>,
    pub p: Option<String>,
    pub fields: Option<String>,
    pub max: Option<u64>,
    pub max_pages: u64,
    /// Keep a backup that ends short of the server's own total, marked incomplete.
    pub allow_incomplete: bool,
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
