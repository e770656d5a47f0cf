//! The one executor of changes to the store.
//!
//! Producers decide what to change: [`crate::import`] from a sheet, [`crate::undo`] from a
//! journal (and restore, from a backup compared with the account). Each hands this module
//! [`Step`]s; the [`Applier`] sends them safely and [`run`] drives a whole run. Everything about
//! doing a change safely lives here and nowhere else:
//!
//! - the journal: a `send` line before each request, a `done` line after each row ([`journal`]);
//! - the rule for a POST whose outcome is unknown: look the customer up, confirm every field
//!   sent, and send again only if it is absent;
//! - a DELETE answered 404 after a retry counts as done (the first attempt got through);
//! - no step counted done that the API's answer, or the customer read back, does not show
//!   ([`confirm`]), and the bodies that set and clear fields the way this API does ([`writes`]);
//! - the results file in input order ([`results`]), the summary and its exit code
//!   ([`summary`]), and when a run must stop.

mod breaker;
mod confirm;
pub mod journal;
mod outcome;
pub mod results;
mod run;
pub mod summary;
pub mod writes;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use clap::ValueEnum;

use crate::api::{record_id, retry, ApiError, Client, Record};
use crate::compare;
use crate::lookup::duplicates::Likely;
use crate::lookup::{self, Found, Keys};
use journal::{Line, Op};

pub use breaker::Limits;
pub use outcome::Outcome;
pub use results::{Column, Finished, Layout, Results};
pub use run::{run, Job, Producer, Report, Run, Session, Settings};
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
    /// What a step that succeeded could not do exactly (a field left empty where this API
    /// cannot remove one).
    pub note: Option<String>,
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

/// When a run stops taking rows: Ctrl-C (`interrupt`) or a failure that dooms the rest.
#[derive(Debug, Default)]
pub struct Stop {
    halted: AtomicBool,
    interrupted: AtomicBool,
}

impl Stop {
    /// The user asked to stop (Ctrl-C): finish what is in flight, take nothing more.
    pub fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
        self.halt();
    }

    pub fn halt(&self) {
        self.halted.store(true, Ordering::SeqCst);
    }

    pub fn halted(&self) -> bool {
        self.halted.load(Ordering::SeqCst)
    }

    pub fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }
}

/// Sends steps: journaled, retried as the API allows, with the ambiguous-POST rule. Shared by
/// every row of a run.
pub struct Applier {
    client: Client,
    /// `None` for `--plan`, which writes nothing.
    journal: Option<Arc<journal::Writer>>,
    /// Why the journal could not be written, once it could not: the run must stop.
    journal_broken: OnceLock<String>,
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
            journal_broken: OnceLock::new(),
            plan: false,
            writes: Writes::default(),
        }
    }

    /// `--plan`: reads the store, changes nothing; every step reports what it would do.
    pub fn plan(client: Client) -> Applier {
        Applier {
            client,
            journal: None,
            journal_broken: OnceLock::new(),
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

    /// Why the journal could not be written, if it could not: nothing more may be sent.
    pub fn journal_broken(&self) -> Option<&str> {
        self.journal_broken.get().map(String::as_str)
    }

    /// Appends a journal line; a failure is remembered, so the run stops.
    fn journal_line(&self, line: &Line) -> Result<(), String> {
        let Some(journal) = &self.journal else {
            return Ok(());
        };
        journal.append(line).map_err(|e| {
            let why = format!("{e:#}");
            let _ = self.journal_broken.set(why.clone());
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
        match change {
            Change::Create { body, find_by } => {
                let created = self.create(row, &body, find_by.as_ref(), key, resumed);
                let (record, note) = self.confirm_created(&body, created.await?).await?;
                Ok(Done {
                    id: record_id(&record),
                    status: Some(201),
                    error: note,
                    after: Some(body),
                    ..Done::new(done_as)
                })
            }
            Change::Update {
                id,
                body,
                with,
                before,
                after,
                note,
            } => {
                let op = match with {
                    UpdateWith::Patch => Op::Patch,
                    UpdateWith::Put => Op::Put,
                };
                self.send(row, op, key, Some(&id), Some(&before))?;
                let sent = confirm::Sent {
                    id: &id,
                    body: &body,
                    with,
                    before: &before,
                    after: &after,
                    done_as,
                };
                let answer = match with {
                    UpdateWith::Patch => self.client.patch(&id, &body).await,
                    UpdateWith::Put => self.client.replace(&id, &body).await,
                };
                let answer =
                    answer.map_err(|e| confirm::explain_refusal(e, &sent, &self.writes))?;
                Ok(match self.confirm_update(&sent, answer).await? {
                    None => Done {
                        id: Some(id),
                        status: Some(200),
                        before: Some(before),
                        after: Some(after),
                        note,
                        ..Done::new(done_as)
                    },
                    // Kept with what it left, so undo can put back what did take.
                    Some(not) => Done {
                        id: Some(id),
                        before: Some(before),
                        after: Some(not.shown),
                        ..Done::because(Outcome::Failed, not.why)
                    },
                })
            }
            Change::Delete { id, before } => {
                self.send(row, Op::Delete, key, Some(&id), Some(&before))?;
                match self.client.delete(&id).await {
                    // A 404 here means it is gone: after a retry, the first attempt got through.
                    Err(err) if err.status() != Some(404) => Err(err),
                    _ => Ok(Done {
                        id: Some(id),
                        status: Some(204),
                        before: Some(before),
                        ..Done::new(done_as)
                    }),
                }
            }
        }
    }

    /// POSTs `body`, never creating it twice: a create whose outcome is unknown (or that an
    /// earlier run sent before dying) is looked up before it is sent again.
    async fn create(
        &self,
        row: u32,
        body: &Record,
        find_by: Option<&Keys>,
        key: Option<String>,
        resumed: Option<&Line>,
    ) -> Result<Record, ApiError> {
        if let Some(Line::Send { op: Op::Create, .. }) = resumed {
            if let Found::One(record) = self.find_created(body, find_by).await? {
                return Ok(record);
            }
        }
        self.send(row, Op::Create, key, None, None)?;
        let mut attempt = 1;
        loop {
            let unknown = match self.client.create(body).await {
                Ok(record) if record_id(&record).is_some() => return Ok(record),
                // A 2xx without an id: the customer exists, but we must find it to know its id.
                Ok(_) => None,
                Err(err) if err.outcome_unknown() => Some(err),
                Err(err) => return Err(err),
            };
            // The server may have stored it: look it up before sending it again.
            match self.find_created(body, find_by).await? {
                Found::One(record) => return Ok(record),
                Found::Many(n) => {
                    return Err(ApiError::Local(format!(
                        "the create's outcome was unknown and {n} customers now match it"
                    )))
                }
                Found::None => {}
            }
            let Some(err) = unknown else {
                return Err(ApiError::Local(
                    "the server accepted the customer but returned no id, and it cannot be found"
                        .into(),
                ));
            };
            if !self.client.retry.take(attempt) {
                return Err(err);
            }
            crate::debug!("row {row}: {err}; the customer is not on the server, sending it again");
            tokio::time::sleep(retry::backoff(&self.client.retry.policy, attempt)).await;
            attempt += 1;
        }
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

    /// Writes a `send` line: the write-ahead mark that must be on disk before the request
    /// leaves. One that cannot be written stops the row before its request.
    fn send(
        &self,
        row: u32,
        op: Op,
        key: Option<String>,
        id: Option<&str>,
        before: Option<&Record>,
    ) -> Result<(), ApiError> {
        // A request that could not leave before the server's wait is over is not journaled.
        self.client.throttle.ready()?;
        let line = Line::Send {
            row,
            op,
            key,
            id: id.map(str::to_string),
            before: before.cloned(),
        };
        self.journal_line(&line).map_err(ApiError::Local)
    }
}
