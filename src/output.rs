//! Files custbulk writes for people: backups, results, failed rows, problem reports.
//!
//! Each is written to a hidden temporary file beside its target and renamed onto it only when
//! complete, so a crash or a full disk never leaves a half-written file under the final name,
//! an earlier file of that name stays whole until then, and a symlink planted at the target is
//! replaced rather than written through.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// A file beside the target that is removed when dropped, unless it was renamed onto the target.
/// Holding the guard, not the open file, means an error anywhere (or Ctrl-C) removes it.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
    persisted: bool,
}

impl TempFile {
    /// `.NAME.TAG-PID` in the target's directory: same file system, so the final rename is
    /// atomic, and hidden so a half-written file is never taken for a backup.
    pub fn beside(target: &Path, tag: &str) -> TempFile {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "export".into());
        let path = directory_of(target).join(format!(".{name}.{tag}-{}", std::process::id()));
        TempFile {
            path,
            persisted: false,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file onto `target`, replacing any file there in one step.
    pub fn persist(mut self, target: &Path) -> anyhow::Result<()> {
        std::fs::rename(&self.path, target).map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "cannot rename {} to {}",
                self.path.display(),
                target.display()
            ))
        })?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The directory a path lives in (`.` for a bare file name).
pub fn directory_of(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Makes renames in `dir` durable. Not every platform can open a directory; that is not fatal.
pub fn sync_directory(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// `dir/NAME.EXT` for `dir/NAME.xlsx`: where a run puts the files that go with its input
/// (results, journal, failed rows).
pub fn beside(input: &Path, ext: &str) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    input.with_file_name(format!("{stem}.{ext}"))
}

/// A CSV file under construction: written to a [`TempFile`], renamed onto its path by
/// [`CsvOutput::commit`], removed if dropped before.
pub struct CsvOutput {
    writer: csv::Writer<BufWriter<File>>,
    temp: TempFile,
    path: PathBuf,
}

impl CsvOutput {
    pub fn create(path: &Path) -> anyhow::Result<CsvOutput> {
        let temp = TempFile::beside(path, "tmp");
        let file = File::create(temp.path())
            .with_context(|| format!("cannot create {}", temp.path().display()))?;
        Ok(CsvOutput {
            writer: csv::Writer::from_writer(BufWriter::new(file)),
            temp,
            path: path.to_path_buf(),
        })
    }

    pub fn write_record<I, T>(&mut self, record: I) -> anyhow::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.writer
            .write_record(record)
            .with_context(|| format!("cannot write {}", self.temp.path().display()))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes the file and puts it under its name.
    pub fn commit(self) -> anyhow::Result<()> {
        let CsvOutput { writer, temp, path } = self;
        let written =
            || -> std::io::Result<()> { writer.into_inner().map_err(|e| e.into_error())?.flush() };
        written().with_context(|| format!("cannot write {}", path.display()))?;
        temp.persist(&path)
    }
}
