//! Reading an import journal for undo: where each row's last successful change is, and what
//! it was. Only positions are kept in memory; each change is read again when its turn comes.
//! A damaged line stops undo with its number, as it stops the import's `--resume`: it may be
//! the `done` line of a customer the import created, which undo would then leave behind.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::Reversal;
use crate::apply::journal::{Line, Lines};
use crate::apply::Outcome;
use crate::error::usage;
use crate::lookup::Keys;

/// What `--repair` would do when the import's journal is damaged, for the refusal.
const ADVICE: &str = "Add --repair to undo what the other lines record (the change on a \
                      damaged line, if any, is then not undone)";

/// Each step's row, and where its line starts in the journal.
pub type Positions = Vec<(u32, u64)>;

/// What undo finds in an import journal.
pub struct Found {
    /// Where the steps to take are, newest first.
    pub positions: Positions,
    /// The import's match keys, which find a customer undo re-creates.
    pub keys: Option<Keys>,
    /// The import created customers: undo deletes them (unless already gone).
    pub creates: bool,
}

/// Where the steps to take are in the import journal, newest first: the line of each row's
/// last successful outcome. Only positions are kept, so a million-row undo holds a few MB; each
/// step is read again when its turn comes ([`StepReader`]).
pub fn find_steps(path: &Path, repair: bool) -> anyhow::Result<Found> {
    let mut lines = Lines::open(path, repair, ADVICE)?;
    let mut last: HashMap<u32, u64> = HashMap::new();
    let mut complete = false;
    let mut creates = false;
    let keys = match lines.first()? {
        Some(Line::Start { mode, match_on, .. }) if mode != "undo" => {
            match_on.and_then(|keys| Keys::parse(&keys).ok())
        }
        Some(Line::Start { .. }) => {
            return Err(usage(format!(
                "{} is the journal of an undo, not of an import",
                path.display()
            )))
        }
        _ => {
            return Err(usage(format!(
                "{} is not a custbulk import journal",
                path.display()
            )))
        }
    };
    while let Some((at, line)) = lines.next_line()? {
        match line {
            Line::End { complete: true, .. } => complete = true,
            line => {
                if let Some((row, step)) = step_of(line) {
                    creates |= matches!(step, Reversal::Delete { .. });
                    last.insert(row, at);
                }
            }
        }
    }
    if !complete {
        crate::warn!(
            "The import of {} did not finish: rows that were in flight when it stopped are not undone. \
             Finish it with `custbulk import ... --resume` first to undo everything.",
            path.display()
        );
    }
    let mut positions: Vec<(u32, u64)> = last.into_iter().collect();
    positions.sort_unstable_by_key(|&(_, at)| std::cmp::Reverse(at));
    Ok(Found {
        positions,
        keys,
        creates,
    })
}

/// The step a journal line asks for: a successful create, update or delete with its id, or an
/// update that did not fully take (`failed` with the record before it and as the API showed it
/// after: what did take is put back too).
fn step_of(line: Line) -> Option<(u32, Reversal)> {
    let Line::Done {
        row,
        outcome,
        id: Some(id),
        before,
        after,
        ..
    } = line
    else {
        return None;
    };
    let step = match (outcome, before) {
        (Outcome::Created, _) => Reversal::Delete { id, after },
        (Outcome::Updated, Some(before)) => Reversal::Restore { id, before, after },
        (Outcome::Failed, Some(before)) if after.is_some() => {
            Reversal::Restore { id, before, after }
        }
        (Outcome::Deleted, Some(before)) => Reversal::Recreate { id, before },
        _ => return None,
    };
    Some((row, step))
}

/// Reads the steps [`find_steps`] found, one at a time, from the import journal.
pub struct StepReader {
    path: PathBuf,
    lines: BufReader<File>,
    text: Vec<u8>,
}

impl StepReader {
    pub fn open(path: &Path) -> anyhow::Result<StepReader> {
        let file = File::open(path)
            .with_context(|| format!("cannot open the journal {}", path.display()))?;
        Ok(StepReader {
            path: path.to_path_buf(),
            lines: BufReader::new(file),
            text: Vec::new(),
        })
    }

    /// The step whose line starts at `at` (a line [`find_steps`] read).
    pub fn load(&mut self, at: u64) -> anyhow::Result<Reversal> {
        self.lines.seek(SeekFrom::Start(at))?;
        self.text.clear();
        self.lines
            .read_until(b'\n', &mut self.text)
            .with_context(|| format!("cannot read the journal {}", self.path.display()))?;
        serde_json::from_slice::<Line>(&self.text)
            .ok()
            .and_then(step_of)
            .map(|(_, step)| step)
            .with_context(|| {
                format!(
                    "the journal {} changed while undo read it",
                    self.path.display()
                )
            })
    }
}
