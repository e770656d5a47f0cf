//! Reading what the server answered: a short description of any body for the report, and the
//! classifications the profile keeps (what POST and PATCH answer, what clearing did, whether a
//! value came back as sent).

use serde::Serialize;
use serde_json::{json, Value};

use super::sample;
use crate::api::envelope::{self, body_start};
use crate::api::{self, ApiError, Client, Record};
use crate::profile::{ClearEffect, CreateAnswer, UpdateAnswer, ValueFacts};

/// Keys under which a single record may be wrapped.
const WRAPPERS: &[&str] = &["data", "customer", "doc", "result", "item"];

/// A body as JSON; `None` when empty, `Err` with its start when it is not JSON.
pub fn json(body: &[u8]) -> Result<Option<Value>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|_| body_start(body))
}

/// What came back, in a few words: `empty`, `whole record (13 fields)`, `only the id
/// ({"_id"})`, `{"data": record}`, `list of 3 under "docs"`, `not JSON: ...`.
pub fn describe(client: &Client, body: &[u8]) -> String {
    let value = match json(body) {
        Ok(None) => return "empty".to_owned(),
        Ok(Some(v)) => v,
        Err(start) => return client.redact(format!("not JSON: {}", clip(&start))),
    };
    match &value {
        Value::Object(object) => {
            if let Some(key) = envelope::id_field(object) {
                if object.contains_key("name") {
                    return format!("whole record ({} fields, id in {key:?})", object.len());
                }
                let keys: Vec<String> = object.keys().map(|k| format!("{k:?}")).collect();
                return format!("only the id ({{{}}})", keys.join(", "));
            }
            for key in WRAPPERS {
                if let Some(Value::Object(_)) = object.get(*key) {
                    return format!("record inside {{{key:?}: ...}}");
                }
            }
            match envelope::parse_page(body, None) {
                Ok(page) => format!("list of {} ({})", page.items.len(), page.envelope),
                Err(_) => client.redact(format!("object: {}", clip(&value.to_string()))),
            }
        }
        Value::Array(items) => format!("list of {} (bare array)", items.len()),
        other => client.redact(format!("JSON {}", clip(&other.to_string()))),
    }
}

/// An error as the report's table shows it, beside its status: the server's message.
pub fn describe_error(client: &Client, err: &ApiError) -> String {
    client.redact(match err {
        ApiError::Status { message, .. } => format!("error: {}", clip(message)),
        other => clip(&other.to_string()),
    })
}

/// An error in a sentence: `HTTP 400: message`, key hidden.
pub fn error_words(client: &Client, err: &ApiError) -> String {
    client.redact(clip(&err.to_string()))
}

fn clip(text: &str) -> String {
    let mut out: String = text.chars().take(80).collect();
    if text.chars().nth(80).is_some() {
        out.push('…');
    }
    out
}

/// How a POST answered: its kind, the record it carried (if any), and the id's field there.
pub struct Created {
    pub answer: Option<CreateAnswer>,
    pub id: Option<String>,
    pub id_field: Option<&'static str>,
}

pub fn created(body: &[u8]) -> Created {
    let none = Created {
        answer: None,
        id: None,
        id_field: None,
    };
    let object = match json(body) {
        Ok(None) => {
            return Created {
                answer: Some(CreateAnswer::Empty),
                ..none
            }
        }
        Ok(Some(Value::Object(object))) => object,
        _ => return none,
    };
    let found = |record: &Record, answer| Created {
        answer: Some(answer),
        id: api::record_id(record),
        id_field: envelope::id_field(record),
    };
    if envelope::id_field(&object).is_some() {
        let answer = if object.contains_key("name") {
            CreateAnswer::Record
        } else {
            CreateAnswer::Id
        };
        return found(&object, answer);
    }
    for key in WRAPPERS {
        if let Some(Value::Object(inner)) = object.get(*key) {
            if envelope::id_field(inner).is_some() {
                return found(inner, CreateAnswer::Envelope);
            }
        }
    }
    none
}

/// A single record out of an answer, unwrapped from an envelope if need be.
pub fn record(body: &[u8]) -> Option<Record> {
    match json(body) {
        Ok(Some(value)) => envelope::unwrap_record(value),
        _ => None,
    }
}

/// What a PATCH answered that moved `field` from `before` to `after`.
pub fn updated(body: &[u8], field: &str, before: &str, after: &str) -> Option<UpdateAnswer> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Some(UpdateAnswer::Empty);
    }
    let record = record(body)?;
    match record.get(field).and_then(Value::as_str) {
        Some(v) if v == after => Some(UpdateAnswer::New),
        Some(v) if v == before => Some(UpdateAnswer::Old),
        _ => None,
    }
}

/// What sending a clearing value did to `field`, which held `before`, as read back.
pub fn cleared(read_back: &Record, field: &str, before: &str) -> Option<ClearEffect> {
    match read_back.get(field) {
        None | Some(Value::Null) => Some(ClearEffect::Clears),
        Some(Value::String(s)) if s.is_empty() => Some(ClearEffect::StoresEmpty),
        Some(Value::String(s)) if s == before => Some(ClearEffect::Ignored),
        _ => None,
    }
}

/// One value sent and what came back.
#[derive(Debug, Clone, Serialize)]
pub struct ValueCheck {
    pub what: &'static str,
    pub field: &'static str,
    pub sent: Value,
    pub got: Value,
    pub as_sent: bool,
}

/// Compares what came back for the probe's record with what was sent.
pub fn values(sent: &Record, got: &Record) -> (Vec<ValueCheck>, ValueFacts) {
    let keys = |v: Option<&Value>| -> Option<Vec<String>> {
        let first = v?.as_array()?.first()?.as_object()?;
        let mut keys: Vec<String> = first.keys().cloned().collect();
        keys.sort();
        Some(keys)
    };
    let check = |what, field: &'static str, as_sent: bool| ValueCheck {
        what,
        field,
        sent: sent.get(field).cloned().unwrap_or(Value::Null),
        got: got.get(field).cloned().unwrap_or(Value::Null),
        as_sent,
    };
    let capital = got.get("capital").and_then(Value::as_i64) == Some(sample::CAPITAL)
        && got.get("capital").is_some_and(Value::is_number);
    let checks = vec![
        check("capital as a number", "capital", capital),
        check(
            "zipCode 01000 with its zero",
            "zipCode",
            got.get("zipCode") == Some(&json!(sample::ZIP_CODE)),
        ),
        check(
            "contacts with the same keys",
            "contacts",
            keys(sent.get("contacts")).is_some()
                && keys(sent.get("contacts")) == keys(got.get("contacts")),
        ),
        check(
            "isCompany as a boolean",
            "isCompany",
            got.get("isCompany") == Some(&json!(true)),
        ),
        check(
            "name_ar byte for byte",
            "name_ar",
            got.get("name_ar") == sent.get("name_ar"),
        ),
        check(
            "address_ar byte for byte",
            "address_ar",
            got.get("address_ar") == sent.get("address_ar"),
        ),
    ];
    let facts = ValueFacts {
        capital_as_number: checks[0].as_sent,
        zip_code_keeps_zeros: checks[1].as_sent,
        contacts_keep_keys: checks[2].as_sent,
        is_company_as_boolean: checks[3].as_sent,
        arabic_unchanged: checks[4].as_sent && checks[5].as_sent,
    };
    (checks, facts)
}

/// The fields the server added to what it was sent, ids aside.
pub fn server_fields(sent: &Record, got: &Record) -> Vec<String> {
    got.keys()
        .filter(|k| !sent.contains_key(*k) && *k != "_id" && *k != "id")
        .cloned()
        .collect()
}

/// Fields a refused POST names (in an `errors` map or list of `{field|path|param}`) that the
/// body did not carry: the server requires them.
pub fn missing_fields(err: &ApiError, sent: &Record) -> Vec<String> {
    let Some(Ok(Some(body))) = err.body().map(|b| json(b.as_bytes())) else {
        return Vec::new();
    };
    let named: Vec<String> = match body.get("errors") {
        Some(Value::Object(map)) => map.keys().cloned().collect(),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|e| {
                ["field", "path", "param"]
                    .iter()
                    .find_map(|k| e.get(*k).and_then(Value::as_str))
                    .map(str::to_owned)
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut missing: Vec<String> = named
        .into_iter()
        .filter(|f| !sent.contains_key(f) || sent[f].is_null())
        .collect();
    missing.sort();
    missing.dedup();
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_answers_are_told_apart() {
        let kind = |s: &str| created(s.as_bytes()).answer;
        assert_eq!(kind(""), Some(CreateAnswer::Empty));
        assert_eq!(
            kind(r#"{"_id":"a","name":"n"}"#),
            Some(CreateAnswer::Record)
        );
        assert_eq!(kind(r#"{"id":"a"}"#), Some(CreateAnswer::Id));
        let wrapped = created(br#"{"data":{"_id":"a","name":"n"}}"#);
        assert_eq!(wrapped.answer, Some(CreateAnswer::Envelope));
        assert_eq!(wrapped.id.as_deref(), Some("a"));
        assert_eq!(kind(r#"{"ok":true}"#), None);
        assert_eq!(kind(r#"{"_id":"a","na"#), None);
    }

    #[test]
    fn patch_answers_and_clearing_are_told_apart() {
        assert_eq!(
            updated(b"", "city", "Lyon", "Paris"),
            Some(UpdateAnswer::Empty)
        );
        let new = br#"{"_id":"a","city":"Paris"}"#;
        assert_eq!(
            updated(new, "city", "Lyon", "Paris"),
            Some(UpdateAnswer::New)
        );
        let old = br#"{"data":{"_id":"a","city":"Lyon"}}"#;
        assert_eq!(
            updated(old, "city", "Lyon", "Paris"),
            Some(UpdateAnswer::Old)
        );
        let record = |v: Value| v.as_object().unwrap().clone();
        let read = |v| cleared(&record(v), "city", "Lyon");
        assert_eq!(read(json!({})), Some(ClearEffect::Clears));
        assert_eq!(read(json!({"city": null})), Some(ClearEffect::Clears));
        assert_eq!(read(json!({"city": ""})), Some(ClearEffect::StoresEmpty));
        assert_eq!(read(json!({"city": "Lyon"})), Some(ClearEffect::Ignored));
        assert_eq!(read(json!({"city": "?"})), None);
    }
}
