//! A small XLSX writer that streams: the data sheet's XML is compressed into the archive as
//! rows arrive, and cell notes go to two temporary files (the comments part and its VML
//! drawing) that are copied in at the end, so memory stays flat however many rows or notes.
//!
//! rust_xlsxwriter's constant-memory worksheets stream cells, but keep every note in memory
//! until the file is saved (about 12 kB per note at its peak, measured) and compress the whole
//! sheet in one pass at the end; here both happen along the way. It writes what an annotated
//! copy needs and nothing more: inline strings, seven cell styles (three of them right to left,
//! for Arabic columns), frozen header, autofilter, column widths, notes, and a small second
//! sheet. The parts mirror rust_xlsxwriter's output,
//! which Excel opens without repair; LibreOffice reads ours, notes, fills and filter included.
//!
//! `text` writes cells and escapes text, `notes` places notes and keeps them on disk until the
//! end, `package` writes the parts around the sheets.

mod notes;
mod package;
mod text;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::{self, JoinHandle};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use notes::Notes;
use package::{cols_xml, NS_MAIN, NS_REL, XML_HEAD};
pub(super) use text::{needs_escape, SheetXml};

/// Cell styles, as indexes into `cellXfs` of `package::STYLES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    Plain = 0,
    Bold = 1,
    Error = 2,
    Warning = 3,
    /// The three of a cell's own text, read right to left (Excel's reading order): an Arabic
    /// field's column.
    PlainRtl = 4,
    ErrorRtl = 5,
    WarningRtl = 6,
}

impl Style {
    /// This style, read right to left.
    pub fn right_to_left(self) -> Style {
        match self {
            Style::Plain => Style::PlainRtl,
            Style::Error => Style::ErrorRtl,
            Style::Warning => Style::WarningRtl,
            other => other,
        }
    }
}

/// Default row height in pixels (15 points).
const ROW_PX: u32 = 20;
/// Flush the row buffer into the archive past this many bytes.
const FLUSH_AT: usize = 1 << 16;
/// Deflate level: 1 is three times faster than the usual 6, for a file about 1.5 times larger.
const LEVEL: i64 = 1;

type Zip = ZipWriter<BufWriter<File>>;

/// The data sheet's compressor: a thread of its own, fed chunks of XML, so that producing the
/// XML and deflating it overlap (deflate is the largest cost of the copy).
struct Compressor {
    chunks: Option<SyncSender<Vec<u8>>>,
    empties: Receiver<Vec<u8>>,
    thread: Option<JoinHandle<io::Result<Zip>>>,
}

impl Compressor {
    fn start(mut zip: Zip) -> io::Result<Compressor> {
        let (chunks, full) = mpsc::sync_channel::<Vec<u8>>(4);
        let (give_back, empties) = mpsc::sync_channel::<Vec<u8>>(6);
        let thread = thread::Builder::new()
            .name("custbulk-deflate".into())
            .spawn(move || {
                for mut chunk in full {
                    zip.write_all(&chunk)?;
                    chunk.clear();
                    let _ = give_back.try_send(chunk);
                }
                Ok(zip)
            })?;
        Ok(Compressor {
            chunks: Some(chunks),
            empties,
            thread: Some(thread),
        })
    }

    /// Hands over `buf`'s bytes, leaving an empty buffer in its place.
    fn send(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        let spare = self
            .empties
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(buf.capacity()));
        let full = std::mem::replace(buf, spare);
        let sent = self.chunks.as_ref().is_some_and(|c| c.send(full).is_ok());
        if sent {
            Ok(())
        } else {
            // The thread stopped on an error: it says which.
            match self.finish() {
                Ok(_) => Err(io::Error::other("the compressing thread stopped")),
                Err(e) => Err(e),
            }
        }
    }

    /// Waits for every chunk to be compressed and takes the archive back.
    fn finish(&mut self) -> io::Result<Zip> {
        self.chunks = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the compressing thread panicked")),
            None => Err(io::Error::other("the compressing thread already stopped")),
        }
    }
}

impl Drop for Compressor {
    /// A book dropped half-way (the run failed) waits for its thread, so that nothing writes to
    /// the temporary file once the caller removes it.
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.finish();
        }
    }
}

/// The workbook being written into `file`: the data sheet first (streamed), then at
/// [`Book::finish`] the notes, a second sheet and the package parts.
pub(super) struct Book {
    /// The archive, when not away with the compressor.
    zip: Option<Zip>,
    compressor: Option<Compressor>,
    options: SimpleFileOptions,
    /// Column widths in pixels, for placing notes.
    col_px: Vec<u32>,
    notes: Option<Notes>,
    /// Where temporary note files go: `{base}.comments`, `{base}.vml`.
    temp_base: PathBuf,
    scratch: Vec<u8>,
}

impl Book {
    pub fn new(file: File, temp_base: &Path) -> Book {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(LEVEL))
            .unix_permissions(0o644);
        Book {
            zip: Some(ZipWriter::new(BufWriter::with_capacity(1 << 16, file))),
            compressor: None,
            options,
            col_px: Vec::new(),
            notes: None,
            temp_base: temp_base.to_path_buf(),
            scratch: Vec::new(),
        }
    }

    /// Starts the data sheet: frozen rows above `frozen_below` (0-based row of the header)
    /// and the column widths (in characters).
    pub fn start_sheet(&mut self, header_row: u32, widths: &[f64]) -> io::Result<()> {
        let options = self.options;
        let zip = self.zip()?;
        zip.start_file("xl/worksheets/sheet1.xml", options)
            .map_err(io::Error::other)?;
        let mut s = String::new();
        s.push_str(XML_HEAD);
        s.push_str(&format!(
            r#"<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}"><sheetViews><sheetView tabSelected="1" workbookViewId="0"><pane ySplit="{0}" topLeftCell="A{1}" activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A{1}" sqref="A{1}"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>"#,
            header_row + 1,
            header_row + 2
        ));
        cols_xml(&mut s, widths);
        s.push_str("<sheetData>");
        zip.write_all(s.as_bytes())?;
        self.col_px = widths.iter().map(|&w| width_px(w)).collect();
        let zip = self.zip.take().expect("the archive is here");
        self.compressor = Some(Compressor::start(zip)?);
        Ok(())
    }

    /// The archive, back from the compressor if it was away.
    fn zip(&mut self) -> io::Result<&mut Zip> {
        if let Some(mut c) = self.compressor.take() {
            self.zip = Some(c.finish()?);
        }
        self.zip
            .as_mut()
            .ok_or_else(|| io::Error::other("the archive was lost to an earlier error"))
    }

    /// Moves the buffered rows into the archive once there are enough of them.
    pub fn flush_rows(&mut self, rows: &mut SheetXml, force: bool) -> io::Result<()> {
        if force || rows.buf.len() >= FLUSH_AT {
            match &mut self.compressor {
                Some(c) => c.send(&mut rows.buf)?,
                None => {
                    self.zip()?.write_all(&rows.buf)?;
                    rows.buf.clear();
                }
            }
        }
        Ok(())
    }

    /// Ends the data sheet (`filter` is its autofilter range: first row, last row, last
    /// column), adds the notes, the second sheet (`second`: name, rows XML, column widths)
    /// and the package parts, and closes the archive.
    pub fn finish(
        mut self,
        rows: &mut SheetXml,
        sheet_name: &str,
        filter: (u32, u32, u16),
        second: (&str, &mut SheetXml, &[f64]),
    ) -> io::Result<()> {
        let result = self.parts(rows, sheet_name, filter, second);
        remove_temp_files(&self.temp_base);
        result?;
        self.zip()?;
        let zip = self.zip.take().expect("the archive is here");
        let mut out = zip.finish().map_err(io::Error::other)?;
        out.flush()?;
        out.get_ref().sync_all()
    }

    fn part(&mut self, name: &str, text: &str) -> io::Result<()> {
        let options = self.options;
        self.zip()?
            .start_file(name, options)
            .map_err(io::Error::other)?;
        self.zip()?.write_all(text.as_bytes())
    }
}

/// Removes the note files of a book whose temporary base is `base` (they exist only once a
/// note was written): after [`Book::finish`], or when a run fails half-way.
pub(super) fn remove_temp_files(base: &Path) {
    for suffix in ["comments", "vml"] {
        let _ = std::fs::remove_file(with_suffix(base, suffix));
    }
}

fn with_suffix(base: &Path, suffix: &str) -> PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(".");
    s.push(suffix);
    PathBuf::from(s)
}

/// A width in characters of Calibri 11 as pixels, as Excel converts it.
fn width_px(w: f64) -> u32 {
    if w < 1.0 {
        (w * 12.0 + 0.5) as u32
    } else {
        (w * 7.0 + 0.5) as u32 + 5
    }
}
