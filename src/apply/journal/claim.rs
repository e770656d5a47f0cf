//! A run's claim on its journal, made before any request: held against every other run, tied
//! to the input by its fingerprint, and either resuming what an earlier run left or starting
//! afresh. Import, undo and restore make it the same way.
//!
//! A journal is never overwritten: it is what undo reads to put the account back. So the
//! journals of one input form a series, `NAME.journal`, then `NAME.2.journal`,
//! `NAME.3.journal`, ... A new run beside a complete journal takes the next name; beside an
//! unfinished one it is refused unless told `--resume` (which continues the newest) or
//! `--fresh` (which starts the next name, leaving the unfinished one as it is). Only a journal
//! holding nothing but its start line (a run that sent nothing) is started again in place.

use std::path::{Path, PathBuf};

use super::{last_line, Fingerprint, Line, Lock, Resume, Writer};
use crate::error::usage;

/// See the module doc.
pub struct Claim {
    path: PathBuf,
    input: PathBuf,
    /// The series' hold (on `NAME.journal`) and, for a later journal of it, that one's too.
    locks: Vec<Lock>,
    fingerprint: Fingerprint,
    /// What an earlier run left, with `--resume`.
    pub resume: Option<Resume>,
}

/// How a run treats the journal an earlier run left.
#[derive(Debug, Clone, Copy, Default)]
pub struct Start {
    /// `--resume`: continue the newest journal of the series.
    pub resume: bool,
    /// `--repair`: with `resume`, go on past damaged lines.
    pub repair: bool,
    /// `--fresh`: start the next journal of the series beside an unfinished one.
    pub fresh: bool,
}

impl Claim {
    /// Claims the series of `journal` (its first name) for a run of `command` over `input`.
    pub fn take(
        journal: &Path,
        input: &Path,
        command: &str,
        start: Start,
    ) -> anyhow::Result<Claim> {
        // Held from before the journal is read, so a second run is refused before it reads
        // (or starts) what the first is writing.
        let mut locks = vec![Lock::take(journal, command)?];
        let fingerprint = Fingerprint::of(input)?;
        let (number, path) = newest(journal);
        let path = if start.resume {
            path
        } else {
            choose(journal, number, path, command, start.fresh)?
        };
        if path != journal {
            locks.push(Lock::take(&path, command)?);
        }
        let resume = if start.resume {
            let loaded = Resume::load(&path, input, &fingerprint, start.repair)?;
            crate::info!(
                "Resuming from {}: {} rows already done, {} to reconcile.",
                path.display(),
                loaded.finished(),
                loaded.in_flight.len()
            );
            Some(loaded)
        } else {
            None
        };
        Ok(Claim {
            path,
            input: input.to_path_buf(),
            locks,
            fingerprint,
            resume,
        })
    }

    /// Where this run's journal is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the journal to write: reopened to resume, else started for `mode` matching on
    /// `match_on`. Call it once the run is sure to start (after connecting), so a refused run
    /// leaves no journal.
    pub fn open(
        self,
        mode: &str,
        match_on: Option<&str>,
    ) -> anyhow::Result<(Writer, Option<Resume>)> {
        let writer = match &self.resume {
            Some(_) => Writer::reopen(&self.path, self.locks)?,
            None => {
                let (path, input, print) = (&self.path, &self.input, &self.fingerprint);
                Writer::create(path, input, print, mode, match_on, self.locks)?
            }
        };
        Ok((writer, self.resume))
    }
}

/// The `number`th journal of the series that starts at `first`: `NAME.journal`,
/// `NAME.2.journal`, ... (a name without an extension gets `.2`, ...).
pub fn numbered(first: &Path, number: u32) -> PathBuf {
    if number <= 1 {
        return first.to_path_buf();
    }
    let name = match (first.file_stem(), first.extension()) {
        (Some(stem), Some(ext)) => format!(
            "{}.{number}.{}",
            stem.to_string_lossy(),
            ext.to_string_lossy()
        ),
        _ => format!("{}.{number}", first.to_string_lossy()),
    };
    first.with_file_name(name)
}

/// The newest journal of the series and its number; the first name (number 0) when there is
/// none yet.
fn newest(first: &Path) -> (u32, PathBuf) {
    let mut number = 0;
    while numbered(first, number + 1).exists() {
        number += 1;
    }
    (number, numbered(first, number.max(1)))
}

/// The journal a run that does not resume writes: the newest when there is none or it holds
/// nothing sent, else the next one. Beside an unfinished journal, only with `fresh`.
fn choose(
    first: &Path,
    number: u32,
    newest: PathBuf,
    command: &str,
    fresh: bool,
) -> anyhow::Result<PathBuf> {
    if number == 0 {
        return Ok(newest);
    }
    let next = numbered(first, number + 1);
    match last_line(&newest)? {
        // A run that wrote nothing but its start sent nothing: there is nothing to keep.
        Some(Line::Start { .. }) => Ok(newest),
        Some(Line::End { complete: true, .. }) => {
            crate::info!(
                "{} holds a complete {command}, kept for undo: this run's journal is {}.",
                newest.display(),
                next.display()
            );
            Ok(next)
        }
        _ if fresh => {
            crate::info!(
                "{} holds an unfinished {command}, kept as it is: --fresh starts {}.",
                newest.display(),
                next.display()
            );
            Ok(next)
        }
        _ => Err(usage(format!(
            "{} holds an unfinished {command} of this file: add --resume to continue it, or \
             --fresh to start a new run beside it (in {}); the unfinished one is never \
             overwritten",
            newest.display(),
            next.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_numbers_each_journal_before_its_extension() {
        let first = Path::new("/d/clients.journal");
        assert_eq!(numbered(first, 1), first);
        assert_eq!(numbered(first, 2), Path::new("/d/clients.2.journal"));
        let restore = Path::new("backup.restore.journal");
        assert_eq!(numbered(restore, 3), Path::new("backup.restore.3.journal"));
        assert_eq!(numbered(Path::new("log"), 2), Path::new("log.2"));
    }
}
