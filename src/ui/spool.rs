//! The rows with problems, kept on disk as the check finds them: one JSON line per row (its
//! number, cells and problems) and, in memory, where each line starts. A page of the grid is
//! one read at an offset, whatever the file's size: a million rows never go through memory or
//! to the browser.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::output::read_at;
use crate::schema;
use crate::validate::{Problem, Severity};

/// One row with problems, as spooled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub row: u32,
    pub cells: Vec<String>,
    /// The row's own problems first, then (from `alone` on) those found across rows.
    pub problems: Vec<Problem>,
    pub alone: usize,
}

#[derive(Serialize)]
struct Written<'a> {
    row: u32,
    cells: Vec<&'a str>,
    problems: &'a [Problem],
    alone: usize,
}

#[derive(Deserialize)]
struct Read {
    row: u32,
    cells: Vec<String>,
    problems: Vec<ReadProblem>,
    alone: usize,
}

#[derive(Deserialize)]
struct ReadProblem {
    row: u32,
    column: String,
    header: String,
    field: String,
    severity: Severity,
    message: String,
    value: String,
}

/// The field names a problem can carry, back from their text.
fn field_name(name: &str) -> &'static str {
    match schema::field(name) {
        Some(f) => f.name,
        None if name == schema::ID => schema::ID,
        None => "",
    }
}

/// Writes the spool as rows come.
pub struct SpoolWriter {
    out: BufWriter<File>,
    path: PathBuf,
    offsets: Vec<u64>,
    rows: Vec<u32>,
    at: u64,
    line: Vec<u8>,
}

impl SpoolWriter {
    pub fn create(path: &Path) -> anyhow::Result<SpoolWriter> {
        let file = File::create(path)
            .with_context(|| format!("cannot create the spool {}", path.display()))?;
        Ok(SpoolWriter {
            out: BufWriter::with_capacity(1 << 16, file),
            path: path.to_path_buf(),
            offsets: Vec::new(),
            rows: Vec::new(),
            at: 0,
            line: Vec::new(),
        })
    }

    /// One row with problems; rows come in file order.
    pub fn push(
        &mut self,
        row: u32,
        cells: &crate::read::Cells,
        problems: &[Problem],
        alone: usize,
    ) -> anyhow::Result<()> {
        self.line.clear();
        let written = Written {
            row,
            cells: cells.iter().collect(),
            problems,
            alone,
        };
        serde_json::to_writer(&mut self.line, &written)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        self.offsets.push(self.at);
        self.rows.push(row);
        self.at += self.line.len() as u64;
        Ok(())
    }

    /// Completes the spool and opens it for reading.
    pub fn finish(self) -> anyhow::Result<Spool> {
        let SpoolWriter {
            out,
            path,
            mut offsets,
            rows,
            at,
            ..
        } = self;
        out.into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("cannot write the spool {}", path.display()))?;
        offsets.push(at);
        let file = File::open(&path)?;
        Ok(Spool {
            file,
            path,
            offsets,
            rows,
        })
    }
}

/// The rows with problems of one check.
pub struct Spool {
    file: File,
    path: PathBuf,
    /// Where each line starts, and the end.
    offsets: Vec<u64>,
    /// Each line's row number, in order.
    rows: Vec<u32>,
}

impl Spool {
    /// How many rows have problems.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Rows `from` to `from + count` (fewer at the end), read in one piece.
    pub fn lines(&self, from: usize, count: usize) -> anyhow::Result<Vec<Line>> {
        let to = (from + count).min(self.len());
        if from >= to {
            return Ok(Vec::new());
        }
        let (start, end) = (self.offsets[from], self.offsets[to]);
        let mut bytes = vec![0; (end - start) as usize];
        read_at(&self.file, &mut bytes, start)?;
        bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                let read: Read = serde_json::from_slice(l)?;
                Ok(Line {
                    row: read.row,
                    cells: read.cells,
                    alone: read.alone,
                    problems: read
                        .problems
                        .into_iter()
                        .map(|p| Problem {
                            row: p.row,
                            column: p.column,
                            header: p.header,
                            field: field_name(&p.field),
                            severity: p.severity,
                            message: p.message,
                            value: p.value,
                        })
                        .collect(),
                })
            })
            .collect()
    }

    /// The line of row `row`, if it has problems.
    pub fn find(&self, row: u32) -> anyhow::Result<Option<Line>> {
        match self.rows.binary_search(&row) {
            Ok(i) => Ok(self.lines(i, 1)?.pop()),
            Err(_) => Ok(None),
        }
    }
}

impl Drop for Spool {
    /// A check replaced by another leaves no file behind.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::Cells;

    #[test]
    fn a_page_is_read_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SpoolWriter::create(&dir.path().join("s")).unwrap();
        let problem = |row, field| Problem {
            row,
            column: "B".into(),
            header: "SIRET".into(),
            field,
            severity: Severity::Error,
            message: "\"1\" is not 14 digits\nsecond line".into(),
            value: "1".into(),
        };
        for row in [3, 7, 9] {
            let cells: Cells = ["Acme", "1"].iter().collect();
            w.push(row, &cells, &[problem(row, "siret"), problem(row, "id")], 1)
                .unwrap();
        }
        let spool = w.finish().unwrap();
        assert_eq!(spool.len(), 3);
        let page = spool.lines(1, 5).unwrap();
        assert_eq!(page.len(), 2);
        assert_eq!(page[0].row, 7);
        assert_eq!(page[0].cells, ["Acme", "1"]);
        assert_eq!(page[0].problems[0], problem(7, "siret"));
        assert_eq!(page[0].problems[1].field, "id");
        assert_eq!(page[0].alone, 1);
        assert_eq!(spool.find(9).unwrap().unwrap().row, 9);
        assert!(spool.find(8).unwrap().is_none());
        assert!(spool.lines(3, 2).unwrap().is_empty());
    }
}
