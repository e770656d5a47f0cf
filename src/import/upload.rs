//! What one row does against the API: create, update, or nothing; and how a write whose
//! outcome is unknown is reconciled instead of blindly re-sent.

use std::sync::Arc;

use serde_json::Value;

use super::journal::{Line, Op, Outcome, Writer};
use super::lookup::{self, Finder, Found};
use super::results::Finished;
use super::{Blank, InputRow, Mode, UpdateWith};
use crate::api::{record_id, retry, ApiError, Client, Record};
use crate::schema::{self, Kind};
use crate::validate::Action;

/// Fields the server owns; never sent back in a PUT.
const SERVER_FIELDS: &[&str] = &["_id", "id", "createdAt", "updatedAt", "__v"];

/// Everything a row needs to be uploaded; shared by all rows of a run.
pub struct Uploader {
    pub client: Client,
    pub journal: Option<Arc<Writer>>,
    pub finder: Finder,
    pub mode: Mode,
    /// The match key for update and upsert (`id` for the id column).
    pub key_field: String,
    pub update_with: UpdateWith,
    pub blank: Blank,
    /// `--plan`: read only, say what would happen.
    pub plan: bool,
    /// Delete mode: a key that finds nobody is a failure, not `not-found`.
    pub strict: bool,
}

/// A row's end, plus whether the whole run must stop (the key was refused, or the API is gone).
pub struct Ending {
    pub finished: Finished,
    pub fatal: bool,
}

impl Uploader {
    /// Uploads one valid row. `resumed` is the `send` line an earlier run left without a `done`.
    pub async fn process(&self, seq: u64, row: InputRow, resumed: Option<Line>) -> Ending {
        let mut finished = Finished {
            seq,
            row: row.number,
            ..Finished::default()
        };
        let result = self.upload(&row, resumed).await;
        let fatal =
            matches!(&result, Err(e) if e.is_auth() || matches!(e, ApiError::Connect { .. }));
        let done = match result {
            Ok(done) => done,
            Err(err) => Done {
                status: err.status(),
                error: Some(err.to_string()),
                response: err.body().filter(|b| !b.is_empty()).map(str::to_string),
                ..Done::new(Outcome::Failed)
            },
        };
        if let (Some(journal), false) = (&self.journal, self.plan) {
            let line = Line::Done {
                row: row.number,
                outcome: done.outcome,
                id: done.id.clone(),
                status: done.status,
                error: done.error.clone(),
                before: done.before,
                after: done.after,
            };
            if let Err(err) = journal.append(&line) {
                return Ending {
                    finished: Finished {
                        outcome: Some(Outcome::Failed),
                        error: Some(format!("{err:#}")),
                        ..finished
                    },
                    fatal: true,
                };
            }
        }
        finished.cells = row.cells;
        finished.problems = row.problems;
        finished.outcome = Some(done.outcome);
        finished.id = done.id;
        finished.status = done.status;
        finished.error = done.error;
        finished.response = done.response;
        finished.changes = done.changes;
        Ending { finished, fatal }
    }

    async fn upload(&self, row: &InputRow, resumed: Option<Line>) -> Result<Done, ApiError> {
        if let Some(Line::Send { op: Op::Create, .. }) = &resumed {
            // An earlier run sent this POST and died before hearing back: look before sending.
            if let Found::One(record) = self.find_created(row).await? {
                return Ok(Done::created(record, &self.body(row)));
            }
        }
        let before = match resumed {
            Some(Line::Send {
                before: Some(before),
                ..
            }) => Some(before),
            _ => None,
        };
        let mode = match row.action {
            Some(Action::Do(mode)) => mode,
            Some(action @ (Action::Ignore | Action::Done)) => {
                let why = if action == Action::Ignore {
                    "left out: its _action is ignore"
                } else {
                    "left out: its _outcome says an earlier import created or updated this \
                     customer, and creating it again would make a duplicate (clear the _outcome \
                     cell to create it anyway)"
                };
                return Ok(Done {
                    error: Some(why.to_string()),
                    ..Done::new(Outcome::Skipped)
                });
            }
            None => self.mode,
        };
        let key = row.key.as_deref().filter(|k| !k.trim().is_empty());
        let current = match (mode, key) {
            (Mode::Create, _) | (Mode::Upsert, None) => Found::None,
            (Mode::Update | Mode::Delete, None) => {
                return Err(ApiError::Local(format!(
                    "the match key ({}) is blank",
                    self.key_field
                )))
            }
            (_, Some(key)) => self.finder.find(&self.client, &self.key_field, key).await?,
        };
        let absent = || {
            format!(
                "no customer has {} = {:?}",
                self.key_field,
                key.unwrap_or_default()
            )
        };
        match (mode, current) {
            (_, Found::Many(n)) => Err(ApiError::Local(format!(
                "{n} customers have {} = {:?}; fix the duplicates or match on another field",
                self.key_field,
                key.unwrap_or_default()
            ))),
            (Mode::Update, Found::None) => Err(ApiError::Local(absent())),
            (Mode::Delete, Found::None) if before.is_some() => {
                // The DELETE an earlier run sent before dying went through.
                Ok(Done {
                    before,
                    ..Done::new(Outcome::Deleted)
                })
            }
            (Mode::Delete, Found::None) if self.strict => Err(ApiError::Local(absent())),
            (Mode::Delete, Found::None) => Ok(Done {
                error: Some(absent()),
                ..Done::new(Outcome::NotFound)
            }),
            (Mode::Delete, Found::One(current)) => self.delete(row, current).await,
            (_, Found::None) => self.create(row).await,
            (_, Found::One(current)) => self.update(row, current, before).await,
        }
    }

    async fn delete(&self, row: &InputRow, current: Record) -> Result<Done, ApiError> {
        let id = record_id(&current)
            .ok_or_else(|| ApiError::Local("the matching customer has no id".into()))?;
        if self.plan {
            return Ok(Done {
                id: Some(id),
                ..Done::new(Outcome::WouldDelete)
            });
        }
        self.journal(Line::Send {
            row: row.number,
            op: Op::Delete,
            key: row.key.clone(),
            id: Some(id.clone()),
            before: Some(current.clone()),
        })?;
        match self.client.delete(&id).await {
            // A 404 here means it is gone: after a retry, the first attempt got through.
            Err(err) if err.status() != Some(404) => Err(err),
            _ => Ok(Done {
                id: Some(id),
                status: Some(204),
                before: Some(current),
                ..Done::new(Outcome::Deleted)
            }),
        }
    }

    async fn create(&self, row: &InputRow) -> Result<Done, ApiError> {
        if self.plan {
            return Ok(Done::new(Outcome::WouldCreate));
        }
        let body = self.body(row);
        self.journal(Line::Send {
            row: row.number,
            op: Op::Create,
            key: self.reconcile_key(row),
            id: None,
            before: None,
        })?;
        let mut attempt = 1;
        loop {
            let unknown = match self.client.create(&body).await {
                Ok(record) if record_id(&record).is_some() => {
                    return Ok(Done::created(record, &body))
                }
                // A 2xx without an id: the customer exists, but we must find it to know its id.
                Ok(_) => None,
                Err(err) if err.outcome_unknown() => Some(err),
                Err(err) => return Err(err),
            };
            // The server may have stored it: look it up before sending it again.
            match self.find_created(row).await? {
                Found::One(record) => return Ok(Done::created(record, &body)),
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
            crate::debug!(
                "row {}: {err}; the customer is not on the server, sending it again",
                row.number
            );
            tokio::time::sleep(retry::backoff(&self.client.retry.policy, attempt)).await;
            attempt += 1;
        }
    }

    async fn update(
        &self,
        row: &InputRow,
        current: Record,
        before: Option<Record>,
    ) -> Result<Done, ApiError> {
        let id = record_id(&current)
            .ok_or_else(|| ApiError::Local("the matching customer has no id".into()))?;
        let body = self.body(row);
        let changes = lookup::changes(&body, &current);
        let resumed = before.is_some();
        if changes.is_empty() {
            // An update an earlier run sent before dying already took effect.
            let outcome = if resumed {
                Outcome::Updated
            } else {
                Outcome::Unchanged
            };
            return Ok(Done {
                id: Some(id),
                before,
                after: resumed.then_some(current),
                ..Done::new(outcome)
            });
        }
        if self.plan {
            let changes = Some(lookup::describe(&changes));
            return Ok(Done {
                id: Some(id),
                changes,
                ..Done::new(Outcome::WouldUpdate)
            });
        }
        let before = before.unwrap_or(current);
        let op = match self.update_with {
            UpdateWith::Patch => Op::Patch,
            UpdateWith::Put => Op::Put,
        };
        self.journal(Line::Send {
            row: row.number,
            op,
            key: row.key.clone(),
            id: Some(id.clone()),
            before: Some(before.clone()),
        })?;
        // What the import leaves is computed, not read from the answer: some APIs answer an
        // update with the record as it was before it.
        let after = match op {
            Op::Patch => {
                let patch: Record = changes
                    .into_iter()
                    .map(|(field, _, new)| (field, new))
                    .collect();
                self.client.patch(&id, &patch).await?;
                let mut after = before.clone();
                after.extend(patch);
                after
            }
            _ => {
                let mut whole: Record = before
                    .iter()
                    .filter(|(k, _)| !SERVER_FIELDS.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                whole.extend(body);
                self.client.replace(&id, &whole).await?;
                whole
            }
        };
        Ok(Done {
            id: Some(id),
            status: Some(200),
            before: Some(before),
            after: Some(after),
            ..Done::new(Outcome::Updated)
        })
    }

    /// The fields to send: what the row gives, plus blanks as empty values with `--blank clear`.
    fn body(&self, row: &InputRow) -> Record {
        let mut body = row.record.clone();
        if self.blank == Blank::Clear {
            for field in &row.blank {
                let empty = match schema::field(field).map(|f| f.kind) {
                    Some(Kind::Text) => Value::String(String::new()),
                    Some(Kind::Contacts) => Value::Array(Vec::new()),
                    _ => Value::Null,
                };
                body.insert(field.to_string(), empty);
            }
        }
        body
    }

    /// The field and value that identify a row's customer once created: the match key when it
    /// is a field, else the SIRET, else the name.
    fn reconcile_field<'a>(&'a self, row: &'a InputRow) -> Option<(&'a str, &'a str)> {
        let field = |name: &'a str| {
            row.record
                .get(name)
                .and_then(Value::as_str)
                .filter(|v| !v.trim().is_empty())
                .map(|v| (name, v))
        };
        if self.key_field != schema::ID {
            if let Some(found) = field(&self.key_field) {
                return Some(found);
            }
        }
        field("siret").or_else(|| field("name"))
    }

    fn reconcile_key(&self, row: &InputRow) -> Option<String> {
        self.reconcile_field(row).map(|(_, v)| v.to_string())
    }

    /// Looks for the customer a create of this row would have made: same key, and every field
    /// sent equal, so a different customer that merely shares a name is not taken for it.
    async fn find_created(&self, row: &InputRow) -> Result<Found, ApiError> {
        let Some((field, key)) = self.reconcile_field(row) else {
            return Ok(Found::None);
        };
        Ok(match lookup::search(&self.client, field, key).await? {
            Found::One(record) if lookup::changes(&self.body(row), &record).is_empty() => {
                Found::One(record)
            }
            Found::One(_) => Found::None,
            other => other,
        })
    }

    fn journal(&self, line: Line) -> Result<(), ApiError> {
        match &self.journal {
            // A write-ahead mark that cannot be written stops the row before its request.
            Some(journal) => journal
                .append(&line)
                .map_err(|e| ApiError::Local(format!("{e:#}"))),
            None => Ok(()),
        }
    }
}

/// How a row ended, before it becomes a results line.
#[derive(Debug)]
struct Done {
    outcome: Outcome,
    id: Option<String>,
    status: Option<u16>,
    error: Option<String>,
    response: Option<String>,
    changes: Option<String>,
    before: Option<Record>,
    after: Option<Record>,
}

impl Done {
    fn new(outcome: Outcome) -> Done {
        Done {
            outcome,
            id: None,
            status: None,
            error: None,
            response: None,
            changes: None,
            before: None,
            after: None,
        }
    }

    /// A created customer; what the import left is what it sent.
    fn created(record: Record, sent: &Record) -> Done {
        Done {
            id: record_id(&record),
            status: Some(201),
            after: Some(sent.clone()),
            ..Done::new(Outcome::Created)
        }
    }
}
