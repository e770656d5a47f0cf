//! The flags that say which customer list to read and how: `FILE`, `--sheet`, `--header-row`,
//! `--encoding`, `--delimiter`, `--map`.

use std::path::PathBuf;

use crate::pipeline::Input;

/// The input file and how to read and map it: the same flags for every command that reads a
/// customer list.
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// The customer list: .csv, .xlsx, .xlsm, .xlsb, .xls, .ods, or .json (an array of
    /// objects) and .ndjson/.jsonl (one object per line), as custbulk export writes them.
    pub file: PathBuf,

    /// The sheet to read, by name or 1-based position (default: the first sheet).
    #[arg(long, value_name = "NAME|INDEX")]
    pub sheet: Option<String>,

    /// The row holding the headers, from 1 (default: found among the first 10 rows).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub header_row: Option<u32>,

    /// CSV encoding, e.g. utf-8 or windows-1252 (default: detected).
    #[arg(long, value_name = "LABEL")]
    pub encoding: Option<String>,

    /// CSV delimiter: `,`, `;`, `|` or `tab` (default: detected).
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,

    /// A mapping file (TOML) naming columns, defaults and value translations; see
    /// `custbulk mapping FILE --write mapping.toml`.
    #[arg(long = "map", value_name = "MAPPING.toml")]
    pub map: Option<PathBuf>,
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(format!(
            "{s:?} is not a one-character delimiter (`,`, `;`, `|` or `tab`)"
        )),
    }
}

impl InputArgs {
    pub fn input(&self) -> Input {
        Input {
            file: self.file.clone(),
            sheet: self.sheet.clone(),
            header_row: self.header_row,
            encoding: self.encoding.clone(),
            delimiter: self.delimiter,
            map: self.map.clone(),
        }
    }
}
