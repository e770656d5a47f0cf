//! The rows below a table's header: the rows read ahead while the header was looked for, then
//! the source's, each padded or trimmed to the header's width. What [`super::Table`] reads, and
//! what [`super::Table::take_rows`] hands to another thread.

use std::collections::VecDeque;

use super::{ReadError, Row, Source};

/// The rows below a table's header, from the rows read ahead and then its source.
pub struct Rows {
    pub(super) pending: VecDeque<Row>,
    pub(super) source: Source,
    /// The header's width, when taken from the table.
    pub(super) width: usize,
    /// CSV records may be shorter than the header; sheet rows naturally omit trailing blanks.
    pub(super) short_rows_are_ragged: bool,
}

impl Rows {
    pub(super) fn new(source: Source) -> Rows {
        Rows {
            pending: VecDeque::new(),
            source,
            width: 0,
            short_rows_are_ragged: false,
        }
    }

    /// Fills `row` with the next data row, as [`super::Table::next_row`] does; `Ok(false)` at the end.
    pub fn next_row(&mut self, row: &mut Row) -> Result<bool, ReadError> {
        self.next_shaped(row, self.width)
    }

    pub(super) fn next_shaped(&mut self, row: &mut Row, width: usize) -> Result<bool, ReadError> {
        if let Some(mut buffered) = self.pending.pop_front() {
            std::mem::swap(row, &mut buffered);
        } else {
            self.source.start();
            if !self.source.next(row)? {
                return Ok(false);
            }
        }
        shape(row, width, self.short_rows_are_ragged);
        Ok(true)
    }
}

/// Pads or trims `row.cells` to the header's `width` and marks ragged rows.
fn shape(row: &mut Row, width: usize, short_rows_are_ragged: bool) {
    let filled = row.cells.len();
    if filled == width {
        // The common case: a row exactly as wide as the header.
        row.ragged = None;
        return;
    }
    let used = row.used_width();
    let keep = width.max(used);
    row.cells.truncate(keep);
    while row.cells.len() < keep {
        row.cells.push("");
    }
    row.ragged = if used > width || (short_rows_are_ragged && filled < width && used > 0) {
        Some(if short_rows_are_ragged { filled } else { used })
    } else {
        None
    };
}
