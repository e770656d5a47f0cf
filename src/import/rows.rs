//! What each row of a sheet asks of the store: create, update, delete, or nothing. The import's
//! producer of steps: it finds the row's customer and compares, then leaves the change itself
//! to the applier.

use serde_json::Value;

use super::{Blank, Mode};
use crate::api::{record_id, ApiError, Record};
use crate::apply::journal::{Line, Op};
use crate::apply::{Applier, Change, Done, Finished, Outcome, Producer, Step, UpdateWith};
use crate::compare;
use crate::lookup::duplicates::{self, Decision, Likely, OnDuplicate, Why};
use crate::lookup::{self, Finder, Found, Keys};
use crate::schema::{self, Kind};
use crate::validate::Action;

/// What a valid row wants, as the producer needs it.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    /// The mapped, coerced fields that are not blank (the id is never among them).
    pub record: Record,
    /// Mapped fields whose cell was blank.
    pub blank: Vec<&'static str>,
    /// The id column's value.
    pub id: Option<String>,
    /// The row's own action (`_action` column), overriding `--mode`.
    pub action: Option<Action>,
}

/// The import's producer: everything a row needs to become a step; shared by all rows.
pub struct Rows {
    pub finder: Finder,
    pub mode: Mode,
    /// The keys for update, upsert and delete, tried in order (`id` for the id column).
    pub keys: Keys,
    /// What a row that would create a likely duplicate does instead.
    pub on_duplicate: OnDuplicate,
    /// `--update-with`: PATCH or PUT, whatever the API profile says.
    pub update_with: Option<UpdateWith>,
    pub blank: Blank,
    /// Delete mode: a key that finds nobody is a failure, not `not-found`.
    pub strict: bool,
    /// A row to create is first looked up by its `--match-on` key: one it finds is a likely
    /// duplicate ([`OnDuplicate::checks_keys`], with `--match-on` given).
    pub create_keys: bool,
}

impl Producer for Rows {
    type Work = Wanted;

    async fn finish(
        &self,
        applier: &Applier,
        row: Wanted,
        resumed: Option<Line>,
        line: &mut Finished,
    ) -> Result<Done, ApiError> {
        let mode = match self.mode_of(&row) {
            Ok(mode) => mode,
            Err(skipped) => return Ok(*skipped),
        };
        let before = match &resumed {
            Some(Line::Send {
                before: Some(before),
                ..
            }) => Some(before.clone()),
            _ => None,
        };
        let key = self.keys.pick(&row.record, row.id.as_deref());
        // A create an earlier run sent is reconciled by the applier, not taken for a duplicate.
        let resumed_create = matches!(resumed, Some(Line::Send { op: Op::Create, .. }));
        let current = match (mode, &key) {
            (Mode::Create, Some(key)) if self.create_keys && !resumed_create => {
                self.finder.find(&self.keys, key, &row.record, None).await?
            }
            (Mode::Create, _) | (Mode::Upsert, None) => Found::None,
            (Mode::Update | Mode::Delete, None) => {
                return Err(ApiError::Local(format!(
                    "the match key ({}) is blank",
                    self.keys
                )))
            }
            (_, Some(key)) => {
                let id = row.id.as_deref();
                self.finder.find(&self.keys, key, &row.record, id).await?
            }
        };
        let shown = key.as_ref().map(|k| k.shown.clone()).unwrap_or_default();
        let absent = || format!("no customer has {shown}");
        let mut similar = None;
        let step = match (mode, current) {
            (Mode::Create, Found::Many(n)) if self.on_duplicate != OnDuplicate::Update => {
                return Ok(Done::because(
                    Outcome::SkippedDuplicate,
                    format!("left out: {n} customers already have {shown}"),
                ))
            }
            (Mode::Create, Found::One(current)) => {
                let found = vec![(current, Why::SameKey)];
                match self.decide(applier, &row, found, self.on_duplicate, before, line)? {
                    Ok((step, likely)) => {
                        similar = likely;
                        step
                    }
                    Err(done) => return Ok(done),
                }
            }
            (_, Found::Many(n)) => {
                return Err(ApiError::Local(format!(
                    "{n} customers have {shown}; fix the duplicates or match on another field"
                )))
            }
            (Mode::Update, Found::None) => return Err(ApiError::Local(absent())),
            // The DELETE an earlier run sent before dying went through.
            (Mode::Delete, Found::None) if before.is_some() => {
                return Ok(Done {
                    before,
                    ..Done::new(Outcome::Deleted)
                })
            }
            (Mode::Delete, Found::None) if self.strict => return Err(ApiError::Local(absent())),
            (Mode::Delete, Found::None) => return Ok(Done::because(Outcome::NotFound, absent())),
            (Mode::Delete, Found::One(current)) => Step {
                change: Change::Delete {
                    id: id_of(&current)?,
                    before: current,
                },
                done_as: Outcome::Deleted,
                key: key.map(|k| k.shown),
            },
            (_, Found::None) => {
                // A create an earlier run sent was decided then: it goes on (the applier finds
                // it if it got through).
                let choice = match resumed_create {
                    true => OnDuplicate::Create,
                    false => self.on_duplicate,
                };
                let found = self.resembling(&row, resumed_create)?;
                match self.decide(applier, &row, found, choice, before, line)? {
                    Ok((step, likely)) => {
                        similar = likely;
                        step
                    }
                    Err(done) => return Ok(done),
                }
            }
            (_, Found::One(current)) => match self.update(applier, &row, current, before, line)? {
                Ok(step) => step,
                Err(done) => return Ok(done),
            },
        };
        let done = applier.apply(line.row, step, resumed.as_ref()).await?;
        Ok(Done { similar, ..done })
    }
}

impl Rows {
    /// What the row asks: its own `_action`, else `--mode`; or why it is left out.
    fn mode_of(&self, row: &Wanted) -> Result<Mode, Box<Done>> {
        match row.action {
            Some(Action::Do(mode)) => Ok(mode),
            Some(Action::Ignore) => Err(Box::new(Done::because(
                Outcome::Skipped,
                "left out: its _action is ignore",
            ))),
            Some(Action::Done) => Err(Box::new(Done::because(
                Outcome::Skipped,
                "left out: its _outcome says an earlier import created or updated this \
                 customer, and creating it again would make a duplicate (clear the _outcome \
                 cell to create it anyway)",
            ))),
            None => Ok(self.mode),
        }
    }

    /// The create a row asks for; refused without a request when the API profile says the API
    /// requires a field the row lacks.
    fn create(&self, applier: &Applier, row: &Wanted) -> Result<Step, ApiError> {
        let body = self.body(row);
        let missing = applier.writes().required_missing(&body);
        if !missing.is_empty() {
            return Err(ApiError::Local(format!(
                "the API requires {} to create a customer (as `custbulk check --write` found) \
                 and this row has none: add the column, or a default in a mapping file \
                 ([defaults])",
                missing.join(" and ")
            )));
        }
        let key = lookup::identifying(&body, Some(&self.keys)).map(|k| k.shown(&body, None));
        Ok(Step {
            change: Change::Create {
                body,
                find_by: Some(self.keys.clone()),
            },
            done_as: Outcome::Created,
            key,
        })
    }

    /// The customers a row that would create one resembles, strongest first. For a create an
    /// earlier run sent before dying (`resumed`), a customer equal to the body is the one that
    /// run made, not a duplicate.
    fn resembling(&self, row: &Wanted, resumed: bool) -> Result<Vec<(Record, Why)>, ApiError> {
        let body = self.body(row);
        let mut found = self.finder.resembling(&body)?;
        if resumed {
            found.retain(|(record, _)| !compare::changes(&body, record).is_empty());
        }
        Ok(found)
    }

    /// What becomes of a row that would create a customer and resembles the customers
    /// `found`: created, or, when it is likely the same as one already there, what `choice`
    /// (`--on-duplicate`) says (skipped or updated, as a [`Done`]). The step comes with the
    /// customer it resembles, said in the results.
    fn decide(
        &self,
        applier: &Applier,
        row: &Wanted,
        found: Vec<(Record, Why)>,
        choice: OnDuplicate,
        before: Option<Record>,
        line: &mut Finished,
    ) -> Result<Result<(Step, Option<Likely>), Done>, ApiError> {
        Ok(
            match duplicates::decide(found, choice).map_err(ApiError::Local)? {
                Decision::Create(likely) => Ok((self.create(applier, row)?, likely)),
                Decision::Skip(likely) => Err(Done {
                    error: Some(skipped_because(&likely)),
                    similar: Some(likely),
                    ..Done::new(Outcome::SkippedDuplicate)
                }),
                Decision::Update(current, likely) => {
                    match self.update(applier, row, current, before, line)? {
                        Ok(step) => Ok((step, Some(likely))),
                        Err(done) => Err(Done {
                            similar: Some(likely),
                            ..done
                        }),
                    }
                }
            },
        )
    }

    /// Whether a row that would create a customer is a likely duplicate, and why: its
    /// `--match-on` key finds a customer, or it resembles one. For the first rows, looked at
    /// before any is sent ([`duplicates::imported_before`]).
    pub async fn likely_duplicate(&self, row: &Wanted) -> Result<Option<Why>, ApiError> {
        if !matches!(self.mode_of(row), Ok(Mode::Create)) {
            return Ok(None);
        }
        let key = self.keys.pick(&row.record, None);
        if let (true, Some(key)) = (self.create_keys, &key) {
            let found = self.finder.find(&self.keys, key, &row.record, None).await?;
            if !matches!(found, Found::None) {
                return Ok(Some(Why::SameKey));
            }
        }
        let found = self.resembling(row, false)?;
        Ok(found
            .first()
            .map(|(_, why)| *why)
            .filter(|w| w.is_duplicate()))
    }

    /// The update a row asks for, or how it ended without one (`unchanged`, or an update an
    /// earlier run sent before dying that already took effect).
    fn update(
        &self,
        applier: &Applier,
        row: &Wanted,
        current: Record,
        before: Option<Record>,
        line: &mut Finished,
    ) -> Result<Result<Step, Done>, ApiError> {
        let id = id_of(&current)?;
        let body = self.body(row);
        let changes = compare::changes(&body, &current);
        // What the import leaves is computed, not read from the answer: some APIs answer an
        // update with the record as it was before it.
        let mut target = current.clone();
        target.extend(body);
        let change = match changes.is_empty() {
            true => None,
            false => applier.update_to(&id, &current, &target, self.update_with),
        };
        let Some(mut change) = change else {
            let resumed = before.is_some();
            let outcome = if resumed {
                Outcome::Updated
            } else {
                Outcome::Unchanged
            };
            return Ok(Err(Done {
                id: Some(id),
                before,
                after: resumed.then_some(current),
                ..Done::new(outcome)
            }));
        };
        line.changes = Some(compare::describe(&changes));
        if let (Change::Update { before: kept, .. }, Some(before)) = (&mut change, before) {
            // The record before the earlier run's request, which undo must put back.
            *kept = before;
        }
        Ok(Ok(Step {
            change,
            done_as: Outcome::Updated,
            key: self
                .keys
                .pick(&row.record, row.id.as_deref())
                .map(|k| k.shown),
        }))
    }

    /// The fields to send: what the row gives, plus blanks as empty values with `--blank clear`.
    fn body(&self, row: &Wanted) -> Record {
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
}

/// What a skipped duplicate is said to be: whose, and the flag that made it so.
fn skipped_because(likely: &Likely) -> String {
    let flag = match likely.why.is_identity() {
        true => "the default --on-duplicate skip-same-key",
        false => "--on-duplicate skip",
    };
    format!("left out: likely the same as a customer already there ({flag})")
}

fn id_of(record: &Record) -> Result<String, ApiError> {
    record_id(record).ok_or_else(|| ApiError::Local("the matching customer has no id".into()))
}
