//! One run at a time per journal, across processes.
//!
//! Two runs of one import started together would each send every row and tear each other's
//! journal lines. So a run that changes the store holds `NAME.journal.lock` beside its journal
//! from before it reads the journal until its last line is written. The hold is the operating
//! system's advisory file lock (`flock` on Unix, `LockFileEx` on Windows, through std's
//! `File::try_lock`): the kernel drops it when the process ends, however it ends, so a lock
//! file that a `kill -9` left behind never blocks the next run. The file holds the holder's pid
//! and command, so the run that is refused can say who holds it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// A run's hold on a journal; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct Lock {
    /// The open lock file: the hold lasts as long as it is open.
    _file: File,
    path: PathBuf,
}

/// `NAME.journal.lock` for `NAME.journal`.
pub fn path_for(journal: &Path) -> PathBuf {
    let mut name = journal
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "journal".into());
    name.push(".lock");
    journal.with_file_name(name)
}

impl Lock {
    /// Takes the lock of `journal` for a run of `command` (`import`, `undo`), or fails at once
    /// (exit 3) with the pid of the run that holds it.
    pub fn take(journal: &Path, command: &str) -> anyhow::Result<Lock> {
        let path = path_for(journal);
        loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .with_context(|| format!("cannot create the lock file {}", path.display()))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => return Err(busy(journal, &mut file)),
                Err(TryLockError::Error(err)) => {
                    return Err(
                        anyhow::Error::new(err).context(format!("cannot lock {}", path.display()))
                    )
                }
            }
            // The run that held it may have removed the file between our open and our lock:
            // then we hold a file nobody else will see, and must lock the one at the path.
            if !still_at(&file, &path) {
                continue;
            }
            let holder = format!("{} {command}\n", std::process::id());
            let write = |file: &mut File| -> std::io::Result<()> {
                file.set_len(0)?;
                file.seek(SeekFrom::Start(0))?;
                file.write_all(holder.as_bytes())
            };
            write(&mut file).with_context(|| format!("cannot write {}", path.display()))?;
            return Ok(Lock { _file: file, path });
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Removed while still held (the hold goes with `_file`, just after), so a run that
        // opened this very file meanwhile sees it is gone and takes a fresh one.
        #[cfg(unix)]
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The refusal: who holds the journal, as its lock file says.
fn busy(journal: &Path, file: &mut File) -> anyhow::Error {
    // The holder writes its pid just after taking the lock: give it a moment.
    let mut holder = String::new();
    for _ in 0..20 {
        holder.clear();
        let read =
            file.seek(SeekFrom::Start(0)).is_ok() && file.read_to_string(&mut holder).is_ok();
        if read && !holder.trim().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let mut words = holder.split_whitespace();
    let who = match (
        words.next().filter(|p| p.parse::<u32>().is_ok()),
        words.next(),
    ) {
        (Some(pid), Some(command)) => format!("another custbulk {command} (pid {pid})"),
        (Some(pid), None) => format!("another custbulk run (pid {pid})"),
        _ => "another custbulk run".to_string(),
    };
    anyhow::anyhow!(
        "the journal {} is in use by {who}: two runs on one journal would send its rows twice. \
         Nothing was sent; wait for that run to end (or stop it), then run this again",
        journal.display()
    )
}

/// Whether `file` is still the file at `path`.
#[cfg(unix)]
fn still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(held), Ok(there)) => held.dev() == there.dev() && held.ino() == there.ino(),
        _ => false,
    }
}

/// Lock files are not removed where a file in use cannot be: the one at the path is ours.
#[cfg(not(unix))]
fn still_at(_file: &File, _path: &Path) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_hold_is_refused_with_the_holders_pid_and_a_released_one_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("in.journal");
        let held = Lock::take(&journal, "import").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("in.journal.lock")).unwrap(),
            format!("{} import\n", std::process::id())
        );
        // A second open file description conflicts with the first, even in one process.
        let err = Lock::take(&journal, "undo").unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains(&format!("custbulk import (pid {})", std::process::id())),
            "{message}"
        );
        assert_eq!(crate::error::exit_code(&err), crate::error::INCOMPLETE);
        drop(held);
        assert!(
            !path_for(&journal).exists(),
            "the lock file goes with the run"
        );
        Lock::take(&journal, "import").unwrap();
    }
}
