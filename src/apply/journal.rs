//! The import journal: an append-only, write-ahead log of what was sent and what came back.
//!
//! Each line is one JSON object. A row is marked `send` (with its match key and, for updates,
//! the customer's whole record before the change) *before* its request leaves, and `done` with
//! its outcome and id after. Every line is handed to the OS as written, so a `kill -9` at any
//! moment leaves at most one torn last line, which the reader passes over and the next run cuts
//! off before it appends. Any other line that cannot be read stops `--resume` with its number
//! ([`Lines`]): it may be the `send` line that says a row must be looked up before it is sent
//! again. `--resume` skips `done` rows and reconciles `send` rows without a `done` by their key
//! before anything is re-sent ([`Resume`]). One run at a time holds a journal ([`Lock`]).

mod claim;
mod lock;
mod resume;

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::Outcome;
use crate::api::Record;
pub use claim::{numbered, Claim, Start};
pub use lock::Lock;
pub use resume::{InFlight, Lines, Resume};

/// The request a `send` line announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Create,
    Patch,
    Put,
    Delete,
}

/// One journal line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "lowercase")]
pub enum Line {
    /// The first line: which input this journal belongs to.
    Start {
        version: u32,
        input: String,
        size: u64,
        sha256: String,
        mode: String,
        started: String,
        /// The run's `--match-on` keys, as given: what undo finds a customer it re-creates by.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        match_on: Option<String>,
    },
    /// A request is about to leave for this row.
    Send {
        row: u32,
        op: Op,
        #[serde(skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The whole record before an update, for undo.
        #[serde(skip_serializing_if = "Option::is_none")]
        before: Option<Record>,
    },
    /// The row's final outcome.
    Done {
        row: u32,
        outcome: Outcome,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// The whole record before an update, for undo.
        #[serde(skip_serializing_if = "Option::is_none")]
        before: Option<Record>,
        /// The record as the import left it, so undo can tell a later edit by someone else.
        #[serde(skip_serializing_if = "Option::is_none")]
        after: Option<Record>,
        /// A customer the row resembles (a likely duplicate), for the results of a resumed run.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        similar: Option<crate::lookup::duplicates::Likely>,
        /// What else the results' `_note` said of the row.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The run ended (completely, or interrupted and resumable).
    End { finished: String, complete: bool },
}

const VERSION: u32 = 1;

/// The identity of an input file: a journal is only resumed against the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub size: u64,
    pub sha256: String,
}

impl Fingerprint {
    pub fn of(path: &Path) -> anyhow::Result<Fingerprint> {
        let (size, sha256) = crate::backup::digest(path)?;
        Ok(Fingerprint { size, sha256 })
    }
}

/// The appending side: one line per call, handed to the OS before the call returns. It holds
/// the journal's [`Lock`]s for as long as the run lasts.
pub struct Writer {
    file: Mutex<Appending>,
    pub path: PathBuf,
    _locks: Vec<Lock>,
}

/// The open journal and its length: where the next line starts, and where to cut back to
/// when a line could only be written in part; and whether a line could not be written.
struct Appending {
    file: File,
    len: u64,
    broken: bool,
}

impl Writer {
    /// Starts a new journal at `path` ([`Claim`] chose it: never one holding a run).
    pub fn create(
        path: &Path,
        input: &Path,
        fingerprint: &Fingerprint,
        mode: &str,
        match_on: Option<&str>,
        locks: Vec<Lock>,
    ) -> anyhow::Result<Writer> {
        let file = File::create(path)
            .with_context(|| format!("cannot create the journal {}", path.display()))?;
        let writer = Writer {
            file: Mutex::new(Appending {
                file,
                len: 0,
                broken: false,
            }),
            path: path.to_path_buf(),
            _locks: locks,
        };
        writer.append(&Line::Start {
            version: VERSION,
            input: input.display().to_string(),
            size: fingerprint.size,
            sha256: fingerprint.sha256.clone(),
            mode: mode.to_string(),
            started: now(),
            match_on: match_on.map(str::to_string),
        })?;
        Ok(writer)
    }

    /// Continues an existing journal (after [`Resume::load`] checked it).
    pub fn reopen(path: &Path, locks: Vec<Lock>) -> anyhow::Result<Writer> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the journal {}", path.display()))?;
        let len = end_last_line(&mut file)
            .with_context(|| format!("cannot mend the end of the journal {}", path.display()))?;
        Ok(Writer {
            file: Mutex::new(Appending {
                file,
                len,
                broken: false,
            }),
            path: path.to_path_buf(),
            _locks: locks,
        })
    }

    /// Appends one line and hands it to the OS before returning, so it survives a kill -9. A
    /// line written only in part (a full disk) is cut off again, so that a later line is never
    /// glued onto it and the journal stays readable. After a line that could not be written,
    /// no `send` line is: the run has stopped, and no request may start, even if a shorter
    /// line would fit; the `done` lines of requests in flight are still tried.
    pub fn append(&self, line: &Line) -> anyhow::Result<()> {
        let mut text = serde_json::to_vec(line)?;
        text.push(b'\n');
        let mut journal = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if journal.broken && matches!(line, Line::Send { .. }) {
            anyhow::bail!(
                "an earlier line of the journal {} could not be written",
                self.path.display()
            );
        }
        if let Err(err) = journal.file.write_all(&text) {
            let _ = journal.file.set_len(journal.len);
            journal.broken = true;
            return Err(anyhow::Error::new(err)
                .context(format!("cannot write the journal {}", self.path.display())));
        }
        journal.len += text.len() as u64;
        Ok(())
    }

    /// Forces the journal to stable storage (at the end of a run).
    pub fn sync(&self) -> anyhow::Result<()> {
        Ok(self
            .file
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .file
            .sync_data()?)
    }
}

/// Ends the journal on a whole line before a resumed run appends to it: a last line without
/// its newline that still parses gets the newline; one that does not (torn by a kill -9, which
/// the reader passed over) is cut off, so that it can never end up in the middle of the
/// journal, where it would be damage. Returns the journal's length after.
fn end_last_line(file: &mut File) -> std::io::Result<u64> {
    let len = file.metadata()?.len();
    let start = last_line_start(file, len)?;
    if start == len {
        return Ok(len);
    }
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(start))?;
    file.read_to_end(&mut tail)?;
    if serde_json::from_slice::<Line>(&tail).is_ok() {
        file.write_all(b"\n")?;
        Ok(len + 1)
    } else {
        file.set_len(start)?;
        Ok(start)
    }
}

/// Where the journal's last line starts: just after its last newline (`len` when it ends
/// with one), read backwards from the end, since a journal can be large.
fn last_line_start(file: &mut File, len: u64) -> std::io::Result<u64> {
    let mut buffer = [0u8; 8192];
    let mut end = len;
    while end > 0 {
        let start = end.saturating_sub(buffer.len() as u64);
        let chunk = &mut buffer[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// The journal's last line, read from its end (a journal can be large); `None` when it is
/// torn or longer than the part read.
pub fn last_line(path: &Path) -> anyhow::Result<Option<Line>> {
    const TAIL: u64 = 64 * 1024;
    let mut file =
        File::open(path).with_context(|| format!("cannot open the journal {}", path.display()))?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL)))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)?;
    let last = tail
        .trim_ascii_end()
        .rsplit(|b| *b == b'\n')
        .next()
        .unwrap_or_default();
    Ok(serde_json::from_slice(last).ok())
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
