//! What a workbook may cost to read. A 3 MB XLSX can hold a cell that inflates to 3 GB, and
//! calamine reads a member whole (shared strings) or a cell whole (sheet XML) before custbulk
//! sees it, so the bounds are checked where custbulk can act:
//!
//! - before calamine opens the archive, from the zip directory: a member (sheet XML, shared
//!   strings, styles) that inflates past [`FREE_INFLATE`] to more than [`MAX_RATIO`] times
//!   its compressed size is refused. The directory cannot lie about it: the zip crate fails a
//!   member that inflates past its declared size, so a small declared size only ends the read
//!   sooner (as a damaged file).
//! - as cells stream: a cell over [`MAX_CELL_BYTES`], a row over [`MAX_ROW_BYTES`] (as CSV
//!   stops a row at 32 MB), each an error naming file, sheet and cell or row.
//!
//! Real workbooks compress their XML 5 to 30 times; a member that needs more than 100 times
//! and more than 64 MB is made to exhaust memory, not to hold customers.

use std::io::{BufReader, Read};
use std::path::Path;

use quick_xml::events::Event;

use super::ods::attr;
use super::sniff::open_file;
use super::{Format, ReadError};

/// Longest cell text: Excel holds 32,767 characters; 1 MiB leaves room for any other writer.
pub(crate) const MAX_CELL_BYTES: usize = 1 << 20;
/// Longest row, as for a CSV record.
pub(crate) const MAX_ROW_BYTES: usize = 32 << 20;
/// A member may inflate this much whatever its ratio.
pub(crate) const FREE_INFLATE: u64 = 64 << 20;
/// Beyond [`FREE_INFLATE`], the most a member may inflate relative to its compressed size.
pub(crate) const MAX_RATIO: u64 = 100;

/// A member of the archive that inflates beyond the limits.
#[derive(Debug, Clone)]
pub(crate) struct Inflated {
    name: String,
    compressed: u64,
    size: u64,
}

impl Inflated {
    fn describe(&self) -> String {
        format!(
            "would inflate from {} to {}, {} times its compressed size; custbulk refuses more \
             than {MAX_RATIO} times past {} MB: a file this compressed is made to exhaust \
             memory (a zip bomb), not to hold customers",
            megabytes(self.compressed),
            megabytes(self.size),
            self.size / self.compressed.max(1),
            FREE_INFLATE >> 20
        )
    }
}

/// Worksheets whose XML inflates too much, in an archive otherwise within bounds: refused
/// only if the sheet asked for is one of them ([`Suspects::check_sheet`]).
#[derive(Debug, Default)]
pub(crate) struct Suspects(Vec<Inflated>);

/// Checks the zip directory of an XLSX, XLSB or ODS workbook before calamine reads any of it.
/// A member other than an XLSX worksheet that inflates too much is an error now.
pub(crate) fn check_archive(path: &Path, format: Format) -> Result<Suspects, ReadError> {
    let archive = zip::ZipArchive::new(BufReader::new(open_file(path)?)).map_err(|e| {
        ReadError::Unreadable {
            file: path.to_path_buf(),
            reason: format!("it looks like a zip archive but is damaged or truncated ({e})"),
        }
    })?;
    let mut suspects = Suspects::default();
    for i in 0..archive.len() {
        let Ok(entry) = archive.by_index_data(i) else {
            continue;
        };
        let (size, compressed) = (entry.size(), entry.compressed_size());
        if size <= FREE_INFLATE || size <= compressed.saturating_mul(MAX_RATIO) {
            continue;
        }
        let member = Inflated {
            name: String::from_utf8_lossy(entry.name_raw()).into_owned(),
            compressed,
            size,
        };
        if format == Format::Xlsx && member.name.starts_with("xl/worksheets/") {
            suspects.0.push(member);
            continue;
        }
        let what = match (format, member.name.as_str()) {
            (Format::Ods, "content.xml") => "the workbook's sheets (content.xml)".to_string(),
            (_, name) if name.contains("sharedStrings") => {
                format!("the shared strings ({name})")
            }
            (_, name) => name.to_string(),
        };
        return Err(ReadError::Unreadable {
            file: path.to_path_buf(),
            reason: format!("{what} {}", member.describe()),
        });
    }
    Ok(suspects)
}

impl Suspects {
    /// Refuses the sheet `sheet` when its XML is one of the suspects. When the workbook's
    /// own index cannot say which member holds the sheet, any suspect refuses it.
    pub(crate) fn check_sheet(&self, path: &Path, sheet: &str) -> Result<(), ReadError> {
        let Some(first) = self.0.first() else {
            return Ok(());
        };
        let member = sheet_member(path, sheet);
        let found = match &member {
            Some(m) => self.0.iter().find(|s| &s.name == m),
            None => Some(first),
        };
        match found {
            Some(s) => Err(ReadError::Sheet {
                file: path.to_path_buf(),
                sheet: sheet.to_string(),
                row: None,
                reason: format!("the sheet's XML ({}) {}", s.name, s.describe()),
            }),
            None => Ok(()),
        }
    }
}

/// The archive member of the sheet called `sheet`, from `xl/workbook.xml` and its
/// relationships; `None` when they do not say.
pub(crate) fn sheet_member(path: &Path, sheet: &str) -> Option<String> {
    let mut archive = zip::ZipArchive::new(BufReader::new(open_file(path).ok()?)).ok()?;
    let mut id = None;
    each_element(&mut archive, "xl/workbook.xml", "sheet", &mut |attrs| {
        if attr(attrs, "name").as_deref() == Some(sheet) {
            id = attr(attrs, "id");
        }
    })?;
    let id = id?;
    let mut target = None;
    each_element(
        &mut archive,
        "xl/_rels/workbook.xml.rels",
        "Relationship",
        &mut |attrs| {
            if attr(attrs, "Id").as_deref() == Some(id.as_str()) {
                target = attr(attrs, "Target");
            }
        },
    )?;
    let target = target?;
    Some(match target.strip_prefix('/') {
        Some(absolute) => absolute.to_string(),
        None => format!("xl/{target}"),
    })
}

/// Calls `found` with the attributes of every `<local>` element of a small XML member.
fn each_element<R: Read + std::io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    member: &str,
    local: &str,
    found: &mut dyn FnMut(&quick_xml::events::BytesStart<'_>),
) -> Option<()> {
    // The index is small; more than this is not a workbook's index.
    let file = archive.by_name(member).ok()?.take(16 << 20);
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(file));
    let mut buf = Vec::new();
    loop {
        match xml.read_event_into(&mut buf).ok()? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == local => found(&e),
            Event::Eof => return Some(()),
            _ => {}
        }
        buf.clear();
    }
}

fn megabytes(bytes: u64) -> String {
    let mb = bytes as f64 / 1e6;
    if mb >= 1000.0 {
        format!("{:.1} GB", mb / 1000.0)
    } else {
        format!("{mb:.1} MB")
    }
}
