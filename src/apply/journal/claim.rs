//! A run's claim on its journal, made before any request: held against every other run, tied
//! to the input by its fingerprint, and either resuming what an earlier run left or starting
//! afresh (never over an unfinished journal without being told). Import, undo and restore make
//! it the same way.

use std::path::{Path, PathBuf};

use super::{last_line, Fingerprint, Line, Lock, Resume, Writer};
use crate::error::usage;

/// See the module doc.
pub struct Claim {
    path: PathBuf,
    input: PathBuf,
    lock: Lock,
    fingerprint: Fingerprint,
    /// What an earlier run left, with `--resume`.
    pub resume: Option<Resume>,
}

impl Claim {
    /// Claims `journal` for a run of `command` over `input`: `resume` continues the run it
    /// describes, else it must hold no unfinished run.
    pub fn take(
        journal: &Path,
        input: &Path,
        command: &str,
        resume: bool,
        repair: bool,
    ) -> anyhow::Result<Claim> {
        // Held from before the journal is read, so a second run is refused before it reads
        // (or replaces) what the first is writing.
        let lock = Lock::take(journal, command)?;
        let fingerprint = Fingerprint::of(input)?;
        let resume = if resume {
            let loaded = Resume::load(journal, input, &fingerprint, repair)?;
            crate::info!(
                "Resuming from {}: {} rows already done, {} to reconcile.",
                journal.display(),
                loaded.finished(),
                loaded.in_flight.len()
            );
            Some(loaded)
        } else {
            refuse_unfinished(journal, command)?;
            None
        };
        Ok(Claim {
            path: journal.to_path_buf(),
            input: input.to_path_buf(),
            lock,
            fingerprint,
            resume,
        })
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
            Some(_) => Writer::reopen(&self.path, self.lock)?,
            None => {
                let (path, input, print) = (&self.path, &self.input, &self.fingerprint);
                Writer::create(path, input, print, mode, match_on, self.lock)?
            }
        };
        Ok((writer, self.resume))
    }
}

/// A journal with unfinished rows is the only record of what a crashed run did: never
/// overwrite it without being told.
fn refuse_unfinished(path: &Path, command: &str) -> anyhow::Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let finished = matches!(
        last_line(path)?,
        Some(Line::Start { .. } | Line::End { complete: true, .. })
    );
    if !finished {
        return Err(usage(format!(
            "{} holds an unfinished {command} of this file: add --resume to continue it, \
             or move the journal away to start afresh",
            path.display()
        )));
    }
    Ok(())
}
