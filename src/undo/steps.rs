//! Reading an import journal for undo: where each row's last successful change is, and what
//! it was. Only positions are kept in memory; each change is read again when its turn comes.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::Reversal;
use crate::apply::journal::Line;
use crate::apply::Outcome;
use crate::error::usage;

/// Where the steps to take are in the import journal, newest first: the line of each row's
/// last successful outcome. Only positions are kept, so a million-row undo holds a few MB; each
/// step is read again when its turn comes ([`StepReader`]).
pub fn find_steps(path: &Path) -> anyhow::Result<Vec<(u32, u64)>> {
    let mut lines = journal_lines(path)?;
    let mut last: HashMap<u32, u64> = HashMap::new();
    let mut complete = false;
    let mut text = Vec::new();
    let mut offset = 0;
    match next_line(&mut lines, &mut text, &mut offset, path)? {
        Some((_, Line::Start { mode, .. })) if mode != "undo" => {}
        Some((_, Line::Start { .. })) => {
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
    }
    while let Some((at, line)) = next_line(&mut lines, &mut text, &mut offset, path)? {
        match line {
            Line::End { complete: true, .. } => complete = true,
            line => {
                if let Some((row, _)) = step_of(line) {
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
    let mut steps: Vec<(u32, u64)> = last.into_iter().collect();
    steps.sort_unstable_by_key(|&(_, at)| std::cmp::Reverse(at));
    Ok(steps)
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

type JournalLines = BufReader<File>;

fn journal_lines(path: &Path) -> anyhow::Result<JournalLines> {
    let file =
        File::open(path).with_context(|| format!("cannot open the journal {}", path.display()))?;
    Ok(BufReader::new(file))
}

/// The next line that parses, with where it starts (`offset` follows the reader); lines that
/// do not parse (a line cut short by a crash) are passed over, as the import's resume does.
fn next_line(
    lines: &mut JournalLines,
    text: &mut Vec<u8>,
    offset: &mut u64,
    path: &Path,
) -> anyhow::Result<Option<(u64, Line)>> {
    loop {
        let at = *offset;
        text.clear();
        let n = lines
            .read_until(b'\n', text)
            .with_context(|| format!("reading the journal {}", path.display()))?;
        if n == 0 {
            return Ok(None);
        }
        *offset += n as u64;
        if let Ok(line) = serde_json::from_slice::<Line>(text) {
            return Ok(Some((at, line)));
        }
    }
}

/// Reads the steps [`find_steps`] found, one at a time, from the import journal.
pub struct StepReader {
    path: PathBuf,
    lines: JournalLines,
    text: Vec<u8>,
}

impl StepReader {
    pub fn open(path: &Path) -> anyhow::Result<StepReader> {
        Ok(StepReader {
            path: path.to_path_buf(),
            lines: journal_lines(path)?,
            text: Vec::new(),
        })
    }

    /// The step whose line starts at `at`.
    pub fn load(&mut self, at: u64) -> anyhow::Result<Reversal> {
        self.lines.seek(SeekFrom::Start(at))?;
        let mut offset = at;
        next_line(&mut self.lines, &mut self.text, &mut offset, &self.path)?
            .and_then(|(found, line)| (found == at).then_some(line))
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
