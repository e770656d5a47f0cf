//! Restore: make the account's customers equal a backup. The third producer of steps, after
//! import (a sheet) and undo (a journal): a backup compared with the account.
//!
//! Plan, match, then run. [`Plan::new`] checks the backup against its manifest, reads it into a
//! [`Side`] and claims the journal, with no request. [`match_live`] pages the account into a
//! side of its own and pairs each backup record with a customer: by id, else by the match key
//! (`--match-on`, SIRET by default). [`run`] then turns the pairs into steps: a customer equal to
//! its record is left alone (`unchanged`), one that differs is updated so that every field
//! equals the backup's (fields the backup lacks or holds empty are cleared, the way this API
//! clears: [`Applier::update_to`]), a record with no customer is created (the old id beside the
//! new one), and, with `--prune`, a customer the backup lacks is deleted; without it, it is
//! kept and counted `extra`. Everything goes through the applier: journaled, resumable, and
//! undoable with `custbulk undo BACKUP.restore.journal`.

mod pairs;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::api::{record_id, ApiError, Client};
use crate::apply::journal::{Claim, Line};
use crate::apply::summary::Files;
use crate::apply::writes::sendable;
use crate::apply::{
    self, Applier, Change, Column, Done, Finished, Layout, Outcome, Report, Results, Session,
    Settings, Step, Summary, UpdateWith, Writes,
};
use crate::compare;
use crate::export::manifest;
use crate::lookup::{self, Keys};
use crate::output::beside;
use crate::side::{self, Live, Pair, Side};
use pairs::Paired;

/// What a restore is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    pub backup: PathBuf,
    /// Say what would be done; change nothing.
    pub plan: bool,
    /// Delete the customers the backup does not have.
    pub prune: bool,
    /// The keys a record is matched on when its id is not in the account.
    pub match_on: Keys,
    /// Go on although the backup does not match its manifest, or some records cannot be read.
    pub force: bool,
    /// How updates are sent; `None`: as the API profile says, else PATCH.
    pub update_with: Option<UpdateWith>,
    /// The results file (default: NAME.restore.results.csv beside the backup).
    pub results: Option<PathBuf>,
    /// The journal (default: NAME.restore.journal beside the backup, NAME its name without
    /// its extension; a later run takes NAME.restore.2.journal, ...).
    pub journal: Option<PathBuf>,
    /// Concurrency, failure limits, resume and repair.
    pub run: Settings,
    /// Records per page when listing the account.
    pub page_size: u64,
}

/// A restore checked and ready: the backup read and trusted, the journal claimed; no request.
pub struct Plan {
    options: Options,
    backup: Side,
    results: PathBuf,
    claim: Option<Claim>,
    writes: Writes,
}

impl Plan {
    pub fn new(options: Options) -> anyhow::Result<Plan> {
        trust(&options)?;
        let backup = side::from_file(&options.backup, Some(&options.match_on), false)?;
        if backup.unreadable.count > 0 {
            let first: Vec<String> = backup
                .unreadable
                .first
                .iter()
                .map(|(row, why)| format!("record {row}: {why}"))
                .collect();
            let what = format!(
                "{} records of {} cannot be read ({})",
                backup.unreadable.count,
                backup.name,
                first.join("; ")
            );
            if !options.force || options.prune {
                anyhow::bail!(
                    "{what}: a restore from it would be incomplete (and --prune would delete \
                     their customers); nothing was sent. Add --force (without --prune) to \
                     restore the others"
                );
            }
            crate::warn!("{what}; they are left out.");
        }
        let results = options
            .results
            .clone()
            .unwrap_or_else(|| beside(&options.backup, "restore.results.csv"));
        let claim = match options.plan {
            true => None,
            false => {
                let journal = options
                    .journal
                    .clone()
                    .unwrap_or_else(|| beside(&options.backup, "restore.journal"));
                let start = options.run.start();
                Some(Claim::take(&journal, &options.backup, "restore", start)?)
            }
        };
        Ok(Plan {
            options,
            backup,
            results,
            claim,
            writes: Writes::default(),
        })
    }

    /// What the API profile says about this API's writes.
    pub fn with_writes(mut self, writes: Writes) -> Plan {
        self.writes = writes;
        self
    }
}

/// A backup is restored only if it is the file that was written: checked against its manifest
/// when there is one (a mismatch refuses, unless `--force`), and said when there is none.
fn trust(options: &Options) -> anyhow::Result<()> {
    let path = manifest::path_for(&options.backup);
    if !path.exists() {
        crate::warn!(
            "{} has no manifest ({}), so it cannot be checked for damage; restoring it as it is.",
            options.backup.display(),
            path.display()
        );
        return Ok(());
    }
    let verdict = manifest::verify(&options.backup, &path)?;
    if verdict.ok {
        return Ok(());
    }
    if !verdict.complete && options.prune {
        anyhow::bail!(
            "{} is an incomplete backup (its manifest says so): --prune would delete the \
             customers it misses, so nothing was sent. Restore it without --prune, or take a \
             complete backup",
            options.backup.display()
        );
    }
    let problems = verdict.problems.join("; ");
    if options.force {
        crate::warn!(
            "{} does not match its manifest ({problems}); restoring it anyway (--force).",
            options.backup.display()
        );
        return Ok(());
    }
    anyhow::bail!(
        "{} does not match its manifest {} ({problems}): it is not the file that was exported, \
         so nothing was sent. Restore another backup, or add --force to restore this one as it is",
        options.backup.display(),
        path.display()
    )
}

/// The backup paired with the account: what the run will do, before it does any of it.
pub struct Matched {
    plan: Plan,
    live: Side,
    paired: Paired,
}

impl Matched {
    /// Customers of the account that the backup does not have.
    pub fn extras(&self) -> u64 {
        self.paired.extras
    }

    /// Whether the run deletes the extras (`--prune`, not `--plan`).
    pub fn prunes(&self) -> bool {
        self.plan.options.prune && !self.plan.options.plan
    }
}

/// Pages through the account and pairs it with the backup.
pub async fn match_live(
    mut plan: Plan,
    client: &Client,
    progress: &crate::export::Progress,
) -> anyhow::Result<Matched> {
    let (_cancel_tx, cancel) = tokio::sync::watch::channel(false);
    let live = Live {
        client,
        page_size: plan.options.page_size,
        concurrency: plan.options.run.concurrency.min(8),
        progress,
        cancel,
    };
    let key = Some(&plan.options.match_on);
    let live = side::from_live(live, &plan.options.backup, key, true).await?;
    let resume = plan.claim.as_mut().and_then(|c| c.resume.as_mut());
    let paired = pairs::pair(&live, &plan.backup, resume)?;
    Ok(Matched { plan, live, paired })
}

/// Runs a matched restore.
pub async fn run(matched: Matched, client: &Client, session: Session) -> anyhow::Result<Report> {
    let started = Instant::now();
    let Matched { plan, live, paired } = matched;
    let Plan {
        options,
        backup,
        results,
        claim,
        writes,
    } = plan;
    let (applier, resume) = match claim {
        None => (Applier::plan(client.clone()), None),
        Some(claim) => {
            let keys = options.match_on.to_string();
            let (writer, resume) = claim.open("restore", Some(&keys))?;
            (Applier::new(client.clone(), Arc::new(writer)), resume)
        }
    };
    let applier = applier.with_writes(writes);
    let journal_path = applier.journal().map(|j| j.path.clone());
    let columns = [
        Column::Row,
        Column::Action,
        Column::Id,
        Column::NewId,
        Column::Outcome,
        Column::Status,
        Column::Error,
        Column::Note,
        Column::Changes,
        Column::Note,
    ];
    let layout = Layout {
        results: &results,
        failed: None,
        headers: &[],
        columns: &columns,
    };
    session.progress.start(Some(paired.len() as u64), "rows");
    let producer = Arc::new(Restorer {
        live,
        backup,
        match_on: options.match_on.clone(),
        update_with: options.update_with,
    });
    let jobs = paired.jobs(&producer, options.prune);
    let run = apply::Run {
        applier: Some(Arc::new(applier)),
        producer: producer.clone(),
        results: Results::create(layout, None)?,
        resume,
        session,
        window: options.run.window(),
        limits: options.run.limits,
    };
    let ran = apply::run(run, futures::stream::iter(jobs)).await?;
    let files = Files {
        input: &options.backup,
        results: &results,
        failed: &results,
        journal: journal_path.as_deref(),
    };
    let summary = Summary::new(
        "restore",
        &ran.counts,
        0,
        Some(client),
        started.elapsed(),
        files,
    );
    Ok(ran.report("restore", summary))
}

/// What one pair asks of the account.
#[derive(Debug, Clone, Copy)]
pub enum Work {
    /// Create the backup's record `new`.
    Create { new: u32 },
    /// Make the account's customer `old` equal the backup's record `new`.
    Update { old: u32, new: u32 },
    /// Delete the account's customer `old`, which the backup lacks.
    Delete { old: u32 },
}

/// Restore's producer: both sides, read again record by record as their turn comes.
pub struct Restorer {
    live: Side,
    backup: Side,
    match_on: Keys,
    update_with: Option<UpdateWith>,
}

impl Restorer {
    /// The results line of a pair, before anything is done: its row, action and id.
    fn line(&self, pair: Pair, row: u32) -> anyhow::Result<Finished> {
        let (action, side, index) = match pair {
            Pair::Added { new } => ("create", &self.backup, new),
            Pair::Same { new, .. } => ("keep", &self.backup, new),
            Pair::Differ { new, .. } => ("update", &self.backup, new),
            Pair::Ambiguous { new } | Pair::Taken { new, .. } => ("none", &self.backup, new),
            Pair::Removed { old } => ("delete", &self.live, old),
        };
        let mut line = Finished::new(0, row, Done::new(Outcome::Failed));
        line.action = action;
        line.id = record_id(&side.record(index)?);
        Ok(line)
    }
}

impl apply::Producer for Restorer {
    type Work = Work;

    async fn finish(
        &self,
        applier: &Applier,
        work: Work,
        resumed: Option<Line>,
        line: &mut Finished,
    ) -> Result<Done, ApiError> {
        let local = |e: anyhow::Error| ApiError::Local(format!("{e:#}"));
        let step = match work {
            Work::Create { new } => {
                let body = sendable(&self.backup.record(new).map_err(local)?);
                let key =
                    lookup::identifying(&body, Some(&self.match_on)).map(|k| k.shown(&body, None));
                let find_by = Some(self.match_on.clone());
                Step {
                    change: Change::Create { body, find_by },
                    done_as: Outcome::Created,
                    key,
                }
            }
            Work::Update { old, new } => {
                let current = self.live.record(old).map_err(local)?;
                let target = self.backup.record(new).map_err(local)?;
                let id = record_id(&current)
                    .ok_or_else(|| local(anyhow::anyhow!("the customer has no id")))?;
                let Some(change) = applier.update_to(&id, &current, &target, self.update_with)
                else {
                    return Ok(Done {
                        id: Some(id),
                        ..Done::new(Outcome::Unchanged)
                    });
                };
                let changes = compare::differences(
                    &compare::canonical(&current),
                    &compare::canonical(&target),
                );
                line.changes = Some(compare::describe(&changes));
                Step {
                    change,
                    done_as: Outcome::Updated,
                    key: None,
                }
            }
            Work::Delete { old } => {
                let before = self.live.record(old).map_err(local)?;
                let id = record_id(&before)
                    .ok_or_else(|| local(anyhow::anyhow!("the customer has no id")))?;
                Step {
                    change: Change::Delete { id, before },
                    done_as: Outcome::Deleted,
                    key: None,
                }
            }
        };
        applier.apply(line.row, step, resumed.as_ref()).await
    }
}
