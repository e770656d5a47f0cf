//! Reading a journal back: the rule for damage ([`Lines`]), and what an earlier run left for
//! `--resume` ([`Resume`]).
//!
//! A journal is only worth its lines: a `send` line that cannot be read is a row whose request
//! may have reached the server without anything saying so, and a row resumed without it is sent
//! again without the lookup that would have found it. So only the one kind of damage a crash
//! leaves is passed over in silence (a last line cut short by a `kill -9`); any other line that
//! cannot be read stops the run with its number, before anything is sent. `--repair` goes on
//! regardless, and makes up for what may have been lost: every row without a `done` counts as
//! in flight, so each is looked up before it is sent.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::error::Category;

use super::{Fingerprint, Line, Op};
use crate::apply::Outcome;
use crate::error::usage;

/// What `--repair` would do when the import's journal is damaged, for the refusal.
const RESUME_ADVICE: &str = "Run the same command with --resume --repair to go on: every row \
                             without a `done` line is then looked up before anything is sent";

/// A journal's lines in order, with where each starts, under the rule for damage.
pub struct Lines {
    path: PathBuf,
    reader: BufReader<File>,
    text: Vec<u8>,
    offset: u64,
    number: u64,
    repair: bool,
    /// What to do about a damaged line, said when one stops the reading.
    advice: &'static str,
    damaged: u64,
}

impl Lines {
    /// Opens a journal. With `repair`, damaged lines are passed over with a warning; without,
    /// the first one is a usage error (exit 2) that names it and gives `advice`.
    pub fn open(path: &Path, repair: bool, advice: &'static str) -> anyhow::Result<Lines> {
        let file = File::open(path)
            .with_context(|| format!("cannot open the journal {}", path.display()))?;
        Ok(Lines {
            path: path.to_path_buf(),
            reader: BufReader::new(file),
            text: Vec::new(),
            offset: 0,
            number: 0,
            repair,
            advice,
            damaged: 0,
        })
    }

    /// The first line, which must be the journal's start line: `None` when the file is empty
    /// or its first line is not one custbulk writes (it is not a journal). Call it first.
    pub fn first(&mut self) -> anyhow::Result<Option<Line>> {
        Ok(self
            .read()?
            .and_then(|_| serde_json::from_slice(&self.text).ok()))
    }

    /// The next line that can be read, with the byte offset where it starts. A last line cut
    /// short ends the journal; blank lines are passed over.
    pub fn next_line(&mut self) -> anyhow::Result<Option<(u64, Line)>> {
        loop {
            let Some(at) = self.read()? else {
                return Ok(None);
            };
            let err = match serde_json::from_slice::<Line>(&self.text) {
                Ok(line) => return Ok(Some((at, line))),
                Err(err) => err,
            };
            if self.text.trim_ascii().is_empty() {
                continue;
            }
            // What a kill -9 in the middle of a write leaves: the start of a line, no newline.
            if err.is_eof() && !self.text.ends_with(b"\n") {
                crate::debug!(
                    "The journal {} ends with a line cut short (a run was killed while writing \
                     it); it is passed over.",
                    self.path.display()
                );
                return Ok(None);
            }
            let why = match err.classify() {
                Category::Eof => "cut short",
                Category::Syntax => "not JSON",
                Category::Data => "not a journal line",
                Category::Io => "unreadable",
            };
            let what = format!(
                "line {} of the journal {} cannot be read ({why}, at column {})",
                self.number,
                self.path.display(),
                err.column()
            );
            if !self.repair {
                return Err(usage(format!(
                    "{what}: it may be the only record of a request that reached the server. \
                     Nothing was sent. {}",
                    self.advice
                )));
            }
            crate::warn!("{what}; --repair passes over it.");
            self.damaged += 1;
        }
    }

    /// Lines passed over as damaged (with `repair`).
    pub fn damaged(&self) -> u64 {
        self.damaged
    }

    /// Reads the next raw line into `text`; returns where it starts.
    fn read(&mut self) -> anyhow::Result<Option<u64>> {
        self.text.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.text)
            .with_context(|| format!("cannot read the journal {}", self.path.display()))?;
        if n == 0 {
            return Ok(None);
        }
        let at = self.offset;
        self.offset += n as u64;
        self.number += 1;
        Ok(Some(at))
    }
}

/// Rows whose request may have reached the server: the `send` lines with no `done` after them
/// and, with `--repair`, every row without a `done`, since its `send` line may be the one lost.
#[derive(Debug, Default)]
pub struct InFlight {
    sends: HashMap<u32, Line>,
    every_row: bool,
}

impl InFlight {
    /// How `row` was left (asked once, for a row with no `done`): its `send` line, or under
    /// `--repair` a stand-in one, so that a create is looked up before it is sent.
    pub fn remove(&mut self, row: &u32) -> Option<Line> {
        let sent = self.sends.remove(row);
        match sent {
            None if self.every_row => Some(Line::Send {
                row: *row,
                op: Op::Create,
                key: None,
                id: None,
                before: None,
            }),
            sent => sent,
        }
    }

    /// The rows with a `send` line and no `done`.
    pub fn len(&self) -> usize {
        self.sends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sends.is_empty()
    }

    pub fn contains_key(&self, row: &u32) -> bool {
        self.sends.contains_key(row)
    }

    fn last_row(&self) -> Option<u32> {
        self.sends.keys().max().copied()
    }
}

/// What an earlier run left: finished rows (by file offset, to keep the index small) and rows
/// whose request may or may not have reached the server.
pub struct Resume {
    path: PathBuf,
    /// Byte offset of each row's `done` line, indexed by row number; 0 = not done.
    done: Vec<u64>,
    pub in_flight: InFlight,
    pub complete: bool,
    reader: Option<BufReader<File>>,
}

impl Resume {
    /// Reads a journal and checks that it belongs to this input. A damaged line stops it
    /// (exit 2) unless `repair`, which passes over damaged lines and counts every row without a
    /// `done` as in flight.
    pub fn load(
        path: &Path,
        input: &Path,
        fingerprint: &Fingerprint,
        repair: bool,
    ) -> anyhow::Result<Resume> {
        let mut lines = Lines::open(path, repair, RESUME_ADVICE)?;
        match lines.first()? {
            Some(Line::Start { size, sha256, .. }) => {
                if size != fingerprint.size || sha256 != fingerprint.sha256 {
                    return Err(usage(format!(
                        "the journal {} was written for a different version of {} (the file changed since); \
                         run without --resume to start afresh, or restore the original file",
                        path.display(),
                        input.display()
                    )));
                }
            }
            _ => anyhow::bail!(
                "{} is empty or not a custbulk journal (its first line is not a start line)",
                path.display()
            ),
        }
        let mut resume = Resume {
            path: path.to_path_buf(),
            done: Vec::new(),
            in_flight: InFlight {
                sends: HashMap::new(),
                every_row: repair,
            },
            complete: false,
            reader: None,
        };
        while let Some((at, line)) = lines.next_line()? {
            match line {
                Line::Send { row, .. } => {
                    resume.in_flight.sends.insert(row, line);
                }
                // A failed row is tried again; if its request had left, its `send` line stays
                // so the retry looks the customer up first. So is an unknown one.
                Line::Done {
                    outcome: Outcome::Failed | Outcome::Unknown,
                    ..
                } => {}
                Line::Done { row, .. } => {
                    resume.in_flight.sends.remove(&row);
                    let index = row as usize;
                    if resume.done.len() <= index {
                        resume.done.resize(index + 1, 0);
                    }
                    resume.done[index] = at + 1; // +1 so that 0 means "not done"
                }
                Line::End { complete, .. } => resume.complete = complete,
                Line::Start { .. } => {}
            }
        }
        if repair {
            crate::info!(
                "--repair: {} damaged line(s) passed over; every row without a `done` line is \
                 looked up before anything is sent for it.",
                lines.damaged()
            );
        }
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

    /// A row number above every row the journal names: where a run that numbers some rows
    /// anew (restore's customers to prune) starts, so no two lines of a journal name one row
    /// for two customers.
    pub fn rows_end(&self) -> u32 {
        let done = self.done.len() as u32;
        let sent = self.in_flight.last_row().map_or(0, |r| r + 1);
        done.max(sent)
    }

    /// How many rows an earlier run finished.
    pub fn finished(&self) -> usize {
        self.done.iter().filter(|at| **at > 0).count()
    }
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;
    use std::io::Write;

    use super::super::{Lock, Writer};
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
            similar: None,
            note: None,
        }
    }

    fn send(row: u32) -> Line {
        Line::Send {
            row,
            op: Op::Create,
            key: Some(format!("k{row}")),
            id: None,
            before: None,
        }
    }

    /// A journal of rows 2 (done) and 3 (sent), for input `in.csv`.
    fn journal(dir: &Path) -> (PathBuf, PathBuf, Fingerprint) {
        let input = dir.join("in.csv");
        std::fs::write(&input, "name\nA\nB\nC\n").unwrap();
        let fingerprint = Fingerprint::of(&input).unwrap();
        let path = dir.join("in.journal");
        let lock = Lock::take(&path, "import").unwrap();
        let writer =
            Writer::create(&path, &input, &fingerprint, "create", None, vec![lock]).unwrap();
        writer.append(&send(2)).unwrap();
        writer.append(&done(2, "id2")).unwrap();
        writer.append(&send(3)).unwrap();
        (path, input, fingerprint)
    }

    fn append(path: &Path, bytes: &[u8]) {
        let mut file = OpenOptions::new().append(true).open(path).unwrap();
        file.write_all(bytes).unwrap();
    }

    #[test]
    fn a_torn_journal_resumes_with_finished_and_in_flight_rows() {
        let dir = tempfile::tempdir().unwrap();
        let (path, input, fingerprint) = journal(dir.path());
        // What a kill -9 in the middle of a write leaves behind.
        append(&path, br#"{"t":"done","row":3,"outc"#);

        let mut resume = Resume::load(&path, &input, &fingerprint, false).unwrap();
        assert_eq!(resume.finished(), 1);
        assert!(
            matches!(resume.done(2).unwrap(), Some(Line::Done { id: Some(id), .. }) if id == "id2")
        );
        assert!(resume.done(3).unwrap().is_none());
        assert!(resume.in_flight.contains_key(&3));
        assert!(!resume.complete);

        let writer = Writer::reopen(&path, vec![Lock::take(&path, "import").unwrap()]).unwrap();
        writer.append(&done(3, "id3")).unwrap();
        drop(writer);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("outc\""), "the torn line is cut off: {text}");
        let mut resume = Resume::load(&path, &input, &fingerprint, false).unwrap();
        assert_eq!(resume.finished(), 2, "the line after the torn one is read");
        assert!(resume.done(3).unwrap().is_some());
        // Resumed again: the journal has no damage in the middle.
        Writer::reopen(&path, vec![Lock::take(&path, "import").unwrap()]).unwrap();
        Resume::load(&path, &input, &fingerprint, false).unwrap();
    }

    #[test]
    fn a_damaged_line_stops_resume_with_its_number_unless_repair() {
        let dir = tempfile::tempdir().unwrap();
        let (path, input, fingerprint) = journal(dir.path());
        // Row 3's `send` line, replaced by garbage; then a later line.
        let text = std::fs::read_to_string(&path).unwrap();
        let damaged = text.replace(
            r#"{"t":"send","row":3,"op":"create","key":"k3"}"#,
            "#garbage",
        );
        assert_ne!(damaged, text);
        std::fs::write(&path, damaged).unwrap();
        append(&path, br#"{"t":"send","row":4,"op":"create","key":"k4"}"#);
        append(&path, b"\n");

        let err = Resume::load(&path, &input, &fingerprint, false)
            .err()
            .expect("refused");
        assert_eq!(crate::error::exit_code(&err), crate::error::USAGE);
        assert!(err.to_string().contains("line 4 of the journal"), "{err}");
        assert!(err.to_string().contains("--repair"), "{err}");

        let mut resume = Resume::load(&path, &input, &fingerprint, true).unwrap();
        assert_eq!(resume.finished(), 1);
        assert!(resume.done(2).unwrap().is_some());
        assert!(
            matches!(
                resume.in_flight.remove(&3),
                Some(Line::Send {
                    op: Op::Create,
                    key: None,
                    ..
                })
            ),
            "a row whose send line is lost is looked up first"
        );
        assert!(matches!(
            resume.in_flight.remove(&4),
            Some(Line::Send { key: Some(k), .. }) if k == "k4"
        ));
        assert!(
            resume.in_flight.remove(&9).is_some(),
            "with --repair, every row without a done is in flight"
        );
    }

    #[test]
    fn a_garbage_last_line_with_its_newline_is_damage_not_a_tear() {
        let dir = tempfile::tempdir().unwrap();
        let (path, input, fingerprint) = journal(dir.path());
        append(&path, b"{\"t\":\"send\",\"row\":4,\"op\":\"crea\n");
        assert!(Resume::load(&path, &input, &fingerprint, false).is_err());
    }

    #[test]
    fn a_journal_for_a_changed_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (path, input, _) = journal(dir.path());
        std::fs::write(&input, "name\nB\n").unwrap();
        let err = Resume::load(&path, &input, &Fingerprint::of(&input).unwrap(), false)
            .err()
            .unwrap();
        assert_eq!(crate::error::exit_code(&err), crate::error::USAGE);
        assert!(err.to_string().contains("changed"), "{err}");
    }
}
