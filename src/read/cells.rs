//! [`Cells`]: one row's cells as text, end to end in a single reused buffer.
//!
//! A row of separate `String`s costs a copy and a heap buffer per cell, and a row handed from
//! the reading thread to the checking one is then a cache miss per cell. Here a CSV record
//! becomes one copy of its bytes plus its field ends, and a row is one sequential read.

use std::fmt;
use std::ops::{Index, Range};

/// The cells of one row, in column order. Cell `i` is `text()[span(i)]`.
#[derive(Clone, Default)]
pub struct Cells {
    text: String,
    /// Where each cell ends in `text`; cell `i` starts `gap` bytes after cell `i - 1` ends.
    ends: Vec<usize>,
    /// Bytes between one cell and the next: 0, or 1 for a CSV line kept as read, with its
    /// (ASCII) delimiters in place.
    gap: usize,
    /// [`Cells::surely_nfc`], once worked out for the cells as they are.
    nfc: Option<bool>,
}

impl PartialEq for Cells {
    fn eq(&self, other: &Cells) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Cells {}

impl Cells {
    pub fn new() -> Cells {
        Cells::default()
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Cell `i`, or `None` past the last cell.
    pub fn get(&self, i: usize) -> Option<&str> {
        (i < self.len()).then(|| &self.text[self.span(i)])
    }

    /// Where cell `i` lies in [`Cells::text`]. Panics past the last cell.
    pub fn span(&self, i: usize) -> Range<usize> {
        let start = if i == 0 {
            0
        } else {
            self.ends[i - 1] + self.gap
        };
        start..self.ends[i]
    }

    /// Every cell's text, each after the one before (and a delimiter, for a CSV line kept as
    /// read: always ASCII): what whole-row scans (NFC, escaping) read in one pass.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether every cell is surely in NFC ([`surely_nfc`](super::surely_nfc)), as worked out
    /// by [`Cells::find_nfc`] when the reader called it.
    pub fn surely_nfc(&self) -> bool {
        self.nfc.unwrap_or_else(|| super::surely_nfc(&self.text))
    }

    /// Works out [`Cells::surely_nfc`] now: the reading thread does, to spare the checking
    /// one a pass over the row.
    pub fn find_nfc(&mut self) {
        self.nfc = Some(super::surely_nfc(&self.text));
    }

    /// True when every cell is empty or white space: nearly always decided by the first byte.
    pub fn is_blank(&self) -> bool {
        if self.gap == 0 {
            is_blank(&self.text)
        } else {
            self.iter().all(is_blank)
        }
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter {
            cells: self,
            front: 0,
            back: self.len(),
        }
    }

    /// Removes every cell, keeping the buffers.
    pub fn clear(&mut self) {
        self.nfc = None;
        self.text.clear();
        self.ends.clear();
        self.gap = 0;
    }

    pub fn push(&mut self, cell: &str) {
        self.close_gaps();
        self.nfc = None;
        self.text.push_str(cell);
        self.ends.push(self.text.len());
    }

    /// Keeps the first `n` cells.
    pub fn truncate(&mut self, n: usize) {
        if n < self.len() {
            self.nfc = None;
            self.text
                .truncate(if n == 0 { 0 } else { self.ends[n - 1] });
            self.ends.truncate(n);
        }
    }

    /// Sets cell `index` to what `write` appends to the (empty) buffer it is given; cells
    /// skipped on the way are empty. Sources write cells left to right, which is cheap; a
    /// cell to the left of the last one (an out-of-order sheet) rebuilds the row.
    pub fn set(&mut self, index: usize, write: impl FnOnce(&mut String)) {
        if index < self.len() {
            let mut cells = self.to_vec();
            cells[index].clear();
            write(&mut cells[index]);
            *self = cells.iter().collect();
            return;
        }
        self.close_gaps();
        self.nfc = None;
        while self.ends.len() < index {
            self.ends.push(self.text.len());
        }
        write(&mut self.text);
        self.ends.push(self.text.len());
    }

    /// Replaces the cells with a record's: `text` holds every field, each `gap` bytes (0, or 1
    /// for an ASCII delimiter) after the one before, and `ends` where each ends. `text` must
    /// split into valid UTF-8 at every end: the caller has checked it.
    pub(crate) fn assign(&mut self, text: &str, ends: &[usize], gap: usize) {
        self.nfc = None;
        self.text.clear();
        self.text.push_str(text);
        self.ends.clear();
        self.ends.extend_from_slice(ends);
        self.gap = gap;
        debug_assert!(self.ends.iter().all(|&e| self.text.is_char_boundary(e)));
        debug_assert!(
            gap == 0
                || self
                    .ends
                    .iter()
                    .all(|&e| e == text.len() || text.as_bytes()[e].is_ascii())
        );
    }

    /// Rewrites the cells end to end, with nothing between them, before a cell is added.
    fn close_gaps(&mut self) {
        if self.gap > 0 {
            *self = self.iter().collect();
        }
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }
}

impl Index<usize> for Cells {
    type Output = str;

    fn index(&self, i: usize) -> &str {
        match self.get(i) {
            Some(cell) => cell,
            None => panic!("cell {i} of a row of {} cells", self.len()),
        }
    }
}

/// `str::trim` with a fast exit for the usual cell that starts and ends with a visible
/// character (ASCII first, as bytes).
#[inline]
pub fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&a), Some(&b)) if a > b' ' && a < 0x80 && b > b' ' && b < 0x80 => s,
        (None, _) => s,
        _ if !s.starts_with(char::is_whitespace) && !s.ends_with(char::is_whitespace) => s,
        _ => s.trim(),
    }
}

/// True when `text` is empty or white space: nearly always decided by the first byte.
fn is_blank(text: &str) -> bool {
    match text.bytes().find(|b| !b.is_ascii_whitespace()) {
        None => true,
        Some(b) if b < 0x80 => false,
        Some(_) => text.trim().is_empty(),
    }
}

impl<S: AsRef<str>> FromIterator<S> for Cells {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Cells {
        let mut cells = Cells::new();
        for cell in iter {
            cells.push(cell.as_ref());
        }
        cells
    }
}

impl fmt::Debug for Cells {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<S: AsRef<str>> PartialEq<[S]> for Cells {
    fn eq(&self, other: &[S]) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b.as_ref())
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for Cells {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for Cells {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
    }
}

impl<'a> IntoIterator for &'a Cells {
    type Item = &'a str;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The cells of a row, left to right.
#[derive(Clone)]
pub struct Iter<'a> {
    cells: &'a Cells,
    front: usize,
    back: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.front == self.back {
            return None;
        }
        self.front += 1;
        self.cells.get(self.front - 1)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        self.cells.get(self.back)
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_set_left_to_right_with_gaps_and_out_of_order() {
        let mut c = Cells::new();
        c.set(1, |s| s.push('b'));
        c.set(3, |s| s.push_str("dé"));
        assert_eq!(c, ["", "b", "", "dé"]);
        c.set(0, |s| s.push('a'));
        assert_eq!(c, ["a", "b", "", "dé"]);
        assert_eq!(c.text(), "abdé");
        assert_eq!(&c.text()[c.span(3)], "dé");
        c.truncate(2);
        assert_eq!(c, ["a", "b"]);
        c.push("");
        assert_eq!(c.iter().rev().collect::<Vec<_>>(), ["", "b", "a"]);
        assert_eq!(format!("{c:?}"), r#"["a", "b", ""]"#);
        assert_eq!(&c[1], "b");
        assert_eq!(c.get(3), None);
    }

    #[test]
    fn what_the_reader_found_of_nfc_is_forgotten_when_a_cell_changes() {
        let mut c: Cells = ["Zoé", "الشركة"].into_iter().collect();
        c.find_nfc();
        assert!(c.surely_nfc());
        // The page's edit of a cell: an accent typed as its own mark.
        c.set(0, |s| s.push_str("Zoe\u{301}"));
        assert!(!c.surely_nfc());
        c.find_nfc();
        assert!(!c.surely_nfc());
        c.clear();
        c.push("Zoé");
        assert!(c.surely_nfc());
    }

    #[test]
    fn a_line_kept_with_its_delimiters_reads_as_its_cells() {
        let mut c = Cells::new();
        c.assign("a;;dé; ", &[1, 2, 6, 8], 1);
        assert_eq!(c, ["a", "", "dé", " "]);
        assert_eq!(c, ["a", "", "dé", " "].into_iter().collect::<Cells>());
        assert!(!c.is_blank());
        c.push("z");
        assert_eq!(c, ["a", "", "dé", " ", "z"]);
        // A line of delimiters is a blank row, as Excel saves the empty rows after a list.
        c.assign(" ;;\t", &[1, 2, 4], 1);
        assert!(c.is_blank());
        c.truncate(2);
        assert_eq!(c, [" ", ""]);
    }

    #[test]
    fn blank_means_white_space_only() {
        for blank in [&["", " "][..], &["\t\r\n"], &["\u{a0}", " \u{3000} "], &[]] {
            assert!(blank.iter().collect::<Cells>().is_blank(), "{blank:?}");
        }
        for text in [&["", "x"][..], &[" x "], &["\u{a0}é"], &["\u{3000}0"]] {
            assert!(!text.iter().collect::<Cells>().is_blank(), "{text:?}");
        }
    }
}
