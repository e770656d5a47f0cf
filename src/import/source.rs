//! The rows an import reads: the validation pipeline, adapted to what the uploader needs.

use std::path::PathBuf;

use tokio::sync::mpsc;

use super::{InputRow, Mode};

/// Which file to read and how.
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// The CSV, XLSX, XLSM, XLSB, XLS or ODS file.
    pub file: PathBuf,
}

/// An opened, mapped input.
pub struct Source {
    pub headers: Vec<String>,
    /// The match key field (`id` for the id column).
    pub key_field: String,
}

impl Source {
    pub fn open(_args: &InputArgs, _mode: Mode, _match_on: Option<&str>) -> anyhow::Result<Source> {
        todo!()
    }

    /// How many data rows, when the whole file fits in the look-ahead.
    pub fn buffered_rows(&self) -> Option<u64> {
        None
    }

    /// More rows than per-row lookups suit.
    pub fn is_large(&self) -> bool {
        true
    }

    /// Reads every row and sends it; returns the number of blank rows.
    pub fn send_rows(self, _tx: mpsc::Sender<anyhow::Result<InputRow>>) -> anyhow::Result<u64> {
        todo!()
    }
}
