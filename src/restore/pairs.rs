//! The backup paired with the account, and the pairs as the jobs of a run.
//!
//! A resumed restore first takes back what its earlier run did: a record it created is paired
//! with the customer it created (whose id the journal has), not counted again as missing (or
//! that customer as extra, and pruned); customers it pruned are listed from the journal. The
//! customers to prune are numbered after every row the journal names, since their numbers are
//! given anew on each run.

use std::collections::{HashMap, HashSet};

use super::{Restorer, Work};
use crate::apply::journal::{Line, Resume};
use crate::apply::{Done, Finished, Job, Outcome};
use crate::side::{pairs, By, Pair, Side};

/// Every pair, in the backup's order, then the account's customers the backup lacks.
pub struct Paired {
    pairs: Vec<Pair>,
    /// Customers of the account that the backup does not have.
    pub extras: u64,
    /// Rows an earlier run of this restore pruned, with what it journaled.
    pruned: Vec<(u32, Done)>,
    /// The first row number for the customers to prune.
    extra_rows: u32,
}

/// Pairs `backup` with `live`: by id, else by the match key.
pub fn pair(live: &Side, backup: &Side, resume: Option<&mut Resume>) -> anyhow::Result<Paired> {
    let mut pairs: Vec<Pair> = pairs(live, backup, By::IdThenKey).collect();
    let backup_end = backup.entries.iter().map(|e| e.row + 1).max().unwrap_or(1);
    let (mut pruned, mut extra_rows) = (Vec::new(), backup_end);
    if let Some(resume) = resume {
        take_back_creates(&mut pairs, live, backup, resume)?;
        for row in backup_end..resume.rows_end() {
            if let Some(done) = resume.done(row)?.and_then(Done::from_line) {
                pruned.push((row, done));
            }
        }
        extra_rows = extra_rows.max(resume.rows_end());
    }
    let extras = pairs
        .iter()
        .filter(|p| matches!(p, Pair::Removed { .. }))
        .count() as u64;
    Ok(Paired {
        pairs,
        extras,
        pruned,
        extra_rows,
    })
}

/// A backup record an earlier run created is paired with the customer it created.
fn take_back_creates(
    pairs: &mut Vec<Pair>,
    live: &Side,
    backup: &Side,
    resume: &mut Resume,
) -> anyhow::Result<()> {
    let mut created: HashMap<u32, u32> = HashMap::new();
    for pair in pairs.iter() {
        let Pair::Added { new } = *pair else { continue };
        let row = backup.entries[new as usize].row;
        if let Some(Line::Done {
            outcome: Outcome::Created,
            id: Some(id),
            ..
        }) = resume.done(row)?
        {
            if let Some(old) = live.find_id(&id) {
                created.insert(new, old);
            }
        }
    }
    let taken: HashSet<u32> = created.values().copied().collect();
    pairs.retain(|p| !matches!(p, Pair::Removed { old } if taken.contains(old)));
    for pair in pairs.iter_mut() {
        if let Pair::Added { new } = *pair {
            if let Some(&old) = created.get(&new) {
                *pair = Pair::Same { old, new };
            }
        }
    }
    Ok(())
}

impl Paired {
    /// Rows the run will write: every pair, and the customers pruned before.
    pub fn len(&self) -> usize {
        self.pairs.len() + self.pruned.len()
    }

    /// The pairs as jobs, made as the run takes them. With `prune`, customers the backup lacks
    /// are deleted; otherwise they are kept and counted `extra`.
    pub fn jobs<'a>(
        &'a self,
        producer: &'a Restorer,
        prune: bool,
    ) -> impl Iterator<Item = anyhow::Result<Job<Work>>> + 'a {
        let earlier = self.pruned.iter().map(|(row, done)| {
            let mut line = Finished::new(0, *row, done.clone());
            line.action = "delete";
            line.id = done.id.clone();
            Ok(Job::ended(line, done.clone()).fresh())
        });
        let mut extra_row = self.extra_rows;
        let now = self.pairs.iter().map(move |&pair| {
            let row = match pair {
                Pair::Removed { .. } => {
                    extra_row += 1;
                    extra_row - 1
                }
                Pair::Added { new }
                | Pair::Same { new, .. }
                | Pair::Differ { new, .. }
                | Pair::Ambiguous { new }
                | Pair::Taken { new, .. } => producer.backup.entries[new as usize].row,
            };
            let line = producer.line(pair, row)?;
            Ok(job(pair, line, producer, prune))
        });
        earlier.chain(now)
    }
}

fn job(pair: Pair, line: Finished, producer: &Restorer, prune: bool) -> Job<Work> {
    match pair {
        Pair::Added { new } => Job::new(line, Work::Create { new }),
        Pair::Same { .. } => Job::ended(line, Done::new(Outcome::Unchanged)),
        Pair::Differ { old, new } => Job::new(line, Work::Update { old, new }),
        Pair::Removed { old } if prune => Job::new(line, Work::Delete { old }).fresh(),
        Pair::Removed { .. } => {
            let why = "not in the backup: kept (--prune deletes it)";
            Job::ended(line, Done::because(Outcome::Extra, why)).fresh()
        }
        Pair::Ambiguous { .. } => {
            let key = &producer.match_on;
            let why = format!(
                "several customers of the account have this record's {key}; none was chosen"
            );
            Job::ended(line, Done::because(Outcome::Failed, why))
        }
        Pair::Taken { .. } => {
            let why = "the backup holds this customer twice; only its first record is restored";
            Job::ended(line, Done::because(Outcome::Failed, why))
        }
    }
}
