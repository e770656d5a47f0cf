//! Why a file could not be read: every message names the file, and the sheet, row or cell
//! when known.

use std::path::PathBuf;

/// Why a file could not be read. Every message names the file (and sheet and row when known).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{}: file not found", .file.display())]
    NotFound { file: PathBuf },
    #[error("{}: {error}", .file.display())]
    Io {
        file: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: there is no sheet \"{asked}\"; the sheets are: {}", .file.display(), quoted_list(.available))]
    UnknownSheet {
        file: PathBuf,
        asked: String,
        available: Vec<String>,
    },
    #[error("{}{}: no header row: {reason}", .file.display(), sheet_suffix(.sheet))]
    Empty {
        file: PathBuf,
        sheet: Option<String>,
        reason: String,
    },
    #[error("{}: cannot be read: {reason}", .file.display())]
    Unreadable { file: PathBuf, reason: String },
    #[error("{}, row {row}: {reason}", .file.display())]
    Csv {
        file: PathBuf,
        row: u32,
        reason: String,
    },
    #[error("{}, sheet \"{sheet}\"{}: {reason}", .file.display(), row_suffix(*.row))]
    Sheet {
        file: PathBuf,
        sheet: String,
        row: Option<u32>,
        reason: String,
    },
    #[error("{}, sheet \"{sheet}\", cell {cell}: {reason}", .file.display())]
    Cell {
        file: PathBuf,
        sheet: String,
        /// The cell's reference, such as `B7`.
        cell: String,
        reason: String,
    },
    #[error("{}, line {line}: {reason}", .file.display())]
    Json {
        file: PathBuf,
        line: u64,
        reason: String,
    },
    #[error(
        "unknown encoding \"{asked}\"; use a label such as utf-8, windows-1252, windows-1256, latin1 or utf-16"
    )]
    UnknownEncoding { asked: String },
}

fn quoted_list(names: &[String]) -> String {
    if names.is_empty() {
        return "(none)".to_string();
    }
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn sheet_suffix(sheet: &Option<String>) -> String {
    sheet
        .as_ref()
        .map(|s| format!(", sheet \"{s}\""))
        .unwrap_or_default()
}

fn row_suffix(row: Option<u32>) -> String {
    row.map(|r| format!(", row {r}")).unwrap_or_default()
}
