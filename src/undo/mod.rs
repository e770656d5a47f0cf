//! Undo: reverse an import (or a restore) from its journal. The producer of steps from a journal.
//!
//! The import journal holds each row's outcome and id, the whole record before every update,
//! and the record as the import left it. Undo walks it newest first: customers the import
//! created are deleted, updated ones get their old values back, deleted ones are created again.
//! A customer someone changed since the import is a conflict and is left alone (unless
//! `--force`). Every step first looks at the customer as it is now, so running undo twice, or
//! after a crash, does no harm; the applier journals it like an import and `--resume`
//! continues it.

mod steps;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use crate::api::{record_id, ApiError, Client, Record};
use crate::apply::journal::{Claim, Line, Lock};
use crate::apply::summary::Files;
use crate::apply::writes;
use crate::apply::{
    self, Applier, Change, Column, Done, Finished, Job, Layout, Outcome, Report, Results, Session,
    Settings, Step, Summary, UpdateWith, Writes,
};
use crate::compare;
use crate::lookup::{Found, Keys};
use crate::output::beside;
use crate::schema;
use steps::{find_steps, StepReader};

/// What an undo is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The journal an import (or a restore) wrote.
    pub journal: PathBuf,
    pub plan: bool,
    /// Undo even customers changed since the import.
    pub force: bool,
    /// `--restore-with`: how updated customers are restored, whatever the API profile says.
    pub restore_with: Option<UpdateWith>,
    /// The results file (default: NAME.undo.results.csv beside the journal).
    pub results: Option<PathBuf>,
    /// Concurrency, failure limits, resume, and repair: go on past damaged lines of the
    /// import's journal (their changes are not undone) and, with resume, of undo's own.
    pub run: Settings,
}

/// One change of the import to reverse.
#[derive(Debug, Clone)]
pub enum Reversal {
    /// The import created this customer.
    Delete { id: String, after: Option<Record> },
    /// The import changed this customer from `before` to `after`.
    Restore {
        id: String,
        before: Record,
        after: Option<Record>,
    },
    /// The import deleted this customer, whose record was `before`.
    Recreate { id: String, before: Record },
}

impl Reversal {
    fn action(&self) -> &'static str {
        match self {
            Reversal::Delete { .. } => "delete",
            Reversal::Restore { .. } => "restore",
            Reversal::Recreate { .. } => "recreate",
        }
    }

    fn id(&self) -> &str {
        match self {
            Reversal::Delete { id, .. }
            | Reversal::Restore { id, .. }
            | Reversal::Recreate { id, .. } => id,
        }
    }
}

/// An undo checked and ready: the journal read, nothing sent.
pub struct Plan {
    options: Options,
    /// Where each step's line is in the import journal, newest first.
    steps: Vec<(u32, u64)>,
    /// The import's match keys, which find a customer undo re-creates.
    keys: Option<Keys>,
    /// The import created customers, which undo deletes.
    creates: bool,
    results: PathBuf,
    /// Undo's claim on its own journal; `None` for `--plan`, which writes none.
    claim: Option<Claim>,
    /// Undo's hold on the import's journal, so no import resumes it while undo reads it.
    _reading: Option<Lock>,
    /// How this API's writes behave, from the API profile.
    writes: Writes,
}

impl Plan {
    pub fn new(options: Options) -> anyhow::Result<Plan> {
        let (reading, claim) = match options.plan {
            true => (None, None),
            false => {
                let reading = Lock::take(&options.journal, "undo")?;
                let own = beside(&options.journal, "undo.journal");
                let claim = Claim::take(&own, &options.journal, "undo", options.run.start())?;
                (Some(reading), Some(claim))
            }
        };
        let found = find_steps(&options.journal, options.run.repair)?;
        let results = options
            .results
            .clone()
            .unwrap_or_else(|| beside(&options.journal, "undo.results.csv"));
        Ok(Plan {
            options,
            steps: found.positions,
            keys: found.keys,
            creates: found.creates,
            results,
            claim,
            _reading: reading,
            writes: Writes::default(),
        })
    }

    /// Whether this undo may delete customers (those the import created; not in `--plan`),
    /// which needs a yes, as `import --mode delete` and `restore --prune` do.
    pub fn may_delete(&self) -> bool {
        self.creates && !self.options.plan
    }

    /// How many customers this undo would delete at most, for the confirmation: one more
    /// read of the journal.
    pub fn count_deletes(&self) -> anyhow::Result<u64> {
        let mut reader = StepReader::open(&self.options.journal)?;
        let mut count = 0;
        for &(_, at) in &self.steps {
            count += u64::from(matches!(reader.load(at)?, Reversal::Delete { .. }));
        }
        Ok(count)
    }

    /// What the API profile says about this API's writes: how undo clears a field, and which
    /// answers show a customer restored.
    pub fn with_writes(mut self, writes: Writes) -> Plan {
        self.writes = writes;
        self
    }
}

pub async fn run(plan: Plan, client: &Client, session: Session) -> anyhow::Result<Report> {
    let started = Instant::now();
    let (options, results) = (&plan.options, &plan.results);
    let (applier, resume) = match plan.claim {
        None => (Applier::plan(client.clone()), None),
        Some(claim) => {
            let (writer, resume) = claim.open("undo", None)?;
            (Applier::new(client.clone(), Arc::new(writer)), resume)
        }
    };
    let applier = applier.with_writes(plan.writes.clone());
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
        Column::Conflicts,
        Column::Note,
    ];
    let layout = Layout {
        results,
        failed: None,
        headers: &[],
        columns: &columns,
    };
    session
        .progress
        .start(Some(plan.steps.len() as u64), "rows");
    let mut reader = StepReader::open(&options.journal)?;
    let jobs = plan
        .steps
        .iter()
        .map(|&(row, at)| Ok(job(row, reader.load(at))));
    let run = apply::Run {
        applier: Some(Arc::new(applier)),
        producer: Arc::new(Undoer {
            force: options.force,
            restore_with: options.restore_with,
            keys: plan.keys.clone(),
        }),
        results: Results::create(layout, None)?,
        resume,
        session,
        window: options.run.window(),
        limits: options.run.limits,
    };
    let ran = apply::run(run, futures::stream::iter(jobs)).await?;
    let files = Files {
        input: &options.journal,
        results,
        failed: results,
        journal: journal_path.as_deref(),
    };
    let summary = Summary::new(
        "undo",
        &ran.counts,
        0,
        Some(client),
        started.elapsed(),
        files,
    );
    Ok(ran.report("undo", summary))
}

/// A step of the journal as a job: its action and the import's id go on the results line.
fn job(row: u32, step: anyhow::Result<Reversal>) -> Job<Reversal> {
    let mut line = Finished::new(0, row, Done::new(Outcome::Failed));
    match step {
        Ok(step) => {
            line.action = step.action();
            line.id = Some(step.id().to_string());
            Job::new(line, step)
        }
        Err(err) => Job::ended(line, Done::because(Outcome::Failed, format!("{err:#}"))),
    }
}

/// Undo's producer: each reversal checked against the customer as it is now.
struct Undoer {
    force: bool,
    restore_with: Option<UpdateWith>,
    keys: Option<Keys>,
}

impl apply::Producer for Undoer {
    type Work = Reversal;

    async fn finish(
        &self,
        applier: &Applier,
        reversal: Reversal,
        _resumed: Option<Line>,
        line: &mut Finished,
    ) -> Result<Done, ApiError> {
        let current = applier.current(reversal.id()).await?;
        let step = match self.step(&reversal, current, applier, line).await? {
            Ok(step) => step,
            Err(done) => return Ok(done),
        };
        applier.apply(line.row, step, None).await
    }
}

impl Undoer {
    /// The step that reverses `reversal`, or how it ended without one (already undone, a
    /// conflict).
    async fn step(
        &self,
        reversal: &Reversal,
        current: Option<Record>,
        applier: &Applier,
        line: &mut Finished,
    ) -> Result<Result<Step, Done>, ApiError> {
        let change = match (reversal, current) {
            (Reversal::Delete { .. }, None) => {
                return Ok(Err(Done::because(Outcome::Unchanged, "already deleted")))
            }
            (Reversal::Delete { id, after }, Some(current)) => {
                if let Some(conflict) = self.conflict(&current, after.as_ref(), None, line) {
                    return Ok(Err(conflict));
                }
                Change::Delete {
                    id: id.clone(),
                    before: current,
                }
            }
            (Reversal::Restore { .. }, None) => {
                let why = "the customer was deleted since the import";
                return Ok(Err(Done::because(Outcome::Conflict, why)));
            }
            (Reversal::Restore { id, before, after }, Some(current)) => {
                // The fields the import changed, as they were before it; the rest as they are.
                let changed = compare::changed_fields(before, after.as_ref().unwrap_or(&current));
                let mut target = current.clone();
                for field in changed {
                    match before.get(&field) {
                        Some(value) => target.insert(field, value.clone()),
                        None => target.shift_remove(&field),
                    };
                }
                let restore = applier.update_to(id, &current, &target, self.restore_with);
                let Some(change) = restore else {
                    return Ok(Err(Done::because(Outcome::Unchanged, "already restored")));
                };
                let left = after.as_ref();
                if let Some(conflict) = self.conflict(&current, left, Some(before), line) {
                    return Ok(Err(conflict));
                }
                change
            }
            (Reversal::Recreate { .. }, Some(_)) => {
                return Ok(Err(Done::because(
                    Outcome::Unchanged,
                    "the customer still exists",
                )))
            }
            (Reversal::Recreate { before, .. }, None) => {
                let body = writes::sendable(before);
                // A recreate an earlier undo made (or that was in flight when it died).
                let keys = self.keys.as_ref();
                match applier.find_created(&body, keys).await? {
                    Found::One(record) => {
                        return Ok(Err(Done {
                            id: record_id(&record),
                            ..Done::because(Outcome::Unchanged, "already recreated")
                        }))
                    }
                    // One of them may be an earlier undo's: never make one more.
                    Found::Many(n) => {
                        let why = format!(
                            "{n} customers already match it, so it is not created again; \
                             look at them and remove any duplicate"
                        );
                        return Ok(Err(Done::because(Outcome::Conflict, why)));
                    }
                    Found::None => {}
                }
                Change::Create {
                    body,
                    find_by: self.keys.clone(),
                }
            }
        };
        let done_as = match reversal {
            Reversal::Delete { .. } => Outcome::Deleted,
            Reversal::Restore { .. } => Outcome::Restored,
            Reversal::Recreate { .. } => Outcome::Recreated,
        };
        Ok(Ok(Step {
            change,
            done_as,
            key: None,
        }))
    }

    /// A conflict when the customer differs from what the import left (and not `--force`). A
    /// field back to its value from `before` the import is not one: an earlier undo that did
    /// not fully take put it back.
    fn conflict(
        &self,
        current: &Record,
        left: Option<&Record>,
        before: Option<&Record>,
        line: &mut Finished,
    ) -> Option<Done> {
        let left = left?;
        let null = Value::Null;
        let now = |k: &str| current.get(k).unwrap_or(&null);
        let restored =
            |k: &str| before.is_some_and(|b| compare::same(now(k), b.get(k).unwrap_or(&null)));
        // Only what the import left is compared: fields the server adds on its own (defaults,
        // sub-document ids) are not someone's edit.
        let differing: Vec<&str> = left
            .keys()
            .filter(|k| !schema::is_server_field(k))
            .filter(|k| !compare::same(now(k), &left[*k]) && !restored(k))
            .map(String::as_str)
            .collect();
        if differing.is_empty() || self.force {
            return None;
        }
        let conflicts = differing
            .iter()
            .map(|f| {
                format!(
                    "{f}: import left {} , now {}",
                    show(left.get(*f)),
                    show(current.get(*f))
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        line.conflicts = Some(conflicts);
        Some(Done::because(
            Outcome::Conflict,
            "changed since the import; use --force to undo anyway",
        ))
    }
}

fn show(value: Option<&Value>) -> String {
    value
        .map(Value::to_string)
        .unwrap_or_else(|| "nothing".into())
}
