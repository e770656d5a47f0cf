//! The rows an import reads: the validation pipeline, adapted to what the producer needs.
//!
//! The first few hundred rows are read ahead, which tells whether the file is small (match
//! rows with one lookup each) or large (index the server's list once), gives the progress bar a
//! total for small files, and counts a small file's deletes for the confirmation. The rest is
//! read as the rows are sent, so the file is read once.
//!
//! A large file's total is not known until its end: the bar then shows what the reader can
//! tell (the sheet's dimension, the file's size over its bytes per row so far), and is given
//! the exact total once the last row is read.

use std::sync::OnceLock;

use tokio::sync::mpsc;

use super::rows::Wanted;
use super::InputRow;
use crate::lookup::{Keys, INDEX_ABOVE_ROWS};
use crate::mapping::{Ignored, Target};
use crate::pipeline::{Input, Pipeline};
use crate::progress::Progress;
use crate::validate::{Action, Checked, Mode, ValidateOptions};

/// An opened, mapped input with its first rows read.
pub struct Source {
    pipeline: Pipeline,
    ahead: Vec<Checked>,
    /// The whole file fitted in the look-ahead.
    ended: bool,
    pub headers: Vec<String>,
    /// The match keys, tried in order (`id` for the id column).
    pub keys: Keys,
    /// The sheet has an `_action` column: rows may choose their own mode.
    pub has_actions: bool,
    /// How the file was read, for the summary.
    pub read_as: String,
    /// Told how many rows are read, and the total at the end; set by [`Source::show`].
    progress: OnceLock<Progress>,
}

impl Source {
    /// Opens and maps the input; every mapping or flag mistake is a usage error from here.
    pub fn open(input: &Input, mode: Mode, match_on: Option<&str>) -> anyhow::Result<Source> {
        let options = ValidateOptions {
            mode,
            match_on: match_on.map(str::to_string),
        };
        let mut pipeline = Pipeline::open(input, &options)?;
        for note in &pipeline.source().notes {
            crate::info!("{note}");
        }
        let headers = pipeline.headers().to_vec();
        let has_actions = pipeline
            .mapping()
            .columns
            .iter()
            .any(|c| c.target == Target::Ignore(Ignored::Action));
        let keys = match pipeline.keys() {
            Some(keys) => keys.clone(),
            None => Keys::parse("name").expect("name is a field"),
        };
        let mut ahead = Vec::new();
        let mut ended = false;
        let mut data_rows = 0;
        while data_rows <= INDEX_ABOVE_ROWS {
            let mut row = Checked::new();
            if !pipeline.next(&mut row)? {
                ended = true;
                break;
            }
            data_rows += usize::from(!row.blank_row);
            ahead.push(row);
        }
        Ok(Source {
            read_as: crate::report::reading(pipeline.source()),
            pipeline,
            ahead,
            ended,
            headers,
            keys,
            has_actions,
            progress: OnceLock::new(),
        })
    }

    /// Starts the bar on the rows: against their number when the whole file fitted in the
    /// look-ahead, else against a total estimated from how far the reader is.
    pub fn show(&self, progress: &Progress) {
        match self.buffered_rows() {
            Some(rows) => progress.start(Some(rows), "rows"),
            None => progress.start_reading("rows", self.pipeline.source().extent()),
        }
        let _ = self.progress.set(progress.clone());
    }

    /// How many valid rows would delete a customer, for the confirmation: counted in the
    /// look-ahead when the whole file fitted in it, else by a counting pass over `input` (the
    /// only case where an import reads its input twice: a person is about to type `yes`).
    pub fn count_deletes(
        &self,
        input: &Input,
        mode: Mode,
        match_on: Option<&str>,
    ) -> anyhow::Result<u64> {
        let deletes = |row: &Checked| {
            let row_mode = match row.action {
                Some(Action::Do(m)) => m,
                Some(Action::Ignore | Action::Done) => return false,
                None => mode,
            };
            !row.blank_row && row.is_valid() && row_mode == Mode::Delete
        };
        if self.ended {
            return Ok(self.ahead.iter().filter(|r| deletes(r)).count() as u64);
        }
        let options = ValidateOptions {
            mode,
            match_on: match_on.map(str::to_string),
        };
        let mut pipeline = Pipeline::open(input, &options)?;
        let mut row = Checked::new();
        let mut count = 0;
        while pipeline.next(&mut row)? {
            count += u64::from(deletes(&row));
        }
        Ok(count)
    }

    /// What the file turned out to be (sheet, header row), for the annotated copy.
    pub fn table(&self) -> &crate::read::Table {
        self.pipeline.source()
    }

    /// How the columns map, for the annotated copy.
    pub fn mapping(&self) -> &crate::mapping::Mapping {
        self.pipeline.mapping()
    }

    /// How many data rows, when the whole file fitted in the look-ahead.
    pub fn buffered_rows(&self) -> Option<u64> {
        self.ended
            .then(|| self.ahead.iter().filter(|r| !r.blank_row).count() as u64)
    }

    /// The valid rows read ahead, in order, as the producer takes them.
    pub fn first_rows(&self) -> impl Iterator<Item = Wanted> + '_ {
        self.ahead
            .iter()
            .filter(|row| !row.blank_row && row.is_valid())
            .map(|row| input_row(row).wanted)
    }

    /// More rows than per-row lookups suit.
    pub fn is_large(&self) -> bool {
        !self.ended
    }

    /// Reads every row and sends it on; returns the number of blank rows. A read error is
    /// sent as the last item.
    pub fn send_rows(mut self, tx: mpsc::Sender<anyhow::Result<InputRow>>) -> anyhow::Result<u64> {
        let location = self.pipeline.source().location();
        let progress = self.progress.take().unwrap_or_default();
        let (mut blank, mut taken) = (0, 0);
        let mut send = |row: &Checked| -> bool {
            if row.blank_row {
                blank += 1;
                return true;
            }
            taken += 1;
            tx.blocking_send(Ok(input_row(row))).is_ok()
        };
        for row in std::mem::take(&mut self.ahead) {
            if !send(&row) {
                return Ok(blank);
            }
        }
        if !self.ended {
            let mut row = Checked::new();
            loop {
                match self.pipeline.next(&mut row) {
                    Ok(true) if send(&row) => {}
                    Ok(true) => break,
                    Ok(false) => {
                        progress.set_total(taken);
                        break;
                    }
                    Err(err) => {
                        let err =
                            anyhow::Error::new(err).context(format!("cannot read {location}"));
                        let _ = tx.blocking_send(Err(err));
                        break;
                    }
                }
            }
        }
        Ok(blank)
    }
}

fn input_row(row: &Checked) -> InputRow {
    InputRow {
        number: row.row,
        cells: row.cells.clone(),
        problems: row.problems.clone(),
        wanted: Wanted {
            record: row.record(),
            blank: row.blank_fields().map(|f| f.name).collect(),
            id: row.id().map(str::to_string),
            action: row.action,
        },
    }
}
