//! What the first rows of a sheet show of its mapping: a few values of each column, and what
//! each transform of the mapping file makes of the first row that has cells for it. The
//! `mapping` command prints one value per column; the page shows three.

use super::coerce;
use super::made::Made;
use crate::mapping::Mapping;
use crate::read::{ReadError, Row, Table};

/// How many data rows are looked at, at most, for samples.
pub const SAMPLE_ROWS: usize = 100;

/// The samples of a sheet.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    /// Per column, its first non-blank values (as many as asked, fewer if the rows read have
    /// fewer).
    pub cells: Vec<Vec<String>>,
    /// Per transform, what it makes of the first row where its cells are not all blank: the
    /// values, or why the pattern does not fit; `None` when they are blank in every row read.
    pub made: Vec<Option<Result<Vec<String>, String>>>,
}

impl Samples {
    /// Reads up to `per_column` non-blank values of each column from the next
    /// [`SAMPLE_ROWS`] rows of `table` at most.
    pub fn read(
        table: &mut Table,
        mapping: &Mapping,
        per_column: usize,
    ) -> Result<Samples, ReadError> {
        let mut samples = Samples {
            cells: vec![Vec::new(); mapping.columns.len()],
            made: vec![None; mapping.transforms.len()],
        };
        let mut made = Made::new(mapping);
        let columns: Vec<(String, String)> = mapping
            .columns
            .iter()
            .map(|c| (c.letter.clone(), c.header.clone()))
            .collect();
        let mut row = Row::new();
        let mut problems = Vec::new();
        for _ in 0..SAMPLE_ROWS {
            if !table.next_row(&mut row)? {
                break;
            }
            for (sample, cell) in samples.cells.iter_mut().zip(&row.cells) {
                let cell = coerce::cell_text(cell);
                if sample.len() < per_column && !cell.is_empty() {
                    sample.push(cell.to_string());
                }
            }
            problems.clear();
            made.run(&row.cells, row.number, &columns, &mut problems);
            for (t, sample) in samples.made.iter_mut().enumerate() {
                if sample.is_some() {
                    continue;
                }
                *sample = match made.values(t) {
                    Some(values) if values.iter().all(String::is_empty) => None,
                    Some(values) => Some(Ok(values.to_vec())),
                    None => {
                        let name = made.name(t);
                        let why = problems.iter().find(|p| p.message.contains(name));
                        Some(Err(why.map_or(String::new(), |p| {
                            format!("row {}: {}", p.row, p.message)
                        })))
                    }
                };
            }
            let full = samples.cells.iter().all(|s| s.len() >= per_column);
            if full && samples.made.iter().all(Option::is_some) {
                break;
            }
        }
        Ok(samples)
    }

    /// The first value of column `index`, or `""` when the rows read have none.
    pub fn first(&self, index: usize) -> &str {
        self.cells
            .get(index)
            .and_then(|c| c.first())
            .map_or("", String::as_str)
    }
}
