//! The import journal: an append-only, write-ahead log of what was sent and what came back.
//!
//! Each line is one JSON object. A row is marked `send` (with its match key and, for updates,
//! the customer's whole record before the change) *before* its request leaves, and `done` with
//! its outcome and id after. Every line is flushed as written, so a `kill -9` at any moment
//! leaves at most one torn last line, which the loader ignores. `--resume` skips `done` rows and
//! reconciles `send` rows without a `done` by their key before anything is re-sent.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Outcome;
use crate::api::Record;
use crate::error::usage;

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
        let mut file =
            File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0; 1 << 16];
        let mut size = 0;
        loop {
            let n = file
                .read(&mut buffer)
                .with_context(|| format!("cannot read {}", path.display()))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            hasher.update(&buffer[..n]);
        }
        Ok(Fingerprint {
            size,
            sha256: hex(&hasher.finalize()),
        })
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The appending side: one line per call, flushed before the call returns.
pub struct Writer {
    file: Mutex<File>,
    pub path: PathBuf,
}

impl Writer {
    /// Starts a new journal, replacing any file at `path`.
    pub fn create(
        path: &Path,
        input: &Path,
        fingerprint: &Fingerprint,
        mode: &str,
    ) -> anyhow::Result<Writer> {
        let file = File::create(path)
            .with_context(|| format!("cannot create the journal {}", path.display()))?;
        let writer = Writer {
            file: Mutex::new(file),
            path: path.to_path_buf(),
        };
        writer.append(&Line::Start {
            version: VERSION,
            input: input.display().to_string(),
            size: fingerprint.size,
            sha256: fingerprint.sha256.clone(),
            mode: mode.to_string(),
            started: now(),
        })?;
        Ok(writer)
    }

    /// Continues an existing journal (after [`Resume::load`] checked it).
    pub fn reopen(path: &Path) -> anyhow::Result<Writer> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the journal {}", path.display()))?;
        // A torn last line (kill -9 mid-write) must not glue onto the next one.
        let len = file.metadata()?.len();
        if len > 0 {
            let mut last = [0u8];
            file.seek(SeekFrom::Start(len - 1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                file.write_all(b"\n")?;
            }
        }
        Ok(Writer {
            file: Mutex::new(file),
            path: path.to_path_buf(),
        })
    }

    /// Appends one line and hands it to the OS before returning, so it survives a kill -9.
    pub fn append(&self, line: &Line) -> anyhow::Result<()> {
        let mut text = serde_json::to_vec(line)?;
        text.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(&text)
            .with_context(|| format!("cannot write the journal {}", self.path.display()))
    }

    /// Forces the journal to stable storage (at the end of a run).
    pub fn sync(&self) -> anyhow::Result<()> {
        Ok(self
            .file
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .sync_data()?)
    }
}

/// What an earlier run left: finished rows (by file offset, to keep the index small) and rows
/// whose request may or may not have reached the server.
pub struct Resume {
    path: PathBuf,
    /// Byte offset of each row's `done` line, indexed by row number; 0 = not done.
    done: Vec<u64>,
    /// `send` lines with no `done` after them.
    pub in_flight: std::collections::HashMap<u32, Line>,
    pub complete: bool,
    reader: Option<BufReader<File>>,
}

impl Resume {
    /// Reads a journal and checks that it belongs to this input.
    pub fn load(path: &Path, input: &Path, fingerprint: &Fingerprint) -> anyhow::Result<Resume> {
        let file = File::open(path)
            .with_context(|| format!("cannot open the journal {}", path.display()))?;
        let mut reader = BufReader::new(file);
        let mut resume = Resume {
            path: path.to_path_buf(),
            done: Vec::new(),
            in_flight: Default::default(),
            complete: false,
            reader: None,
        };
        let mut offset = 0u64;
        let mut text = Vec::new();
        let mut first = true;
        loop {
            text.clear();
            let n = reader.read_until(b'\n', &mut text)?;
            if n == 0 {
                break;
            }
            let at = offset;
            offset += n as u64;
            // A torn last line is what a kill -9 leaves; anything unparsable is skipped.
            let Ok(line) = serde_json::from_slice::<Line>(&text) else {
                continue;
            };
            match line {
                Line::Start { size, sha256, .. } if first => {
                    if size != fingerprint.size || sha256 != fingerprint.sha256 {
                        return Err(usage(format!(
                            "the journal {} was written for a different version of {} (the file changed since); \
                             run without --resume to start afresh, or restore the original file",
                            path.display(),
                            input.display()
                        )));
                    }
                }
                Line::Send { row, .. } => {
                    resume.in_flight.insert(row, line);
                }
                // A failed row is tried again; if its request had left, its `send` line stays
                // so the retry looks the customer up first.
                Line::Done {
                    outcome: Outcome::Failed,
                    ..
                } => {}
                Line::Done { row, .. } => {
                    resume.in_flight.remove(&row);
                    let index = row as usize;
                    if resume.done.len() <= index {
                        resume.done.resize(index + 1, 0);
                    }
                    resume.done[index] = at + 1; // +1 so that 0 means "not done"
                }
                Line::End { complete, .. } => resume.complete = complete,
                Line::Start { .. } => {}
            }
            if first {
                anyhow::ensure!(
                    text.starts_with(br#"{"t":"start""#),
                    "{} is not a custbulk journal",
                    path.display()
                );
                first = false;
            }
        }
        anyhow::ensure!(!first, "the journal {} is empty", path.display());
        Ok(resume)
    }

    /// The `done` line of a row finished in an earlier run.
    pub fn done(&mut self, row: u32) -> anyhow::Result<Option<Line>> {
        let Some(&at) = self.done.get(row as usize).filter(|at| **at > 0) else {
            return Ok(None);
        };
        if self.reader.is_none() {
            self.reader = Some(BufReader::new(File::open(&self.path)?));
        }
        let reader = self.reader.as_mut().expect("just opened");
        reader.seek(SeekFrom::Start(at - 1))?;
        let mut text = Vec::new();
        reader.read_until(b'\n', &mut text)?;
        Ok(Some(serde_json::from_slice(&text)?))
    }

    /// How many rows an earlier run finished.
    pub fn finished(&self) -> usize {
        self.done.iter().filter(|at| **at > 0).count()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn done(row: u32, id: &str) -> Line {
        Line::Done {
            row,
            outcome: Outcome::Created,
            id: Some(id.into()),
            status: Some(201),
            error: None,
            before: None,
            after: None,
        }
    }

    #[test]
    fn a_torn_journal_resumes_with_finished_and_in_flight_rows() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        std::fs::write(&input, "name\nA\nB\nC\n").unwrap();
        let fingerprint = Fingerprint::of(&input).unwrap();
        let path = dir.path().join("in.journal");
        let writer = Writer::create(&path, &input, &fingerprint, "create").unwrap();
        let send = |row| Line::Send {
            row,
            op: Op::Create,
            key: Some(format!("k{row}")),
            id: None,
            before: None,
        };
        writer.append(&send(2)).unwrap();
        writer.append(&done(2, "id2")).unwrap();
        writer.append(&send(3)).unwrap();
        drop(writer);
        // What a kill -9 in the middle of a write leaves behind.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(br#"{"t":"done","row":3,"outc"#).unwrap();

        let mut resume = Resume::load(&path, &input, &fingerprint).unwrap();
        assert_eq!(resume.finished(), 1);
        assert!(
            matches!(resume.done(2).unwrap(), Some(Line::Done { id: Some(id), .. }) if id == "id2")
        );
        assert!(resume.done(3).unwrap().is_none());
        assert!(resume.in_flight.contains_key(&3));
        assert!(!resume.complete);

        let writer = Writer::reopen(&path).unwrap();
        writer.append(&done(3, "id3")).unwrap();
        let mut resume = Resume::load(&path, &input, &fingerprint).unwrap();
        assert_eq!(resume.finished(), 2, "the line after the torn one is read");
        assert!(resume.done(3).unwrap().is_some());
    }

    #[test]
    fn a_journal_for_a_changed_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        std::fs::write(&input, "name\nA\n").unwrap();
        let path = dir.path().join("in.journal");
        Writer::create(&path, &input, &Fingerprint::of(&input).unwrap(), "create").unwrap();
        std::fs::write(&input, "name\nB\n").unwrap();
        let err = Resume::load(&path, &input, &Fingerprint::of(&input).unwrap())
            .err()
            .unwrap();
        assert_eq!(crate::error::exit_code(&err), crate::error::USAGE);
        assert!(err.to_string().contains("changed"), "{err}");
    }
}
