//! What a file really is. Extensions lie (a CSV saved as `.xlsx`, an `.xls` that is HTML, a
//! renamed `.ods`, an NDJSON backup saved as `.csv`), so the first bytes decide: a zip archive
//! is XLSX, XLSB or ODS by its entries, an OLE container is XLS, text opening a JSON array of
//! objects (`[{`) is JSON and text opening an object (`{"`) is NDJSON, as custbulk's own exports
//! write them, and other text is CSV. The extension only breaks ties and explains mistakes.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::ReadError;

/// The kinds of file [`super::open`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Xlsb,
    Xls,
    Ods,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line (`.ndjson`, `.jsonl`).
    Ndjson,
}

impl Format {
    /// The usual name of the format, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::Xlsx => "XLSX",
            Format::Xlsb => "XLSB",
            Format::Xls => "XLS",
            Format::Ods => "ODS",
            Format::Json => "JSON",
            Format::Ndjson => "NDJSON",
        }
    }

    /// `a` or `an`, as the name is said: a CSV, an XLSX, an NDJSON.
    pub fn article(self) -> &'static str {
        match self {
            Format::Csv | Format::Json => "a",
            _ => "an",
        }
    }

    /// JSON or NDJSON: records whose keys are the headers.
    pub fn is_json(self) -> bool {
        matches!(self, Format::Json | Format::Ndjson)
    }

    /// The format an extension announces, if it is one we read.
    pub fn from_extension(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" | "tsv" | "txt" | "tab" => Format::Csv,
            "xlsx" | "xlsm" => Format::Xlsx,
            "xlsb" => Format::Xlsb,
            "xls" => Format::Xls,
            "ods" => Format::Ods,
            "json" => Format::Json,
            "ndjson" | "jsonl" => Format::Ndjson,
            _ => return None,
        })
    }
}

pub(crate) struct Sniffed {
    pub format: Format,
    /// A sentence for the user when the content contradicts the extension.
    pub note: Option<String>,
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const ZIP_EMPTY_MAGIC: &[u8] = b"PK\x05\x06";
const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Whether an OLE container is a workbook encrypted with a password: Excel and LibreOffice store
/// such an XLSX as an OLE container holding an `EncryptedPackage` stream (MS-OFFCRYPTO), whose
/// name is in the container's directory, in UTF-16. Read only once a container has no workbook
/// in it, so the directory can be anywhere in the file.
pub(crate) fn is_encrypted_package(path: &Path) -> bool {
    let name: Vec<u8> = "EncryptedPackage"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let finder = memchr::memmem::Finder::new(&name);
    let Ok(mut file) = File::open(path) else {
        return false;
    };
    // Chunks overlap by the name's length, so a name cut by a chunk's end is still found.
    let mut chunk = vec![0; 1 << 20];
    let mut kept = 0;
    loop {
        let n = match file.read(&mut chunk[kept..]) {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        let end = kept + n;
        if finder.find(&chunk[..end]).is_some() {
            return true;
        }
        kept = name.len().min(end);
        chunk.copy_within(end - kept..end, 0);
    }
}

pub(crate) fn sniff(path: &Path) -> Result<Sniffed, ReadError> {
    let file = open_file(path)?;
    let mut head = Vec::with_capacity(512);
    file.take(512)
        .read_to_end(&mut head)
        .map_err(|e| io_error(path, e))?;
    let by_ext = Format::from_extension(path);
    let unreadable = |reason: String| ReadError::Unreadable {
        file: path.to_path_buf(),
        reason,
    };
    if head.is_empty() {
        return Err(ReadError::Empty {
            file: path.to_path_buf(),
            sheet: None,
            reason: "the file is empty (0 bytes)".into(),
        });
    }
    let format = if head.starts_with(ZIP_MAGIC) || head.starts_with(ZIP_EMPTY_MAGIC) {
        match by_ext {
            Some(f @ (Format::Xlsx | Format::Xlsb | Format::Ods)) => f,
            _ => zip_kind(path)?.ok_or_else(|| {
                unreadable("it is a zip archive but not an XLSX, XLSB or ODS workbook".into())
            })?,
        }
    } else if head.starts_with(OLE_MAGIC) {
        Format::Xls
    } else if let Some(json) = json_kind(&head) {
        json
    } else if let Some(kind) = markup(&head) {
        return Err(unreadable(format!(
            "it is {kind}, not a spreadsheet; open it in Excel or LibreOffice and save it as \
             XLSX or CSV"
        )));
    } else {
        match by_ext {
            None | Some(Format::Csv) => Format::Csv,
            Some(f) => {
                if !looks_like_text(path)? {
                    return Err(unreadable(format!(
                        "it is not a valid {} file (the content is neither a workbook nor text)",
                        f.name()
                    )));
                }
                Format::Csv
            }
        }
    };
    let note = match by_ext {
        Some(ext) if ext != format => Some(format!(
            "{} is really {} {} file despite its extension; it was read as {}.",
            path.display(),
            format.article(),
            format.name(),
            format.name()
        )),
        _ => None,
    };
    Ok(Sniffed { format, note })
}

pub(crate) fn open_file(path: &Path) -> Result<File, ReadError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(ReadError::Unreadable {
                file: path.to_path_buf(),
                reason: "it is a directory, not a file".into(),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ReadError::NotFound {
                file: path.to_path_buf(),
            })
        }
        _ => {}
    }
    File::open(path).map_err(|e| io_error(path, e))
}

pub(crate) fn io_error(path: &Path, e: std::io::Error) -> ReadError {
    if e.kind() == std::io::ErrorKind::NotFound {
        ReadError::NotFound {
            file: path.to_path_buf(),
        }
    } else {
        ReadError::Io {
            file: path.to_path_buf(),
            error: e,
        }
    }
}

/// Tells XLSX, XLSB and ODS apart by the entries of the zip archive.
fn zip_kind(path: &Path) -> Result<Option<Format>, ReadError> {
    let file = BufReader::new(open_file(path)?);
    let archive = zip::ZipArchive::new(file).map_err(|e| ReadError::Unreadable {
        file: path.to_path_buf(),
        reason: format!("it looks like a zip archive but is damaged or truncated ({e})"),
    })?;
    let mut kind = None;
    for name in archive.file_names_raw() {
        match name {
            b"xl/workbook.xml" => kind = Some(Format::Xlsx),
            b"xl/workbook.bin" => kind = Some(Format::Xlsb),
            b"content.xml" if kind.is_none() => kind = Some(Format::Ods),
            _ => {}
        }
    }
    Ok(kind)
}

/// JSON as custbulk and most tools write it: an array whose first element is an object (or an
/// empty array), or an object first on the first line (NDJSON). A CSV cell starting with `[` or
/// `{` is not followed by `{` or `"` so the first bytes decide.
fn json_kind(head: &[u8]) -> Option<Format> {
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let mut bytes = text.iter().copied().filter(|b| !b.is_ascii_whitespace());
    match (bytes.next()?, bytes.next()?) {
        (b'[', b'{' | b']') => Some(Format::Json),
        (b'{', b'"' | b'}') => Some(Format::Ndjson),
        _ => None,
    }
}

/// Web pages and XML saved as `.xls` (many web applications "export to Excel" this way, and
/// Excel 2003 had an XML format): neither calamine nor the CSV reader can make sense of them.
fn markup(head: &[u8]) -> Option<&'static str> {
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let text = &text[start..];
    let starts = |prefix: &str| {
        text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
    };
    if ["<!doctype html", "<html", "<table", "<meta", "<head"]
        .iter()
        .any(|p| starts(p))
    {
        Some("an HTML page")
    } else if starts("<?xml") {
        Some("an XML file (perhaps Excel 2003 XML)")
    } else {
        None
    }
}

/// True when the first 64 KiB contain no NUL and few control characters: text, maybe UTF-16.
fn looks_like_text(path: &Path) -> Result<bool, ReadError> {
    let mut head = Vec::new();
    open_file(path)?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .map_err(|e| io_error(path, e))?;
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Ok(true);
    }
    Ok(!is_binary(&head))
}

/// Binary content: a NUL byte, or more than 1% of control characters other than tab, CR, LF,
/// form feed and escape.
pub(crate) fn is_binary(bytes: &[u8]) -> bool {
    if bytes.contains(&0) {
        return true;
    }
    let controls = bytes
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B))
        .count();
    controls * 100 > bytes.len()
}
