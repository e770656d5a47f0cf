//! How many rows an input holds, told before it is read to its end, for the progress bar's
//! total: a sheet says it (its `<dimension>` in XLSX and XLSB, the loaded range in XLS and
//! ODS); a CSV or JSON file's size is weighed against the rows its first bytes held.
//!
//! For files read by bytes, the reader's own thread samples, at each buffer refill, how many
//! bytes it had taken from the file and how many rows it had made of them. At a refill the
//! parser has used every byte before it (but for the record under way), so the pair is exact
//! to a row, whereas the bytes read alone would run a whole buffer (64 KiB, thousands of rows
//! of a small file) ahead of the rows. The first refills are small (8 KiB, doubling up to the
//! buffer's size), so that a file tells its size after a few hundred rows rather than a few
//! thousand. The cost is one relaxed store per row (the row count) and two per refill; the
//! progress bar reads the counters when it draws, from its own thread.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// How far a reader is through its input, readable from any thread. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Extent {
    counters: Arc<Counters>,
    /// The rows above the data: the header's row number (0 for JSON, whose keys are the
    /// headers).
    start: u64,
}

#[derive(Debug, Default)]
struct Counters {
    /// The last row number the reader has made (blank rows included).
    rows: AtomicU64,
    /// Bytes taken from the file before the last refill, and `rows` then. Unused for sheets.
    sampled_bytes: AtomicU64,
    sampled_rows: AtomicU64,
    /// The file's size in bytes, or the sheet's last row number; 0 while unknown.
    end: AtomicU64,
    /// `end` counts bytes (CSV, JSON), not rows (sheets).
    by_bytes: bool,
}

impl Extent {
    /// The extent of a file of `size` bytes, whose rows are weighed against its bytes.
    pub(crate) fn bytes(size: u64) -> Extent {
        let counters = Counters {
            end: AtomicU64::new(size),
            by_bytes: true,
            ..Counters::default()
        };
        Extent {
            counters: Arc::new(counters),
            start: 0,
        }
    }

    /// The extent of a sheet whose last row is `last` (0: told later, see [`Extent::set_end`]).
    pub(crate) fn rows(last: u64) -> Extent {
        let extent = Extent::default();
        extent.set_end(last);
        extent
    }

    /// How many data rows the input holds (blank ones included), as far as can be told now:
    /// `None` before a sheet's end is known or a file's first buffer is parsed, and when the
    /// reader has gone past the end a sheet declared (a wrong dimension tells nothing).
    pub fn data_rows(&self) -> Option<u64> {
        let c = &*self.counters;
        let end = c.end.load(Ordering::Relaxed);
        let total = if c.by_bytes {
            let bytes = c.sampled_bytes.load(Ordering::Relaxed);
            let rows = c.sampled_rows.load(Ordering::Relaxed);
            if bytes == 0 || rows <= self.start {
                return None;
            }
            (rows as f64 * end as f64 / bytes as f64).round() as u64
        } else {
            if c.rows.load(Ordering::Relaxed) > end {
                return None;
            }
            end
        };
        total.checked_sub(self.start).filter(|&n| n > 0)
    }

    /// The same extent, with its data below row `start` (the header).
    pub(crate) fn below(mut self, start: u64) -> Extent {
        self.start = start;
        self
    }

    pub(crate) fn set_end(&self, end: u64) {
        self.counters.end.store(end, Ordering::Relaxed);
    }

    /// The reader has made row `number`: a plain store, from the reader's thread.
    pub(crate) fn row(&self, number: u64) {
        self.counters.rows.store(number, Ordering::Relaxed);
    }

    /// A reader of `inner` (the file, from `offset` on) that samples this extent at each read.
    pub(crate) fn count<R>(&self, inner: R, offset: u64) -> Counted<R> {
        Counted {
            inner,
            read: offset,
            counters: self.counters.clone(),
        }
    }
}

/// The first refill's size; each next one may double, up to what the parser asks.
const FIRST_READ: usize = 8 * 1024;

/// A reader under a buffered parser: each `read` is a refill, made once the parser has used
/// what came before, so it is where the bytes taken and the rows made are sampled together.
pub(crate) struct Counted<R> {
    inner: R,
    read: u64,
    counters: Arc<Counters>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let c = &*self.counters;
        c.sampled_rows
            .store(c.rows.load(Ordering::Relaxed), Ordering::Relaxed);
        c.sampled_bytes.store(self.read, Ordering::Relaxed);
        let most = (self.read as usize).max(FIRST_READ).min(buf.len());
        let n = self.inner.read(&mut buf[..most])?;
        self.read += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_holds_its_size_over_the_bytes_per_row_so_far() {
        // 10 rows of 10 bytes, a header row above them, read 40 bytes at a time.
        let file = [b'x'; 110];
        let extent = Extent::bytes(110).below(1);
        let mut reader = extent.count(&file[..], 0);
        let mut buf = [0u8; 40];
        reader.read_exact(&mut buf).unwrap();
        assert_eq!(extent.data_rows(), None, "nothing parsed yet");
        extent.row(4);
        reader.read_exact(&mut buf).unwrap();
        // 4 rows (the header and 3 data rows) in the first 40 bytes: 11 rows in 110 bytes.
        assert_eq!(extent.data_rows(), Some(10));
    }

    #[test]
    fn a_sheet_holds_the_rows_below_its_header_to_its_last() {
        let extent = Extent::rows(101).below(1);
        extent.row(51);
        assert_eq!(extent.data_rows(), Some(100));
        // A dimension that undercounts tells nothing.
        extent.row(102);
        assert_eq!(extent.data_rows(), None);
        assert_eq!(Extent::rows(0).data_rows(), None);
        assert_eq!(Extent::rows(1).below(1).data_rows(), None);
    }
}
