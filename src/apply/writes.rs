//! What custbulk knows about how this API's writes behave, and the bodies that follows from.
//!
//! The vendor documents no answer at all. Without an API profile custbulk assumes only what it
//! can check: it sends `null` to clear a field and reads each answer (or the customer, read
//! back) to see that a change took. With a profile (`custbulk check --write --save`) it knows
//! what POST and PATCH answer, whether PUT replaces or merges, and how a field is cleared, so
//! it sends the body that works on this API: `""` where `null` is ignored, a PUT of the whole
//! record where nothing in a PATCH clears a field. A field the target record does not have at
//! all (undo of an update that added it, a restore to a backup without it) is removed, not
//! emptied: `null` where that clears, else a PUT of the whole record where PUT replaces; where
//! no verb removes a field, it is left empty and the step says so. [`Writes::update_to`] builds
//! that body for every producer (undo, restore, import's updates); a flag (`--update-with`,
//! `--restore-with`) still wins over the profile.

use serde_json::Value;

use super::{Change, UpdateWith};
use crate::api::Record;
use crate::compare;
use crate::profile::{self, ClearWith, CreateAnswer, PutEffect, UpdateAnswer, WriteFacts};
use crate::schema::{self, Kind};

/// How this API's writes behave, from the API profile; nothing known without one.
#[derive(Debug, Clone, Default)]
pub struct Writes {
    /// What `check --write` found; `None` without a profile made by a write probe.
    facts: Option<WriteFacts>,
}

impl Writes {
    /// What the profile's round trip found, if it made one.
    pub fn from_profile(profile: Option<&profile::Profile>) -> Writes {
        Writes {
            facts: profile.and_then(|p| p.writes.clone()),
        }
    }

    /// Whether a write probe told custbulk how this API's writes behave.
    pub fn known(&self) -> bool {
        self.facts.is_some()
    }

    /// What a PATCH or PUT answers, when the profile says.
    pub fn update_answer(&self) -> Option<UpdateAnswer> {
        self.facts.as_ref()?.patch_answer
    }

    /// What a POST answers, when the profile says.
    pub fn create_answer(&self) -> Option<CreateAnswer> {
        self.facts.as_ref()?.create_answer
    }

    fn put(&self) -> Option<PutEffect> {
        self.facts.as_ref()?.put
    }

    /// Whether a PUT leaves out of the record what its body leaves out.
    pub fn put_replaces(&self) -> bool {
        self.put() == Some(PutEffect::Replace)
    }

    /// Whether a PATCH can remove a field (send it `null`), rather than only empty it (`""`).
    /// Without a profile, `null` is assumed to.
    fn patch_removes(&self) -> bool {
        self.facts
            .as_ref()
            .is_none_or(|f| matches!(f.clear_with, Some(ClearWith::Null) | None))
    }

    /// The profile's choice between PATCH and PUT for updates.
    fn preferred(&self) -> Option<UpdateWith> {
        Some(match self.facts.as_ref()?.update_with? {
            profile::UpdateWith::Patch => UpdateWith::Patch,
            profile::UpdateWith::Put => UpdateWith::Put,
        })
    }

    /// The fields the API refused a POST without (as `check --write` found) that `body` lacks.
    pub fn required_missing(&self, body: &Record) -> Vec<String> {
        let Some(facts) = &self.facts else {
            return Vec::new();
        };
        facts
            .required_fields
            .iter()
            .filter(|f| compare::is_blank(body.get(f.as_str()).unwrap_or(&Value::Null)))
            .cloned()
            .collect()
    }

    /// One line for `-v`: what the profile changes in how writes are sent and checked.
    pub fn describe(&self) -> Option<String> {
        let facts = self.facts.as_ref()?;
        let answer = match facts.patch_answer {
            Some(UpdateAnswer::New) => "updates are confirmed from their answer",
            Some(_) => "updates are confirmed by reading the customer back",
            None => "updates are confirmed from their answer when it shows them",
        };
        let clear = match facts.clear_with {
            Some(ClearWith::Null) | None => "fields are cleared with null",
            Some(ClearWith::Empty) => "fields are cleared with \"\" (text) or a PUT",
            Some(ClearWith::Put) => "fields are cleared with a PUT of the whole record",
            Some(ClearWith::None) => "no way to clear a field is known",
        };
        Some(format!("{answer}; {clear}"))
    }

    /// The value that clears `field` (now `current`) in a PATCH on this API; `None` when no
    /// PATCH value does, so only a replacing PUT can.
    pub fn clearing_value(&self, field: &str, current: Option<&Value>) -> Option<Value> {
        let Some(facts) = &self.facts else {
            return Some(Value::Null);
        };
        match facts.clear_with {
            Some(ClearWith::Null) | None => Some(Value::Null),
            Some(ClearWith::Empty) => {
                let kind = schema::field(field).map(|f| f.kind);
                match (kind, current) {
                    (Some(Kind::Text), _) | (None, Some(Value::String(_))) => {
                        Some(Value::String(String::new()))
                    }
                    (Some(Kind::Contacts), _) | (None, Some(Value::Array(_))) => {
                        Some(Value::Array(Vec::new()))
                    }
                    _ => None,
                }
            }
            Some(ClearWith::Put | ClearWith::None) => None,
        }
    }

    /// The change that makes customer `id`, now `current`, equal to `target`: each field that
    /// differs set to `target`'s value, each field `target` lacks (or holds blank) cleared the
    /// way this API clears, by PATCH unless `with` (a flag) or the profile says PUT, or a field
    /// can be cleared only by a replacing PUT. `None` when nothing differs. What restore and
    /// undo send, and import's updates.
    pub fn update_to(
        &self,
        id: &str,
        current: &Record,
        target: &Record,
        with: Option<UpdateWith>,
    ) -> Option<Change> {
        let wanted = sendable(target);
        let mut set = Record::new();
        // Fields to clear, with the blank value `target` gives (None: it lacks the field).
        let mut clear: Vec<(String, Option<Value>)> = Vec::new();
        for (field, value) in differing(current, &wanted) {
            match value {
                Some(v) if !compare::is_blank(v) => {
                    set.insert(field.clone(), v.clone());
                }
                given => clear.push((field.clone(), given.cloned())),
            }
        }
        if set.is_empty() && clear.is_empty() {
            return None;
        }
        // Fields `target` does not have at all, which a PATCH here can only empty.
        let only_emptied: Vec<String> = clear
            .iter()
            .filter(|(_, given)| given.is_none() && !self.patch_removes())
            .map(|(field, _)| field.clone())
            .collect();
        let clearing: Vec<(String, Option<Value>)> = clear
            .into_iter()
            .map(|(field, given)| {
                let value = match (self.known(), given) {
                    // Without a profile a blank is sent as given.
                    (false, Some(given)) => Some(given),
                    _ => self.clearing_value(&field, current.get(&field)),
                };
                (field, value)
            })
            .collect();
        let unclearable = clearing.iter().any(|(_, v)| v.is_none());
        let with = match with {
            Some(flag) => flag,
            None if (unclearable || !only_emptied.is_empty()) && self.put_replaces() => {
                UpdateWith::Put
            }
            None => self.preferred().unwrap_or(UpdateWith::Patch),
        };
        let merges = self.put() == Some(PutEffect::Merge);
        let removes = match with {
            UpdateWith::Patch => false,
            UpdateWith::Put => !merges,
        };
        let note = (!removes && !only_emptied.is_empty()).then(|| {
            format!(
                "{} left empty: this API cannot remove a field",
                only_emptied.join(", ")
            )
        });
        let body = match with {
            UpdateWith::Patch => {
                let mut body = set;
                body.extend(
                    clearing
                        .into_iter()
                        .map(|(f, v)| (f, v.unwrap_or_default())),
                );
                body
            }
            UpdateWith::Put => {
                let mut body = wanted;
                for (field, value) in clearing {
                    // A replacing PUT clears what it leaves out; a merging one must be sent it.
                    if let Some(given) = body.get_mut(&field) {
                        if let Some(value) = value {
                            *given = value;
                        }
                    } else if merges {
                        body.insert(field, value.unwrap_or_default());
                    }
                }
                body
            }
        };
        Some(Change::Update {
            id: id.to_string(),
            body,
            with,
            before: current.clone(),
            after: target.clone(),
            note,
        })
    }
}

/// The fields whose values differ between `current` and `wanted`, customer fields only, with
/// `wanted`'s value (`None` where `wanted` lacks a field `current` holds). Values compare as
/// the importer reads them ([`compare::same`]).
pub fn differing<'a>(current: &Record, wanted: &'a Record) -> Vec<(String, Option<&'a Value>)> {
    let customer = |field: &String| !schema::is_server_field(field);
    let mut fields: Vec<(String, Option<&Value>)> = wanted
        .iter()
        .filter(|(field, _)| customer(field))
        .filter(|(field, value)| !compare::same(current.get(*field).unwrap_or(&Value::Null), value))
        .map(|(field, value)| (field.clone(), Some(value)))
        .collect();
    fields.extend(
        current
            .iter()
            .filter(|(field, value)| {
                customer(field) && !compare::is_blank(value) && !wanted.contains_key(*field)
            })
            .map(|(field, _)| (field.clone(), None)),
    );
    fields
}

/// A record as it may be sent back: without the fields the server owns, and with `capital`,
/// `unNumber` and `isCompany` in the documented types where a server returned them as text
/// (`"1000"`, `"true"`), which it would refuse in a body.
pub fn sendable(record: &Record) -> Record {
    let mut body = compare::without_server_fields(record);
    for (field, value) in body.iter_mut() {
        let Value::String(text) = value else {
            continue;
        };
        let typed = match schema::field(field).map(|f| f.kind) {
            Some(Kind::Integer) => text.parse::<i64>().ok().map(Value::from),
            Some(Kind::Boolean) => text.parse::<bool>().ok().map(Value::Bool),
            _ => None,
        };
        if let Some(typed) = typed.filter(|t| compare::same(t, value)) {
            *value = typed;
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{ClearEffect, Probe, Profile};
    use serde_json::json;

    fn record(value: Value) -> Record {
        value.as_object().unwrap().clone()
    }

    fn profile(clear_with: ClearWith, put: PutEffect) -> Writes {
        let mut p = Profile::new("http://127.0.0.1:1/api/v2", Probe::Write);
        p.writes = Some(WriteFacts {
            patch_answer: Some(UpdateAnswer::Old),
            put: Some(put),
            null_on_patch: Some(ClearEffect::Ignored),
            empty_on_patch: Some(ClearEffect::StoresEmpty),
            clear_with: Some(clear_with),
            update_with: Some(profile::UpdateWith::Patch),
            ..WriteFacts::default()
        });
        Writes::from_profile(Some(&p))
    }

    fn parts(change: Change) -> (UpdateWith, Value) {
        match change {
            Change::Update { with, body, .. } => (with, Value::Object(body)),
            other => panic!("{other:?}"),
        }
    }

    fn current() -> Record {
        record(
            json!({"_id": "1", "updatedAt": "x", "name": "A", "city": "Lyon",
            "zipCode": "01000", "capital": "2000"}),
        )
    }

    #[test]
    fn without_a_profile_changed_fields_are_patched_and_absent_ones_sent_as_null() {
        let target = record(json!({"name": "A", "city": "Paris", "capital": 2000}));
        let change = Writes::default().update_to("1", &current(), &target, None);
        let (with, body) = parts(change.unwrap());
        assert_eq!(with, UpdateWith::Patch);
        assert_eq!(body, json!({"city": "Paris", "zipCode": null}));
        let same = record(json!({"name": "A", "city": "Lyon", "zipCode": "01000",
            "capital": 2000}));
        assert!(Writes::default()
            .update_to("1", &current(), &same, None)
            .is_none());
    }

    #[test]
    fn where_null_is_ignored_text_is_cleared_with_empty_and_the_rest_by_a_replacing_put() {
        let writes = profile(ClearWith::Empty, PutEffect::Replace);
        let target = record(json!({"name": "A", "city": "Lyon", "capital": "2000", "zipCode": ""}));
        let (with, body) = parts(writes.update_to("1", &current(), &target, None).unwrap());
        assert_eq!((with, body), (UpdateWith::Patch, json!({"zipCode": ""})));

        let target = record(json!({"name": "A", "city": "Lyon"}));
        let (with, body) = parts(writes.update_to("1", &current(), &target, None).unwrap());
        assert_eq!(
            with,
            UpdateWith::Put,
            "capital cannot be cleared by a PATCH"
        );
        assert_eq!(body, json!({"name": "A", "city": "Lyon"}));

        let forced = writes.update_to("1", &current(), &target, Some(UpdateWith::Patch));
        let (with, body) = parts(forced.unwrap());
        assert_eq!(with, UpdateWith::Patch, "the flag wins");
        assert_eq!(body, json!({"zipCode": "", "capital": null}));
    }

    fn note(change: &Change) -> Option<&str> {
        match change {
            Change::Update { note, .. } => note.as_deref(),
            other => panic!("{other:?}"),
        }
    }

    /// Issue 23: where `null` is ignored, a field the target does not have (undo of an update
    /// that added it) was emptied with `""` and left there. It is removed where PUT replaces,
    /// and said where no verb can remove it.
    #[test]
    fn a_field_the_target_lacks_is_removed_by_a_replacing_put_or_said_to_be_left_empty() {
        let current = record(json!({"_id": "1", "name": "A", "city": "Paris", "street2": "B"}));
        let target = record(json!({"name": "A", "city": "Lyon"}));
        let replace = profile(ClearWith::Empty, PutEffect::Replace);
        let change = replace.update_to("1", &current, &target, None).unwrap();
        assert_eq!(note(&change), None);
        let (with, body) = parts(change);
        assert_eq!(
            (with, body),
            (UpdateWith::Put, json!({"name": "A", "city": "Lyon"}))
        );

        let merge = profile(ClearWith::Empty, PutEffect::Merge);
        let change = merge.update_to("1", &current, &target, None).unwrap();
        assert_eq!(
            note(&change),
            Some("street2 left empty: this API cannot remove a field")
        );
        let (with, body) = parts(change);
        assert_eq!(
            (with, body),
            (UpdateWith::Patch, json!({"city": "Lyon", "street2": ""}))
        );

        // A blank the target does have is an empty field, exact as sent; and where null
        // clears, a PATCH removes.
        let blank = record(json!({"name": "A", "city": "Lyon", "street2": ""}));
        let change = replace.update_to("1", &current, &blank, None).unwrap();
        assert_eq!(note(&change), None);
        assert_eq!(parts(change).0, UpdateWith::Patch);
        let nulls = profile(ClearWith::Null, PutEffect::Merge);
        let change = nulls.update_to("1", &current, &target, None).unwrap();
        assert_eq!(note(&change), None);
        assert_eq!(parts(change).1, json!({"city": "Lyon", "street2": null}));
    }

    #[test]
    fn a_merging_put_is_sent_the_clearing_values_and_text_comes_back_typed() {
        let writes = profile(ClearWith::Empty, PutEffect::Merge);
        let target = record(json!({"name": "A", "capital": "3000"}));
        let change = writes.update_to("1", &current(), &target, Some(UpdateWith::Put));
        let (_, body) = parts(change.unwrap());
        assert_eq!(
            body,
            json!({"name": "A", "capital": 3000, "city": "", "zipCode": ""})
        );
        assert_eq!(
            Value::Object(sendable(&record(
                json!({"isCompany": "true", "zipCode": "01000",
                "capital": "01000", "_id": "1"})
            ))),
            json!({"isCompany": true, "zipCode": "01000", "capital": "01000"})
        );
    }
}
