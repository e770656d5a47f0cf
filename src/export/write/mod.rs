//! The output side of an export: one [`RecordWriter`] trait with a writer per format, the
//! hashing layer that gives the manifest its size and sha256 while bytes are written, and the
//! temporary files that make a backup appear under its final name only when it is complete.
//!
//! JSON and NDJSON keep each record exactly as the API returned it. CSV and XLSX are tables:
//! their columns follow [`Columns`] (the id, the schema fields in their fixed order, then every
//! other key the API returned), and each value becomes a cell through [`Cell`].

mod columns;
mod csv;
mod json;
mod xlsx;

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::api::Record;
use crate::backup::hex;
pub use crate::output::{directory_of, TempFile};

pub use self::csv::CsvWriter;
pub use self::json::{JsonWriter, NdjsonWriter};
pub use self::xlsx::{XlsxWriter, SHEET_ROWS};
use crate::output::WriteBack;
pub use columns::{Cell, Columns, KeyCollector};

/// Writes records, one at a time, in one format.
pub trait RecordWriter: Send {
    fn write(&mut self, record: &Record) -> anyhow::Result<()>;

    /// Completes the file, flushes it to disk, and says what was written.
    fn finish(self: Box<Self>) -> anyhow::Result<Written>;
}

/// What a finished writer produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub records: u64,
    pub bytes: u64,
    /// Lower-case hex.
    pub sha256: String,
}

/// Counts and hashes every byte on its way to the file, so the manifest needs no second read.
/// Put a `BufWriter` in front of it: the hash then sees large chunks.
pub struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Hashing<W> {
    pub fn new(inner: W) -> Hashing<W> {
        Hashing {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The inner writer, the byte count and the hex digest.
    pub fn finish(self) -> (W, u64, String) {
        (self.inner, self.bytes, hex(&self.hasher.finalize()))
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The buffered, hashing file every writer writes through, on its way to disk as it grows.
pub type Output = io::BufWriter<Hashing<WriteBack>>;

/// Opens `path` for writing through a large buffer and the hash.
pub fn output(path: &Path) -> anyhow::Result<Output> {
    let file = File::create(path).map_err(|e| write_error(path, e))?;
    Ok(io::BufWriter::with_capacity(
        256 * 1024,
        Hashing::new(WriteBack::new(file)),
    ))
}

/// Flushes an [`Output`], syncs it to disk, and returns its size and digest.
pub fn close(out: Output, path: &Path) -> anyhow::Result<(u64, String)> {
    let hashing = out
        .into_inner()
        .map_err(|e| write_error(path, e.into_error()))?;
    let (file, bytes, sha256) = hashing.finish();
    file.finish().map_err(|e| write_error(path, e))?;
    Ok((bytes, sha256))
}

pub fn write_error(path: &Path, err: io::Error) -> anyhow::Error {
    anyhow::Error::new(err).context(format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_the_files_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.txt");
        let mut out = output(&path).unwrap();
        out.write_all(b"hello ").unwrap();
        out.write_all(b"world").unwrap();
        let (bytes, sha) = close(out, &path).unwrap();
        assert_eq!(bytes, 11);
        assert_eq!(
            sha,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
    }

    #[test]
    fn a_temp_file_vanishes_unless_committed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        let temp = TempFile::beside(&target, "tmp");
        assert!(temp
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".out.csv.tmp-"));
        std::fs::write(temp.path(), "x").unwrap();
        let path = temp.path().to_path_buf();
        drop(temp);
        assert!(!path.exists());

        let temp = TempFile::beside(&target, "tmp");
        std::fs::write(temp.path(), "y").unwrap();
        temp.commit(&target).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "y");
    }
}
