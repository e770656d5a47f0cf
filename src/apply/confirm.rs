//! No step counted done that is not done. A 2xx answer says the server took the request, not
//! that the customer now holds the values sent: an API may answer a PATCH with the record as it
//! was, or with nothing, and may ignore `null`. So a create, update or restore is confirmed by
//! what the answer shows, and where the answer cannot show it (the old record, an empty body,
//! only an id) by reading the customer back, unless the API profile says the answer is the new
//! record. Answers that show everything, as the default sandbox's do, cost no extra request.
//!
//! A step whose values do not show is `failed`, with a message that names the field and says
//! what to do about it.

use serde_json::Value;

use super::writes::{differing, Writes};
use super::{Applier, Outcome, UpdateWith};
use crate::api::{record_id, ApiError, Record};
use crate::compare;
use crate::profile::{CreateAnswer, UpdateAnswer};

/// An update as sent, to check what came back against.
pub(super) struct Sent<'a> {
    pub id: &'a str,
    pub body: &'a Record,
    pub with: UpdateWith,
    pub before: &'a Record,
    pub after: &'a Record,
    /// `restored` or `updated`: which command's flag the advice names.
    pub done_as: Outcome,
}

/// Why an update is not done: the message, and the customer as the API showed it.
pub(super) struct NotShown {
    pub why: String,
    pub shown: Record,
}

impl Applier {
    /// Whether `answer`, or else the customer read back, shows every field the update set or
    /// cleared.
    pub(super) async fn confirm_update(
        &self,
        sent: &Sent<'_>,
        answer: Record,
    ) -> Result<Option<NotShown>, ApiError> {
        let read_back = match self.writes.update_answer() {
            // The profile says the answer is the new record: it is the truth.
            Some(UpdateAnswer::New) if !answer.is_empty() => false,
            Some(UpdateAnswer::New) => true,
            Some(UpdateAnswer::Old | UpdateAnswer::Empty) => true,
            None => answer.is_empty() || !unshown(sent, &answer).is_empty(),
        };
        let shown = if read_back {
            crate::debug!(
                "The answer to {} {} does not show the change: reading the customer back.",
                method(sent.with),
                sent.id
            );
            self.current(sent.id).await?.ok_or_else(|| {
                ApiError::Local(format!(
                    "the API accepted the {} but has no customer {} any more",
                    method(sent.with),
                    sent.id
                ))
            })?
        } else {
            answer
        };
        let missing = unshown(sent, &shown);
        Ok((!missing.is_empty()).then(|| NotShown {
            why: explain(sent, &missing, &shown, &self.writes),
            shown,
        }))
    }

    /// The customer a POST made, as the answer shows it, or read back by its id when the answer
    /// does not show the fields sent (only an id, a partial record); with a note when the API
    /// keeps some of them differently.
    pub(super) async fn confirm_created(
        &self,
        body: &Record,
        answer: Record,
    ) -> Result<(Record, Option<String>), ApiError> {
        if compare::changes(body, &answer).is_empty() {
            return Ok((answer, None));
        }
        let shown = match (self.writes.create_answer(), record_id(&answer)) {
            (Some(CreateAnswer::Record), _) | (_, None) => answer,
            (_, Some(id)) => self.current(&id).await?.ok_or_else(|| {
                ApiError::Local(format!(
                    "the API answered the POST with the id {id}, but has no customer {id}"
                ))
            })?,
        };
        let kept = compare::changes(body, &shown);
        let note = (!kept.is_empty()).then(|| {
            format!(
                "created, but the API keeps it differently from what was sent: {}",
                compare::describe(&kept)
            )
        });
        Ok((shown, note))
    }
}

/// The fields the update changes whose value `shown` does not hold as wanted.
fn unshown(sent: &Sent<'_>, shown: &Record) -> Vec<String> {
    differing(sent.before, &super::writes::sendable(sent.after))
        .into_iter()
        .filter(|(field, wanted)| {
            let wanted = wanted.unwrap_or(&Value::Null);
            !compare::same(shown.get(field).unwrap_or(&Value::Null), wanted)
        })
        .map(|(field, _)| field)
        .collect()
}

fn method(with: UpdateWith) -> &'static str {
    match with {
        UpdateWith::Patch => "PATCH",
        UpdateWith::Put => "PUT",
    }
}

/// "the API accepted the PATCH but city is still "Paris": this API ignores null on PATCH; run
/// ...": the first field that did not take, why, and what to do.
fn explain(sent: &Sent<'_>, missing: &[String], shown: &Record, writes: &Writes) -> String {
    let field = missing[0].as_str();
    let null = Value::Null;
    let now = shown.get(field).unwrap_or(&null);
    let was = sent.before.get(field).unwrap_or(&null);
    let state = if compare::same(now, was) && compare::same(was, now) {
        format!("{field} is still {now}")
    } else {
        format!("{field} is now {now}")
    };
    let also = match missing.len() {
        1 => String::new(),
        _ => format!(" (and {} too)", missing[1..].join(", ")),
    };
    let method = method(sent.with);
    let wanted = sent.after.get(field).unwrap_or(&null);
    let what = if !compare::is_blank(wanted) {
        format!(
            "it was sent {wanted}; see how this API stores {field} with `custbulk check --write`"
        )
    } else {
        let cause = match sent.body.get(field) {
            None => format!("this API's {method} keeps the fields it is not sent"),
            Some(value) => format!("this API ignores {value} on {method}"),
        };
        format!("{cause}; {}", advice(field, sent, writes))
    };
    format!("the API accepted the {method} but {state}{also}: {what}")
}

/// What to do about a field that cannot be cleared the way it was sent.
pub(super) fn advice(field: &str, sent: &Sent<'_>, writes: &Writes) -> String {
    let flag = match sent.done_as {
        Outcome::Restored => "--restore-with",
        _ => "--update-with",
    };
    let other = match sent.with {
        UpdateWith::Patch => "put",
        UpdateWith::Put => "patch",
    };
    if !writes.known() {
        format!(
            "run `custbulk check --write --save` so custbulk knows how this API clears a \
             field, or use {flag} {other}"
        )
    } else if sent.with == UpdateWith::Patch && writes.put_replaces() {
        format!("leave out {flag} patch: this API's PUT replaces the record, which clears {field}")
    } else if sent.with == UpdateWith::Put
        && writes
            .clearing_value(field, sent.before.get(field))
            .is_some()
    {
        format!("use {flag} patch, which clears {field} on this API")
    } else {
        format!(
            "custbulk knows no way to clear {field} on this API (see `custbulk check --write`); \
             clear it by hand"
        )
    }
}

/// A refusal of `null` in an update (400 or 422 naming a field sent as null), explained: the
/// API's message kept, the advice added.
pub(super) fn explain_refusal(err: ApiError, sent: &Sent<'_>, writes: &Writes) -> ApiError {
    let ApiError::Status {
        status,
        message,
        body,
        retry_after,
    } = err
    else {
        return err;
    };
    let refused_null = sent
        .body
        .iter()
        .find(|(field, value)| value.is_null() && message.contains(field.as_str()));
    let message = match refused_null {
        Some((field, _)) if matches!(status, 400 | 422) => format!(
            "the API refuses null on {} ({message}); {}",
            method(sent.with),
            advice(field, sent, writes)
        ),
        _ => message,
    };
    ApiError::Status {
        status,
        message,
        body,
        retry_after,
    }
}
