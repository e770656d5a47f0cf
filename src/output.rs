//! Files custbulk writes for people: backups and their manifests, results, failed rows,
//! problem reports, annotated copies, API profiles, the sandbox's data. This is the one place a
//! file is put in place.
//!
//! Each is written to a hidden temporary file beside its target ([`TempFile`]) and renamed onto
//! it only when complete ([`TempFile::commit`]), so a crash or a full disk never leaves a
//! half-written file under the final name, an earlier file of that name stays whole until then,
//! and a symlink planted at the target is replaced rather than written through. A run killed
//! before it could remove its temporary files leaves them behind; the next run writing the same
//! name removes those of processes that no longer exist. A file whose loss costs more than a
//! run (a backup, a manifest, a profile, sandbox data, results) is synced before it takes its
//! name ([`TempFile::write_synced`], [`write_whole`], or its writer's own sync), and the
//! directory after, so that the rename lasts too.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use anyhow::Context;

mod writeback;

pub use writeback::WriteBack;

/// A file beside the target that is removed when dropped, unless it was renamed onto the target.
/// Holding the guard, not the open file, means an error anywhere (or Ctrl-C) removes it.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
    persisted: bool,
}

impl TempFile {
    /// `.NAME.TAG-PID` in the target's directory: same file system, so the final rename is
    /// atomic, and hidden so a half-written file is never taken for a backup. Stale ones of
    /// the same target (their process is gone) are removed first.
    pub fn beside(target: &Path, tag: &str) -> TempFile {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "export".into());
        let dir = directory_of(target);
        remove_stale(dir, &name);
        let path = dir.join(format!(".{name}.{tag}-{}", std::process::id()));
        TempFile {
            path,
            persisted: false,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the file, fills it with `write`, and syncs it to disk.
    pub fn write_synced(
        &self,
        write: impl FnOnce(&mut BufWriter<WriteBack>) -> io::Result<()>,
    ) -> anyhow::Result<()> {
        let filled = || -> io::Result<()> {
            let file = WriteBack::new(File::create(&self.path)?);
            let mut out = BufWriter::with_capacity(1 << 20, file);
            write(&mut out)?;
            out.into_inner().map_err(|e| e.into_error())?.finish()
        };
        filled().with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// Renames the complete file onto `target`, replacing any file there in one step, then
    /// syncs the directory so that the new name outlives a crash.
    pub fn commit(mut self, target: &Path) -> anyhow::Result<()> {
        std::fs::rename(&self.path, target).map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "cannot rename {} to {}",
                self.path.display(),
                target.display()
            ))
        })?;
        self.persisted = true;
        sync_directory(directory_of(target));
        Ok(())
    }
}

/// Writes a whole small file in place (a profile, the sandbox's data): `write` fills a
/// temporary file beside `target`, which is synced and then renamed onto it.
pub fn write_whole(
    target: &Path,
    write: impl FnOnce(&mut BufWriter<WriteBack>) -> io::Result<()>,
) -> anyhow::Result<()> {
    let temp = TempFile::beside(target, "tmp");
    release_cached(target);
    temp.write_synced(write)?;
    temp.commit(target)
}

/// Lets the page cache drop the pages of a file about to be replaced. The rename would drop
/// them anyway, in its own time (0.1-0.2 s for the sandbox's half a gigabyte); dropped first,
/// they are the pages the new file is written into. On a virtual machine that spares touching
/// as much fresh memory: a changed million-customer sandbox then saves on SIGTERM in 0.5 s
/// rather than 1.1-2.3 s when other processes hold memory.
fn release_cached(target: &Path) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // Only a plain file: opening a FIFO planted there would wait for a writer.
        let plain = std::fs::metadata(target).is_ok_and(|m| m.is_file());
        if let Some(old) = plain.then(|| File::open(target).ok()).flatten() {
            // SAFETY: a hint about a descriptor we own; it changes no data (the file was
            // synced when written, so its pages are clean).
            unsafe { libc::posix_fadvise(old.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = target;
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Removes the `.NAME.TAG-PID` files in `dir` whose process no longer runs: what a run killed
/// while writing NAME left (a `kill -9` gives it no chance to clean up). A file whose process
/// runs, or may run (it cannot be told), is another run's work in progress and is never touched.
fn remove_stale(dir: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(temp_pid)
        else {
            continue;
        };
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && is_running(pid) == Some(false) && std::fs::remove_file(entry.path()).is_ok() {
            crate::debug!(
                "Removed {}, left behind by a run (pid {pid}) that was killed.",
                entry.path().display()
            );
        }
    }
}

/// The pid of a temporary file's name past `.NAME.`: `TAG-PID`, the tag in lowercase letters,
/// or `TAG-PID.PART` for a file that goes with another (an annotated workbook's notes).
fn temp_pid(rest: &str) -> Option<u32> {
    let rest = match rest.split_once('.') {
        Some((rest, part)) if !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase()) => {
            rest
        }
        Some(_) => return None,
        None => rest,
    };
    let (tag, pid) = rest.rsplit_once('-')?;
    let tag_ok = !tag.is_empty() && tag.bytes().all(|b| b.is_ascii_lowercase());
    let pid_ok = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    (tag_ok && pid_ok).then(|| pid.parse().ok()).flatten()
}

/// Whether process `pid` runs; `None` when this system cannot tell.
fn is_running(pid: u32) -> Option<bool> {
    if pid == 0 {
        return None;
    }
    #[cfg(target_os = "linux")]
    {
        // Without /proc mounted every pid would look dead.
        let proc = Path::new("/proc");
        proc.join("self")
            .exists()
            .then(|| proc.join(pid.to_string()).exists())
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        let pid = libc::pid_t::try_from(pid).ok()?;
        // SAFETY: signal 0 only asks whether the process exists; nothing is sent.
        if unsafe { libc::kill(pid, 0) } == 0 {
            return Some(true);
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::ESRCH) => Some(false),
            Some(libc::EPERM) => Some(true),
            _ => None,
        }
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Removes the folders `PREFIX<pid>-*` in `dir` whose process no longer runs and whose owner
/// is `mine`'s (the caller's own new folder): what a run killed before it could remove its
/// private folder left (the page's uploads: customer lists, in the system's temporary folder).
/// Symbolic links and other users' folders are never touched.
pub fn remove_stale_folders(dir: &Path, prefix: &str, mine: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let owner = |path: &Path| std::fs::symlink_metadata(path).ok().map(|m| owner_of(&m));
    let Some(me) = owner(mine) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        // The entry's own type: a symbolic link is not a directory here.
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let path = entry.path();
        if is_dir
            && owner(&path) == Some(me)
            && is_running(pid) == Some(false)
            && std::fs::remove_dir_all(&path).is_ok()
        {
            crate::debug!(
                "Removed {}, left behind by a run (pid {pid}) that was killed.",
                path.display()
            );
        }
    }
}

/// Who owns a file: its user id where there are users.
fn owner_of(meta: &std::fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        std::os::unix::fs::MetadataExt::uid(meta)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0
    }
}

/// Reads `buf.len()` bytes of `file` from `at`, without moving a shared cursor: spools are
/// read back at random by many rows at once.
#[cfg(unix)]
pub fn read_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
}

#[cfg(windows)]
pub fn read_at(file: &File, mut buf: &mut [u8], mut at: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_read(file, buf, at)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf = &mut buf[n..];
        at += n as u64;
    }
    Ok(())
}

/// The directory a path lives in (`.` for a bare file name).
pub fn directory_of(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Makes renames in `dir` durable. Not every platform can open a directory; that is not fatal.
fn sync_directory(dir: &Path) {
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

    /// Flushes and syncs the file, and puts it under its name.
    pub fn commit(self) -> anyhow::Result<()> {
        let CsvOutput { writer, temp, path } = self;
        let written = || -> std::io::Result<()> {
            let file = writer.into_inner().map_err(|e| e.into_error())?;
            file.into_inner().map_err(|e| e.into_error())?.sync_all()
        };
        written().with_context(|| format!("cannot write {}", path.display()))?;
        temp.commit(&path)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_temporary_files_pid_is_read_from_its_name() {
        assert_eq!(temp_pid("tmp-123"), Some(123));
        assert_eq!(temp_pid("spool-7"), Some(7));
        assert_eq!(temp_pid("tmp-8.comments"), Some(8));
        for other in [
            "tmp-",
            "tmp-+1",
            "-5",
            "manifest.json.tmp-5",
            "tmp-12a",
            "TMP-3",
            "tmp-3.",
            "tmp-3.X",
        ] {
            assert_eq!(temp_pid(other), None, "{other}");
        }
    }

    #[test]
    fn stale_temporary_files_of_the_target_go_and_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let live = std::process::id();
        let plant = |name: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, "x").unwrap();
            path
        };
        let stale = plant(format!(".out.csv.spool-{dead}"));
        let ours = plant(format!(".out.csv.tmp-{live}"));
        let other_target = plant(format!(".other.csv.tmp-{dead}"));
        let _temp = TempFile::beside(&dir.path().join("out.csv"), "tmp");
        assert!(!stale.exists(), "a dead run's file is removed");
        assert!(ours.exists(), "a live run's file is kept");
        assert!(other_target.exists(), "another target's files are its own");
    }

    /// The file replaced is looked at first (its cached pages let go): a FIFO planted under the
    /// name is not opened, which would wait for a writer, and is replaced like any file.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_fifo_under_the_name_is_replaced_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("customers.json");
        let c_path = std::ffi::CString::new(target.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        write_whole(&target, |out| out.write_all(b"[]\n")).unwrap();
        assert!(std::fs::metadata(&target).unwrap().is_file());
        assert_eq!(std::fs::read(&target).unwrap(), b"[]\n");
    }
}
