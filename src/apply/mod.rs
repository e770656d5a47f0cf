//! The one executor of changes to the store.
//!
//! Producers decide what to change: [`crate::import`] from a sheet, [`crate::undo`] from a
//! journal (and restore, from a backup compared with the account). Each hands this module
//! [`Step`]s; the [`Applier`] sends them safely and [`run`] drives a whole run. Everything about
//! doing a change safely lives here and nowhere else:
//!
//! - the journal: a `send` line just before each request leaves, a `done` line after each row
//!   ([`journal`]); a `send` line that cannot be written keeps its request from leaving;
//! - the rule for a POST ([`create`]): a 2xx is proof of creation, never sent again; one whose
//!   outcome is unknown is looked up, and sent again only if surely absent;
//! - when a run stops, and what becomes of each row then ([`stop`]);
//! - a DELETE answered 404 after a retry counts as done (the first attempt got through);
//! - no step counted done that the API's answer, or the customer read back, does not show
//!   ([`confirm`]), and the bodies that set and clear fields the way this API does ([`writes`]);
//! - the results file in input order ([`results`]), the summary and its exit code
//!   ([`summary`]), and when a run must stop.

mod breaker;
mod confirm;
mod create;
pub mod journal;
mod outcome;
pub mod results;
mod run;
mod stop;
pub mod summary;
pub mod writes;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::ValueEnum;

use crate::api::{ApiError, Client, Record, Write};
use crate::compare;
use crate::lookup::duplicates::Likely;
use crate::lookup::{self, Found, Keys};
use journal::{Line, Op};

pub use breaker::Limits;
pub use outcome::Outcome;
pub use results::{Column, Finished, Layout, Results};
pub use run::{run, Job, Producer, Report, Run, Session, Settings};
pub use stop::Stop;
pub use summary::Summary;
pub use writes::Writes;

/// How an update is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UpdateWith {
    /// Send only the changed fields (the API's "update soft").
    Patch,
    /// Send the whole record, replacing the stored one.
    Put,
}

/// One change to one customer.
#[derive(Debug, Clone)]
pub enum Change {
    /// POST `body`. If the outcome is unknown, the customer is looked up by the first of
    /// `find_by` the body has (else its SIRET, else its name) before anything is sent again.
    Create { body: Record, find_by: Option<Keys> },
    /// PATCH (the fields in `body`) or PUT (`body` is the whole record) customer `id`, whose
    /// whole record was `before`; `after` is what the change leaves, for a later undo; `note`
    /// what it cannot do exactly, for the row.
    Update {
        id: String,
        body: Record,
        with: UpdateWith,
        before: Record,
        after: Record,
        note: Option<String>,
    },
    /// DELETE customer `id`, whose whole record was `before` (kept so undo can re-create it).
    Delete { id: String, before: Record },
}

/// A change, with how it is reported when it succeeds.
#[derive(Debug, Clone)]
pub struct Step {
    pub change: Change,
    /// The outcome of a success: `created` or `recreated`, `updated` or `restored`, `deleted`.
    pub done_as: Outcome,
    /// The match key's value, written on the journal's `send` line.
    pub key: Option<String>,
}

/// How one row ended, as its journal `done` line keeps it.
#[derive(Debug, Clone)]
pub struct Done {
    pub outcome: Outcome,
    /// The customer's id after the step (a created customer's new id).
    pub id: Option<String>,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// The server's raw error body, kept so nothing it said is lost.
    pub response: Option<String>,
    /// The whole record before an update or delete, for undo.
    pub before: Option<Record>,
    /// The record as the step left it, so undo can tell a later edit by someone else.
    pub after: Option<Record>,
    /// A customer the row resembles: the one a created row possibly duplicates, the one a
    /// skipped or updated duplicate was taken for, or another establishment of its company.
    pub similar: Option<Likely>,
    /// What else to know about a row that did not fail (a created customer whose id is not
    /// known, values the API keeps otherwise, a field left empty where this API cannot remove
    /// one).
    pub note: Option<String>,
    /// A write of this row left for the server in this run (its `send` line is journaled):
    /// not journaled, never on a line.
    pub sent: bool,
}

impl Done {
    pub fn new(outcome: Outcome) -> Done {
        Done {
            outcome,
            id: None,
            status: None,
            error: None,
            response: None,
            before: None,
            after: None,
            similar: None,
            note: None,
            sent: false,
        }
    }

    /// An outcome with a reason, such as `skipped` and why.
    pub fn because(outcome: Outcome, why: impl Into<String>) -> Done {
        Done {
            error: Some(why.into()),
            ..Done::new(outcome)
        }
    }

    /// A request that failed for good.
    pub fn failed(err: &ApiError) -> Done {
        Done {
            status: err.status(),
            error: Some(err.to_string()),
            response: err.body().filter(|b| !b.is_empty()).map(str::to_string),
            ..Done::new(Outcome::Failed)
        }
    }

    /// What an earlier run journaled for this row.
    pub fn from_line(line: Line) -> Option<Done> {
        let Line::Done {
            outcome,
            id,
            status,
            error,
            before,
            after,
            similar,
            note,
            ..
        } = line
        else {
            return None;
        };
        Some(Done {
            outcome,
            id,
            status,
            error,
            response: None,
            before,
            after,
            similar,
            note,
            sent: false,
        })
    }

    fn line(&self, row: u32) -> Line {
        Line::Done {
            row,
            outcome: self.outcome,
            id: self.id.clone(),
            status: self.status,
            error: self.error.clone(),
            before: self.before.clone(),
            after: self.after.clone(),
            similar: self.similar.clone(),
            note: self.note.clone(),
        }
    }
}

/// Sends steps: journaled, retried as the API allows, with the ambiguous-POST rule. Shared by
/// every row of a run.
pub struct Applier {
    client: Client,
    /// `None` for `--plan`, which writes nothing.
    journal: Option<Arc<journal::Writer>>,
    /// A journal line could not be written: the run stopped, and the journal gets no end.
    journal_broken: AtomicBool,
    plan: bool,
    /// How this API's writes behave, from the API profile.
    writes: Writes,
}

impl Applier {
    /// An applier that changes the store, journaling every step.
    pub fn new(client: Client, journal: Arc<journal::Writer>) -> Applier {
        Applier {
            client,
            journal: Some(journal),
            journal_broken: AtomicBool::new(false),
            plan: false,
            writes: Writes::default(),
        }
    }

    /// `--plan`: reads the store, changes nothing; every step reports what it would do.
    pub fn plan(client: Client) -> Applier {
        Applier {
            client,
            journal: None,
            journal_broken: AtomicBool::new(false),
            plan: true,
            writes: Writes::default(),
        }
    }

    /// What the API profile says about this API's writes: how to clear a field, and which
    /// answers show a change.
    pub fn with_writes(mut self, writes: Writes) -> Applier {
        self.writes = writes;
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn writes(&self) -> &Writes {
        &self.writes
    }

    /// The change that makes customer `id`, now `current`, equal to `target`, sent the way
    /// this API sets and clears fields (see [`Writes::update_to`]); `with` is the flag, which
    /// wins over the profile. `None` when nothing differs.
    pub fn update_to(
        &self,
        id: &str,
        current: &Record,
        target: &Record,
        with: Option<UpdateWith>,
    ) -> Option<Change> {
        self.writes.update_to(id, current, target, with)
    }

    pub fn journal(&self) -> Option<&journal::Writer> {
        self.journal.as_deref()
    }

    pub fn is_plan(&self) -> bool {
        self.plan
    }

    /// Whether a journal line could not be written.
    pub fn journal_broken(&self) -> bool {
        self.journal_broken.load(Ordering::SeqCst)
    }

    /// Appends a journal line. The first that cannot be written stops the run: the gate
    /// closes before this returns, so no request starts after it.
    fn journal_line(&self, line: &Line) -> Result<(), String> {
        let Some(journal) = &self.journal else {
            return Ok(());
        };
        journal.append(line).map_err(|e| {
            let why = format!("{e:#}");
            let stop = format!("the journal could not be written ({why})");
            self.client.throttle.gate.close(stop);
            self.journal_broken.store(true, Ordering::SeqCst);
            why
        })
    }

    /// The customer `id` as it is now; `None` when the server does not have it.
    pub async fn current(&self, id: &str) -> Result<Option<Record>, ApiError> {
        match self.client.get(id).await {
            Ok(record) => Ok(Some(record)),
            Err(err) if err.status() == Some(404) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Does one step for input row `row`. `resumed` is the `send` line an earlier run left for
    /// this row without a `done`: its request may have reached the server.
    pub async fn apply(
        &self,
        row: u32,
        step: Step,
        resumed: Option<&Line>,
    ) -> Result<Done, ApiError> {
        if self.plan {
            let id = match &step.change {
                Change::Create { .. } => None,
                Change::Update { id, .. } | Change::Delete { id, .. } => Some(id.clone()),
            };
            return Ok(Done {
                id,
                ..Done::new(step.done_as.planned())
            });
        }
        let Step {
            change,
            done_as,
            key,
        } = step;
        let mark = Mark::new(self, row, &change, key);
        let result = match change {
            Change::Create { body, find_by } => {
                self.create(&body, find_by.as_ref(), &mark, resumed, done_as)
                    .await
            }
            Change::Update {
                id,
                body,
                with,
                before,
                after,
                note,
            } => {
                let sent = confirm::Sent {
                    id: &id,
                    body: &body,
                    with,
                    before: &before,
                    after: &after,
                    done_as,
                };
                self.update(&sent, note, &mark).await
            }
            Change::Delete { id, before } => {
                match self
                    .client
                    .write(Write::Delete(&id), &|| mark.write())
                    .await
                {
                    Ok(written) => Ok(Done {
                        id: Some(id),
                        status: Some(written.status),
                        before: Some(before),
                        ..Done::new(done_as)
                    }),
                    // A 404 here means it is gone: after a retry, the first attempt got through.
                    Err(err) if err.status() == Some(404) => Ok(Done {
                        id: Some(id),
                        status: Some(404),
                        before: Some(before),
                        note: Some("already gone: an earlier attempt deleted it".into()),
                        ..Done::new(done_as)
                    }),
                    Err(err) => Err(err),
                }
            }
        };
        mark.settle(result)
    }

    /// Sends an update and confirms it shows; `note`, what it cannot do exactly, goes on the
    /// row when it does.
    async fn update(
        &self,
        sent: &confirm::Sent<'_>,
        note: Option<String>,
        mark: &Mark<'_>,
    ) -> Result<Done, ApiError> {
        let write = match sent.with {
            UpdateWith::Patch => Write::Patch(sent.id, sent.body),
            UpdateWith::Put => Write::Put(sent.id, sent.body),
        };
        let (status, answer) = match self.client.write(write, &|| mark.write()).await {
            Ok(written) => (written.status, written.record),
            // Accepted, with a body that cannot be read: the customer is read back.
            Err(err) if err.accepted().is_some() => (err.accepted().unwrap_or(200), Record::new()),
            Err(err) => return Err(confirm::explain_refusal(err, sent, &self.writes)),
        };
        let (id, before) = (Some(sent.id.to_string()), Some(sent.before.clone()));
        Ok(match self.confirm_update(sent, answer).await? {
            None => Done {
                id,
                status: Some(status),
                before,
                after: Some(sent.after.clone()),
                note,
                ..Done::new(sent.done_as)
            },
            // Kept with what it left, so undo can put back what did take.
            Some(not) => Done {
                id,
                status: Some(status),
                before,
                after: Some(not.shown),
                ..Done::because(Outcome::Failed, not.why)
            },
        })
    }

    /// The customer a create of `body` would have made: same key (the first of `find_by` the
    /// body has, else its SIRET, else its name), and every field sent equal, so a different
    /// customer that merely shares a name is not taken for it.
    pub async fn find_created(
        &self,
        body: &Record,
        find_by: Option<&Keys>,
    ) -> Result<Found, ApiError> {
        let Some(key) = lookup::identifying(body, find_by) else {
            return Ok(Found::None);
        };
        let Some(value) = key.of_row(body, None) else {
            return Ok(Found::None);
        };
        Ok(
            match lookup::search(&self.client, &key, body, None, &value).await? {
                Found::One(record) if compare::changes(body, &record).is_empty() => {
                    Found::One(record)
                }
                Found::One(_) => Found::None,
                other => other,
            },
        )
    }
}

/// A row's write-ahead mark: its `send` line, written once its request has a place under the
/// throttle and just before it leaves ([`Client::write`]'s `ahead`), and whether it was. A line
/// that cannot be written keeps the request from leaving; a stop after it leaves the row
/// `unknown`, not `skipped`.
struct Mark<'a> {
    applier: &'a Applier,
    line: Line,
    written: AtomicBool,
}

impl<'a> Mark<'a> {
    fn new(applier: &'a Applier, row: u32, change: &Change, key: Option<String>) -> Mark<'a> {
        let (op, id, before) = match change {
            Change::Create { .. } => (Op::Create, None, None),
            Change::Update {
                id, with, before, ..
            } => {
                let op = match with {
                    UpdateWith::Patch => Op::Patch,
                    UpdateWith::Put => Op::Put,
                };
                (op, Some(id.clone()), Some(before.clone()))
            }
            Change::Delete { id, before } => (Op::Delete, Some(id.clone()), Some(before.clone())),
        };
        Mark {
            applier,
            line: Line::Send {
                row,
                op,
                key,
                id,
                before,
            },
            written: AtomicBool::new(false),
        }
    }

    /// Writes the `send` line, once.
    fn write(&self) -> Result<(), ApiError> {
        if self.written() {
            return Ok(());
        }
        self.applier.journal_line(&self.line).map_err(|why| {
            ApiError::Stopped(format!("the journal could not be written ({why})"))
        })?;
        self.written.store(true, Ordering::SeqCst);
        Ok(())
    }

    fn written(&self) -> bool {
        self.written.load(Ordering::SeqCst)
    }

    /// The row's end once its writes are over: an error before any write left goes back to
    /// the run (see [`stop::ending`]); after one left, as [`stop::after_sent`] says.
    fn settle(&self, result: Result<Done, ApiError>) -> Result<Done, ApiError> {
        let sent = self.written();
        match result {
            Ok(done) => Ok(Done {
                sent: sent || done.sent,
                ..done
            }),
            Err(err) if !sent => Err(err),
            Err(err) => stop::after_sent(err),
        }
    }
}
