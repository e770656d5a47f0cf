//! `FILE.manifest.json`: the proof that a backup is whole, and the check against it.
//!
//! Written beside the export when the export completes: record count, byte size and sha256 of
//! the file (computed while it was written), the query that produced it, start and end times and
//! custbulk's version. Never the key. [`verify`] recomputes size, digest and record count from
//! the file alone and compares.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::write::hex;
use super::Format;

/// The manifest's own format version.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub manifest_version: u32,
    /// The file's name when it was written (it is checked under whatever name it has now).
    pub file: String,
    pub format: Format,
    pub records: u64,
    pub bytes: u64,
    pub sha256: String,
    /// The header of a CSV or XLSX export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    #[serde(default)]
    pub bom: bool,
    pub query: Query,
    pub pages: u64,
    #[serde(default)]
    pub duplicates_skipped: u64,
    /// The total the server reported on the last page, when it reports one.
    #[serde(default)]
    pub server_total: Option<u64>,
    /// False when the export ended short of the server's total and was kept anyway
    /// (`--allow-incomplete`); manifests written before it are complete.
    #[serde(default = "complete")]
    pub complete: bool,
    pub started_at: String,
    pub finished_at: String,
    pub custbulk_version: String,
}

fn complete() -> bool {
    true
}

/// The request that produced the export. The API key is deliberately not part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Query {
    pub base_url: String,
    pub sort_by: String,
    pub order: String,
    pub page_size: u64,
    #[serde(default)]
    pub fields: Option<String>,
    #[serde(default)]
    pub p: Option<String>,
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub max: Option<u64>,
}

/// Where the manifest of `file` lives: `FILE.manifest.json`.
pub fn path_for(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".manifest.json");
    PathBuf::from(name)
}

impl Manifest {
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("a manifest always serialises");
        out.push(b'\n');
        out
    }

    pub fn read(path: &Path) -> anyhow::Result<Manifest> {
        let text = std::fs::read(path)
            .with_context(|| format!("cannot read the manifest {}", path.display()))?;
        serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a custbulk manifest", path.display()))
    }
}

/// The outcome of checking a file against its manifest.
#[derive(Debug, Serialize)]
pub struct Verdict {
    pub file: String,
    pub manifest: String,
    pub format: Format,
    pub ok: bool,
    /// Each difference found, as a sentence.
    pub problems: Vec<String>,
    pub bytes: u64,
    pub sha256: String,
    /// The records counted in the file; none when the file could not be parsed.
    pub records: Option<u64>,
    pub expected_records: u64,
    /// What the manifest says: false for a backup kept although it ended short of the
    /// server's total (a problem too: it does not hold every customer).
    pub complete: bool,
}

/// Checks `file` against `manifest_path`. An unreadable file or manifest is an error (exit 3);
/// a file that reads but differs is a verdict with problems (exit 1).
pub fn verify(file: &Path, manifest_path: &Path) -> anyhow::Result<Verdict> {
    let manifest = Manifest::read(manifest_path)?;
    let (bytes, sha256) = digest(file)?;
    let mut problems = Vec::new();
    if !manifest.complete {
        let total = manifest
            .server_total
            .map_or(String::new(), |t| format!(" of {t}"));
        problems.push(format!(
            "it is incomplete: the export kept {}{total} customers (--allow-incomplete)",
            manifest.records
        ));
    }
    if bytes != manifest.bytes {
        problems.push(format!(
            "the size is {bytes} bytes; the manifest says {}",
            manifest.bytes
        ));
    }
    if sha256 != manifest.sha256 {
        problems.push(format!(
            "the sha256 is {sha256}; the manifest says {}",
            manifest.sha256
        ));
    }
    let records = match count(file, manifest.format) {
        Ok(n) => {
            if n != manifest.records {
                problems.push(format!(
                    "it holds {n} records; the manifest says {}",
                    manifest.records
                ));
            }
            Some(n)
        }
        Err(Unreadable::Io(e)) => {
            return Err(anyhow::Error::new(e).context(format!("cannot read {}", file.display())))
        }
        Err(Unreadable::Content(why)) => {
            problems.push(format!(
                "it cannot be read as {}: {why}",
                manifest.format.name()
            ));
            None
        }
    };
    Ok(Verdict {
        file: file.display().to_string(),
        manifest: manifest_path.display().to_string(),
        format: manifest.format,
        ok: problems.is_empty(),
        problems,
        bytes,
        sha256,
        records,
        expected_records: manifest.records,
        complete: manifest.complete,
    })
}

/// Size and sha256 of a file, read in large blocks.
pub fn digest(path: &Path) -> anyhow::Result<(u64, String)> {
    let mut file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, hex(&hasher.finalize())))
}

/// Why records could not be counted.
#[derive(Debug)]
pub enum Unreadable {
    /// The file could not be read at all.
    Io(io::Error),
    /// The file reads, but is not valid in its format.
    Content(String),
}

/// Counts the records in an export by parsing it as its format, in constant memory.
pub fn count(path: &Path, format: Format) -> Result<u64, Unreadable> {
    let file = File::open(path).map_err(Unreadable::Io)?;
    let reader = BufReader::with_capacity(256 * 1024, file);
    match format {
        Format::Ndjson => count_lines(reader),
        Format::Json => count_array(reader),
        Format::Csv => count_csv(reader),
        Format::Xlsx => count_xlsx(path),
    }
}

fn count_lines(mut reader: impl BufRead) -> Result<u64, Unreadable> {
    let mut line = Vec::new();
    let mut n = 0;
    loop {
        line.clear();
        if reader
            .read_until(b'\n', &mut line)
            .map_err(Unreadable::Io)?
            == 0
        {
            return Ok(n);
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        n += 1;
        serde_json::from_slice::<IgnoredAny>(&line)
            .map_err(|e| Unreadable::Content(format!("line {n}: {e}")))?;
    }
}

fn count_array(reader: impl Read) -> Result<u64, Unreadable> {
    struct Count;
    impl<'de> Visitor<'de> for Count {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
            let mut n = 0;
            while seq.next_element::<IgnoredAny>()?.is_some() {
                n += 1;
            }
            Ok(n)
        }
    }
    let mut de = serde_json::Deserializer::from_reader(reader);
    let n = serde::Deserializer::deserialize_seq(&mut de, Count)
        .and_then(|n| de.end().map(|_| n))
        .map_err(|e| match e.classify() {
            serde_json::error::Category::Io => Unreadable::Io(io::Error::other(e.to_string())),
            _ => Unreadable::Content(e.to_string()),
        })?;
    Ok(n)
}

fn count_csv(reader: impl Read) -> Result<u64, Unreadable> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(reader);
    let mut record = csv::ByteRecord::new();
    let mut n = 0;
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(true) => n += 1,
            Ok(false) => return Ok(n),
            Err(e) => {
                return Err(match e.into_kind() {
                    csv::ErrorKind::Io(io) => Unreadable::Io(io),
                    other => Unreadable::Content(format!("{other:?}")),
                })
            }
        }
    }
}

/// Rows under the header of every sheet, read as a stream of cells (a million rows would not fit
/// in memory as a range).
fn count_xlsx(path: &Path) -> Result<u64, Unreadable> {
    use calamine::{Reader, Xlsx};
    let content = |e: &dyn std::fmt::Display| Unreadable::Content(e.to_string());
    let mut book: Xlsx<_> = calamine::open_workbook(path).map_err(|e| content(&e))?;
    let mut n = 0;
    for name in book.sheet_names() {
        let mut cells = book
            .worksheet_cells_reader(&name)
            .map_err(|e| content(&e))?;
        let mut last_row = 0;
        while let Some(cell) = cells.next_cell().map_err(|e| content(&e))? {
            last_row = last_row.max(cell.get_position().0);
        }
        n += u64::from(last_row);
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_sits_beside_the_file() {
        assert_eq!(
            path_for(Path::new("out/backup.csv")),
            Path::new("out/backup.csv.manifest.json")
        );
    }

    #[test]
    fn records_are_counted_in_each_text_format() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let nd = write("a.ndjson", "{\"a\":1}\n\n{\"a\":2}\n");
        assert_eq!(count(&nd, Format::Ndjson).unwrap(), 2);
        let json = write("a.json", "[\n{\"a\":[1,2]},\n{}\n]\n");
        assert_eq!(count(&json, Format::Json).unwrap(), 2);
        let csv = write("a.csv", "\u{feff}x,y\n1,\"a\nb\"\n2,3\n");
        assert_eq!(count(&csv, Format::Csv).unwrap(), 2);
        let broken = write("b.json", "[{\"a\":1},");
        assert!(matches!(
            count(&broken, Format::Json),
            Err(Unreadable::Content(_))
        ));
        let trailing = write("c.json", "[] x");
        assert!(matches!(
            count(&trailing, Format::Json),
            Err(Unreadable::Content(_))
        ));
    }
}
