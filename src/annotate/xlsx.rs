//! A small XLSX writer that streams: the data sheet's XML is compressed into the archive as
//! rows arrive, and cell notes go to two temporary files (the comments part and its VML
//! drawing) that are copied in at the end, so memory stays flat however many rows or notes.
//!
//! rust_xlsxwriter's constant-memory worksheets stream cells, but keep every note in memory
//! until the file is saved (about 12 kB per note at its peak, measured) and compress the whole
//! sheet in one pass at the end; here both happen along the way. It writes what an annotated
//! copy needs and nothing more: inline strings, four cell styles, frozen header, autofilter,
//! column widths, notes, and a small second sheet. The parts mirror rust_xlsxwriter's output,
//! which Excel and LibreOffice open without repair.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::{self, JoinHandle};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// Cell styles, as indexes into `cellXfs` of [`STYLES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    Plain = 0,
    Bold = 1,
    Error = 2,
    Warning = 3,
}

/// Default row height in pixels (15 points).
const ROW_PX: u32 = 20;
/// Flush the row buffer into the archive past this many bytes.
const FLUSH_AT: usize = 1 << 16;
/// Deflate level: 1 is three times faster than the usual 6, for a file about 1.5 times larger.
const LEVEL: i64 = 1;

const XML_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
"#;
const NS_MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const NS_REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const NS_PKG_REL: &str = "http://schemas.openxmlformats.org/package/2006/relationships";

const STYLES: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
    r#"<fonts count="4">"#,
    r#"<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>"#,
    r#"<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>"#,
    r#"<font><sz val="11"/><color rgb="FF9C0006"/><name val="Calibri"/><family val="2"/></font>"#,
    r#"<font><sz val="11"/><color rgb="FF9C5700"/><name val="Calibri"/><family val="2"/></font>"#,
    r#"</fonts><fills count="4">"#,
    r#"<fill><patternFill patternType="none"/></fill>"#,
    r#"<fill><patternFill patternType="gray125"/></fill>"#,
    r#"<fill><patternFill patternType="solid"><fgColor rgb="FFFFC7CE"/><bgColor indexed="64"/></patternFill></fill>"#,
    r#"<fill><patternFill patternType="solid"><fgColor rgb="FFFFEB9C"/><bgColor indexed="64"/></patternFill></fill>"#,
    r#"</fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"#,
    r#"<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>"#,
    r#"<cellXfs count="4">"#,
    r#"<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>"#,
    r#"<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>"#,
    r#"<xf numFmtId="0" fontId="2" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>"#,
    r#"<xf numFmtId="0" fontId="3" fillId="3" borderId="0" xfId="0" applyFont="1" applyFill="1"/>"#,
    r#"</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>"#,
    r#"<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium9" defaultPivotStyle="PivotStyleLight16"/>"#,
    r#"</styleSheet>"#
);

/// Rows of one sheet as XML, written in order: `row`, then its cells left to right.
pub(super) struct SheetXml {
    pub buf: Vec<u8>,
    /// The current row's number (1-based) as text, for cell references.
    row_ref: Vec<u8>,
    in_row: bool,
    /// The column a cell may take without naming it: the one after the last cell written.
    next_col: u32,
}

impl SheetXml {
    pub fn new() -> SheetXml {
        SheetXml {
            buf: Vec::with_capacity(FLUSH_AT * 2),
            row_ref: Vec::with_capacity(8),
            in_row: false,
            next_col: u32::MAX,
        }
    }

    /// Starts row `row` (0-based), closing the previous one.
    pub fn row(&mut self, row: u32) {
        self.end_row();
        self.row_ref.clear();
        let _ = write!(self.row_ref, "{}", row + 1);
        self.buf.extend_from_slice(b"<row r=\"");
        self.buf.extend_from_slice(&self.row_ref);
        self.buf.extend_from_slice(b"\">");
        self.in_row = true;
        self.next_col = u32::MAX;
    }

    pub fn end_row(&mut self) {
        if self.in_row {
            self.buf.extend_from_slice(b"</row>");
            self.in_row = false;
        }
    }

    /// `<c r="B7"`, or just `<c` for the cell right after the previous one: the reference is
    /// optional there (ECMA-376 §18.3.1.4, and Excel, LibreOffice, Google Sheets and calamine
    /// read it so), and leaving it out makes the sheet a sixth smaller to write and compress.
    fn cell_start(&mut self, col: u16, style: Style) {
        if u32::from(col) == self.next_col {
            self.buf.extend_from_slice(b"<c");
        } else {
            self.buf.extend_from_slice(b"<c r=\"");
            push_col(&mut self.buf, col);
            self.buf.extend_from_slice(&self.row_ref);
            self.buf.push(b'"');
        }
        self.next_col = u32::from(col) + 1;
        if style != Style::Plain {
            self.buf.extend_from_slice(b" s=\"");
            self.buf.push(b'0' + style as u8);
            self.buf.push(b'"');
        }
    }

    /// A text cell, kept as text whatever it looks like.
    pub fn string(&mut self, col: u16, text: &str, style: Style) {
        self.cell_start(col, style);
        self.buf.extend_from_slice(b" t=\"inlineStr\"><is>");
        push_t(&mut self.buf, text);
        self.buf.extend_from_slice(b"</is></c>");
    }

    /// An empty cell that still shows its style (a required value that is missing).
    pub fn blank(&mut self, col: u16, style: Style) {
        self.cell_start(col, style);
        self.buf.extend_from_slice(b"/>");
    }

    pub fn number(&mut self, col: u16, n: u64) {
        self.cell_start(col, Style::Plain);
        let _ = write!(self.buf, "><v>{n}</v></c>");
    }
}

/// Where the notes of the data sheet wait until the end: the `<comment>` elements and the VML
/// shapes, each in a temporary file beside the output.
struct Notes {
    comments: BufWriter<File>,
    comments_path: PathBuf,
    vml: BufWriter<File>,
    vml_path: PathBuf,
    count: u32,
}

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

    /// A note on the cell at (`row`, `col`), 0-based, `height` pixels tall.
    pub fn note(&mut self, row: u32, col: u16, text: &str, height: u32) -> io::Result<()> {
        if self.notes.is_none() {
            self.notes = Some(self.open_notes()?);
        }
        let notes = self.notes.as_mut().expect("notes just opened");
        let s = &mut self.scratch;
        s.clear();
        s.extend_from_slice(b"<comment ref=\"");
        push_col(s, col);
        let _ = write!(s, "{}", row + 1);
        s.extend_from_slice(
            br#"" authorId="0"><text><r><rPr><sz val="8"/><color indexed="81"/><rFont val="Tahoma"/><family val="2"/></rPr>"#,
        );
        push_t(s, text);
        s.extend_from_slice(b"</r></text></comment>");
        notes.comments.write_all(s)?;

        // The box: right of the cell, starting a row above it, as Excel places notes.
        const WIDTH: u32 = 300;
        let (c1, x1) = (col as u32 + 1, 15);
        let (r1, y1) = (row.saturating_sub(1), 10);
        let col_px = &self.col_px;
        let px = |c: u32| col_px.get(c as usize).copied().unwrap_or(64);
        let (c2, x2) = walk(c1, x1, WIDTH, px);
        let (r2, y2) = walk(r1, y1, height, |_| ROW_PX);
        let left: u32 = (0..c1).map(px).sum::<u32>() + x1;
        let top = r1 * ROW_PX + y1;
        notes.count += 1;
        let id = 1024 + notes.count;
        s.clear();
        let _ = write!(
            s,
            r##"<v:shape id="_x0000_s{id}" type="#_x0000_t202" style="position:absolute;margin-left:{}pt;margin-top:{}pt;width:{}pt;height:{}pt;z-index:{};visibility:hidden" fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/><v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div></v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/><x:Anchor>{c1}, {x1}, {r1}, {y1}, {c2}, {x2}, {r2}, {y2}</x:Anchor><x:AutoFill>False</x:AutoFill><x:Row>{row}</x:Row><x:Column>{col}</x:Column></x:ClientData></v:shape>"##,
            pt(left),
            pt(top),
            pt(WIDTH),
            pt(height),
            notes.count,
        );
        notes.vml.write_all(s)?;
        Ok(())
    }

    fn open_notes(&self) -> io::Result<Notes> {
        let comments_path = with_suffix(&self.temp_base, "comments");
        let vml_path = with_suffix(&self.temp_base, "vml");
        let comments = BufWriter::new(File::create(&comments_path)?);
        let vml = match File::create(&vml_path) {
            Ok(f) => BufWriter::new(f),
            Err(e) => {
                let _ = std::fs::remove_file(&comments_path);
                return Err(e);
            }
        };
        Ok(Notes {
            comments,
            comments_path,
            vml,
            vml_path,
            count: 0,
        })
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

    fn parts(
        &mut self,
        rows: &mut SheetXml,
        sheet_name: &str,
        (first, last, last_col): (u32, u32, u16),
        (second_name, second_rows, second_widths): (&str, &mut SheetXml, &[f64]),
    ) -> io::Result<()> {
        rows.end_row();
        self.flush_rows(rows, true)?;
        let mut range = Vec::new();
        range.extend_from_slice(b"A");
        let _ = write!(range, "{}:", first + 1);
        push_col(&mut range, last_col);
        let _ = write!(range, "{}", last + 1);
        let range = String::from_utf8(range).expect("ASCII");
        let has_notes = self.notes.is_some();
        let mut tail = format!(
            r#"</sheetData><autoFilter ref="{range}"/><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>"#
        );
        if has_notes {
            tail.push_str(r#"<legacyDrawing r:id="rId1"/>"#);
        }
        tail.push_str("</worksheet>");
        self.zip()?.write_all(tail.as_bytes())?;

        if let Some(notes) = self.notes.take() {
            self.copy_notes(notes)?;
            self.part(
                "xl/worksheets/_rels/sheet1.xml.rels",
                &relationships(&[
                    ("vmlDrawing", "../drawings/vmlDrawing1.vml"),
                    ("comments", "../comments1.xml"),
                ]),
            )?;
        }

        second_rows.end_row();
        let mut s = String::new();
        s.push_str(XML_HEAD);
        s.push_str(&format!(
            r#"<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}"><sheetViews><sheetView workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/>"#
        ));
        cols_xml(&mut s, second_widths);
        s.push_str("<sheetData>");
        s.push_str(std::str::from_utf8(&second_rows.buf).map_err(io::Error::other)?);
        s.push_str(r#"</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>"#);
        self.part("xl/worksheets/sheet2.xml", &s)?;

        self.part("xl/styles.xml", STYLES)?;
        let mut names = Vec::new();
        for n in [sheet_name, second_name] {
            let mut e = Vec::new();
            push_escaped(&mut e, n, true);
            names.push(String::from_utf8(e).expect("UTF-8"));
        }
        let mut quoted = Vec::new();
        push_escaped(&mut quoted, &sheet_name.replace('\'', "''"), false);
        let quoted = String::from_utf8(quoted).expect("UTF-8");
        let filter_ref = dollar_range(first, last, last_col);
        self.part(
            "xl/workbook.xml",
            &format!(
                r#"{XML_HEAD}<workbook xmlns="{NS_MAIN}" xmlns:r="{NS_REL}"><workbookPr/><bookViews><workbookView xWindow="240" yWindow="15" windowWidth="16095" windowHeight="9660"/></bookViews><sheets><sheet name="{}" sheetId="1" r:id="rId1"/><sheet name="{}" sheetId="2" r:id="rId2"/></sheets><definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'{quoted}'!{filter_ref}</definedName></definedNames><calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>"#,
                names[0], names[1]
            ),
        )?;
        self.part(
            "xl/_rels/workbook.xml.rels",
            &relationships(&[
                ("worksheet", "worksheets/sheet1.xml"),
                ("worksheet", "worksheets/sheet2.xml"),
                ("styles", "styles.xml"),
            ]),
        )?;
        let mut types = format!(
            r#"{XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="vml" ContentType="application/vnd.openxmlformats-officedocument.vmlDrawing"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#
        );
        if has_notes {
            types.push_str(r#"<Override PartName="/xl/comments1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"/>"#);
        }
        types.push_str("</Types>");
        self.part("[Content_Types].xml", &types)?;
        self.part(
            "_rels/.rels",
            &format!(
                r#"{XML_HEAD}<Relationships xmlns="{NS_PKG_REL}"><Relationship Id="rId1" Type="{NS_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
            ),
        )
    }

    fn copy_notes(&mut self, notes: Notes) -> io::Result<()> {
        let Notes {
            comments,
            comments_path,
            vml,
            vml_path,
            count,
        } = notes;
        let comments = comments.into_inner().map_err(|e| e.into_error())?;
        let vml = vml.into_inner().map_err(|e| e.into_error())?;
        drop((comments, vml));

        let options = self.options;
        self.zip()?
            .start_file("xl/comments1.xml", options)
            .map_err(io::Error::other)?;
        self.zip()?.write_all(XML_HEAD.as_bytes())?;
        self.zip()?.write_all(format!(r#"<comments xmlns="{NS_MAIN}"><authors><author>custbulk</author></authors><commentList>"#).as_bytes())?;
        io::copy(&mut File::open(&comments_path)?, self.zip()?)?;
        self.zip()?.write_all(b"</commentList></comments>")?;

        self.zip()?
            .start_file("xl/drawings/vmlDrawing1.vml", options)
            .map_err(io::Error::other)?;
        // Shape ids come in blocks of 1024, each listed in the id map.
        let blocks = (1024 + count) / 1024;
        let map: Vec<String> = (1..=blocks).map(|b| b.to_string()).collect();
        self.zip()?.write_all(
            format!(
                r#"<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel"><o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{}"/></o:shapelayout><v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>"#,
                map.join(",")
            )
            .as_bytes(),
        )?;
        io::copy(&mut File::open(&vml_path)?, self.zip()?)?;
        self.zip()?.write_all(b"</xml>")?;
        Ok(())
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

fn relationships(targets: &[(&str, &str)]) -> String {
    let mut s = format!(r#"{XML_HEAD}<Relationships xmlns="{NS_PKG_REL}">"#);
    for (i, (kind, target)) in targets.iter().enumerate() {
        s.push_str(&format!(
            r#"<Relationship Id="rId{}" Type="{NS_REL}/{kind}" Target="{target}"/>"#,
            i + 1
        ));
    }
    s.push_str("</Relationships>");
    s
}

fn cols_xml(s: &mut String, widths: &[f64]) {
    if widths.is_empty() {
        return;
    }
    s.push_str("<cols>");
    for (i, w) in widths.iter().enumerate() {
        // Excel stores the width with its padding, in 1/256 of a character.
        let stored = (width_px(*w) as f64 / 7.0 * 256.0).trunc() / 256.0;
        s.push_str(&format!(
            r#"<col min="{0}" max="{0}" width="{stored}" customWidth="1"/>"#,
            i + 1
        ));
    }
    s.push_str("</cols>");
}

/// A width in characters of Calibri 11 as pixels, as Excel converts it.
fn width_px(w: f64) -> u32 {
    if w < 1.0 {
        (w * 12.0 + 0.5) as u32
    } else {
        (w * 7.0 + 0.5) as u32 + 5
    }
}

/// Walks `length` pixels from (`start`, `offset`) over cells of `size(i)` pixels: where it ends.
fn walk(start: u32, offset: u32, length: u32, size: impl Fn(u32) -> u32) -> (u32, u32) {
    let (mut i, mut at, mut left) = (start, offset, length);
    loop {
        let s = size(i).max(1);
        if at + left < s {
            return (i, at + left);
        }
        left -= s - at;
        at = 0;
        i += 1;
    }
}

fn pt(px: u32) -> f64 {
    px as f64 * 0.75
}

/// `$A$3:$I$7`.
fn dollar_range(first: u32, last: u32, last_col: u16) -> String {
    let mut v = b"$A$".to_vec();
    let _ = write!(v, "{}:$", first + 1);
    push_col(&mut v, last_col);
    let _ = write!(v, "${}", last + 1);
    String::from_utf8(v).expect("ASCII")
}

/// Column letters: 0 → `A`, 27 → `AB`.
fn push_col(buf: &mut Vec<u8>, col: u16) {
    let mut letters = [0u8; 3];
    let mut n = col as usize + 1;
    let mut i = 3;
    while n > 0 {
        i -= 1;
        letters[i] = b'A' + ((n - 1) % 26) as u8;
        n = (n - 1) / 26;
    }
    buf.extend_from_slice(&letters[i..]);
}

/// `<t>text</t>`, with `xml:space="preserve"` when spaces at either end must survive.
fn push_t(buf: &mut Vec<u8>, text: &str) {
    let edge = |c: Option<char>| c.is_some_and(char::is_whitespace);
    if edge(text.chars().next()) || edge(text.chars().next_back()) {
        buf.extend_from_slice(b"<t xml:space=\"preserve\">");
    } else {
        buf.extend_from_slice(b"<t>");
    }
    push_escaped(buf, text, false);
    buf.extend_from_slice(b"</t>");
}

/// Bytes that need a look: XML's specials, control characters, `_` (Excel reads `_x0041_`
/// as an escape) and the lead byte of U+FFFE/U+FFFF. A table, because every cell is scanned.
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b != b'\t' as usize && b != b'\n' as usize;
        b += 1;
    }
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'&' as usize] = true;
    t[b'"' as usize] = true;
    t[b'_' as usize] = true;
    t[0xEF] = true;
    t
};

/// Escapes `text` for XML content (and attributes when `attr`): the usual entities, and
/// characters XML cannot hold as Excel's `_xHHHH_`, so they read back as they were.
fn push_escaped(buf: &mut Vec<u8>, text: &str, attr: bool) {
    let bytes = text.as_bytes();
    if !bytes.iter().any(|&b| SPECIAL[b as usize]) {
        buf.extend_from_slice(bytes);
        return;
    }
    for (i, c) in text.char_indices() {
        match c {
            '<' => buf.extend_from_slice(b"&lt;"),
            '>' => buf.extend_from_slice(b"&gt;"),
            '&' => buf.extend_from_slice(b"&amp;"),
            '"' if attr => buf.extend_from_slice(b"&quot;"),
            '\t' | '\n' => buf.push(c as u8),
            // A literal `_xHHHH_` would read back as the character it names: escape its `_`.
            '_' if looks_escaped(&bytes[i..]) => buf.extend_from_slice(b"_x005F_"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(buf, "_x{:04X}_", c as u32);
            }
            c => {
                let mut tmp = [0u8; 4];
                buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
        }
    }
}

/// `_xHHHH_` at the start of `bytes`.
fn looks_escaped(bytes: &[u8]) -> bool {
    bytes.len() >= 7
        && bytes[1] == b'x'
        && bytes[2..6].iter().all(u8::is_ascii_hexdigit)
        && bytes[6] == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str) -> String {
        let mut v = Vec::new();
        push_escaped(&mut v, s, false);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn text_is_escaped_so_it_reads_back_as_written() {
        assert_eq!(esc("01000"), "01000");
        assert_eq!(esc("a<b & c>d"), "a&lt;b &amp; c&gt;d");
        assert_eq!(esc("x\u{1}y"), "x_x0001_y");
        assert_eq!(esc("_x0041_"), "_x005F_x0041_");
        assert_eq!(esc("snake_case"), "snake_case");
        assert_eq!(esc("مخبزة مارتن"), "مخبزة مارتن");
    }

    #[test]
    fn columns_and_ranges_are_spelt_as_excel_does() {
        let col = |c| {
            let mut v = Vec::new();
            push_col(&mut v, c);
            String::from_utf8(v).unwrap()
        };
        assert_eq!(col(0), "A");
        assert_eq!(col(25), "Z");
        assert_eq!(col(26), "AA");
        assert_eq!(col(16383), "XFD");
        assert_eq!(dollar_range(2, 6, 8), "$A$3:$I$7");
    }

    #[test]
    fn note_boxes_end_where_their_size_says() {
        // 70 px from 10 px into a 20 px row: 10 px there, then three rows, ending at 0.
        assert_eq!(walk(3, 10, 70, |_| 20), (7, 0));
        assert_eq!(walk(0, 15, 30, |_| 64), (0, 45));
    }
}
