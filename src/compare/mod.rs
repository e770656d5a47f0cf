//! When two customer records are the same, and what differs: the one comparison that import
//! (is a row unchanged?), undo (was it edited since?), the ambiguous-POST rule (is this the
//! customer we sent?) and restore all use.
//!
//! Values compare as the importer reads them: blank forms (`null`, `""`, `[]`, missing) are
//! equal, numbers by value, a number or boolean equal to the text a server returned it as
//! (`1000` and `"1000"`, `true` and `"true"`: some APIs store them as strings), and objects on
//! the keys the wanted side gives, so sub-document ids or keys the server adds to contacts do
//! not count as a change.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::api::Record;
use crate::schema;

/// One field an update would change: name, current value, new value.
pub type Change = (String, Value, Value);

/// The fields of `row` whose values differ from `current`.
pub fn changes(row: &Record, current: &Record) -> Vec<Change> {
    row.iter()
        .filter(|(field, new)| !same(current.get(field.as_str()).unwrap_or(&Value::Null), new))
        .map(|(field, new)| {
            (
                field.clone(),
                current.get(field).cloned().unwrap_or(Value::Null),
                new.clone(),
            )
        })
        .collect()
}

/// Whether a stored value already equals what the sheet says. Blank forms (`null`, `""`, `[]`,
/// missing) are equal; a number or boolean equals the same value returned as text, as the
/// importer would read that text; contacts compare on the keys the sheet gives, so
/// sub-document ids or extra keys the server adds do not count as a change.
pub fn same(stored: &Value, wanted: &Value) -> bool {
    match (stored, wanted) {
        (a, b) if is_blank(a) && is_blank(b) => true,
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(text), typed @ (Value::Number(_) | Value::Bool(_)))
        | (typed @ (Value::Number(_) | Value::Bool(_)), Value::String(text)) => {
            same_as_text(typed, text)
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Object(a), Value::Object(b)) => b
            .iter()
            .all(|(k, v)| same(a.get(k).unwrap_or(&Value::Null), v)),
        (a, b) => a == b,
    }
}

/// A number or boolean sent back as text: `"1000"` for 1000, `"true"` for true. Text that the
/// importer would read otherwise (`"01000"`, `" 1000"`, `"1 000"`) is not the same value.
fn same_as_text(typed: &Value, text: &str) -> bool {
    match typed {
        Value::Bool(b) => text == if *b { "true" } else { "false" },
        Value::Number(n) => {
            let canonical = !text.starts_with(['0', '+']) || text == "0" || text.starts_with("0.");
            canonical && text.parse::<f64>().ok() == n.as_f64()
        }
        _ => false,
    }
}

/// `null`, `""`, `[]`: the forms of "no value", all equal to a missing field.
pub fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// `city: "Paris" → "Lyon"; capital: 1000 → 2000`, for plans and reports.
pub fn describe(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|(field, old, new)| format!("{field}: {old} → {new}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Fields that differ between two records in either direction, server-owned fields aside.
pub fn changed_fields(before: &Record, after: &Record) -> Vec<String> {
    after
        .keys()
        .chain(before.keys())
        .filter(|k| !schema::is_server_field(k))
        .filter(|k| !same_field(before, after, k))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Whether `field` holds the same value in both records, whichever side is taken as wanted.
pub fn same_field(a: &Record, b: &Record, field: &str) -> bool {
    let a = a.get(field).unwrap_or(&Value::Null);
    let b = b.get(field).unwrap_or(&Value::Null);
    same(a, b) && same(b, a)
}

/// The record without the fields the server owns: what may be sent back in a body.
pub fn without_server_fields(record: &Record) -> Record {
    record
        .iter()
        .filter(|(k, _)| !schema::is_server_field(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A record as compared between two lists (a backup and the account, two backups): its
/// customer values only, in one canonical form. Server-owned fields and blank values (`null`,
/// `""`, `[]`) are left out; numbers are integers when they are whole; in nested objects
/// (contacts) keys the server adds itself (`_id`) are left out too. Two records that the
/// importer would call the same have equal canonical forms, so comparing them, or their
/// [`fingerprint`]s, needs no further rule. Keys come sorted.
pub fn canonical(record: &Record) -> Vec<(String, Value)> {
    let mut fields: Vec<(String, Value)> = record
        .iter()
        .filter(|(k, _)| !schema::is_server_field(k))
        .filter_map(|(k, v)| canonical_value(v).map(|v| (k.clone(), v)))
        .collect();
    fields.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    fields
}

pub(crate) fn canonical_value(value: &Value) -> Option<Value> {
    if is_blank(value) {
        return None;
    }
    Some(match value {
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9e15 => Value::from(f as i64),
            _ => value.clone(),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| canonical_value(v).unwrap_or(Value::Null))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.starts_with('_'))
                .filter_map(|(k, v)| canonical_value(v).map(|v| (k.clone(), v)))
                .collect::<std::collections::BTreeMap<_, _>>()
                .into_iter()
                .collect(),
        ),
        other => other.clone(),
    })
}

/// The fields whose values differ between two canonical forms: name, old, new (`null` for a
/// field one side lacks).
pub fn differences(old: &[(String, Value)], new: &[(String, Value)]) -> Vec<Change> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < old.len() || j < new.len() {
        let order = match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) => a.0.cmp(&b.0),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match order {
            std::cmp::Ordering::Less => {
                out.push((old[i].0.clone(), old[i].1.clone(), Value::Null));
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push((new[j].0.clone(), Value::Null, new[j].1.clone()));
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                if old[i].1 != new[j].1 {
                    out.push((old[i].0.clone(), old[i].1.clone(), new[j].1.clone()));
                }
                i += 1;
                j += 1;
            }
        }
    }
    out
}

mod fields;
mod identity;

pub(crate) use identity::hash_bytes;
pub use identity::{fingerprint, Identity};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Record {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn canonical_forms_agree_where_the_importer_sees_no_difference() {
        let live = record(
            json!({"_id": "1", "createdAt": "x", "name": "A", "capital": 1000.0,
            "city": "", "street2": null, "contacts": [{"_id": "c1", "name": "Jo", "phone": ""}]}),
        );
        let backup = record(json!({"name": "A", "capital": 1000, "contacts": [{"name": "Jo"}]}));
        assert_eq!(canonical(&live), canonical(&backup));
        assert_eq!(
            fingerprint(&canonical(&live)),
            fingerprint(&canonical(&backup))
        );
        let edited = record(json!({"name": "A", "capital": 2000, "zipCode": "01000"}));
        let found = differences(&canonical(&backup), &canonical(&edited));
        let fields: Vec<_> = found.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(fields, ["capital", "contacts", "zipCode"]);
        assert_eq!(found[1].2, Value::Null, "contacts: gone on the new side");
        assert_ne!(
            fingerprint(&canonical(&backup)),
            fingerprint(&canonical(&edited))
        );
    }

    #[test]
    fn only_real_differences_are_changes() {
        let current = record(
            json!({"_id": "1", "name": "A", "capital": 1000, "city": null,
            "contacts": [{"_id": "c1", "name": "Jo", "email": "jo@x.fr"}]}),
        );
        let same_row = record(json!({"name": "A", "capital": 1000.0, "city": "",
            "contacts": [{"name": "Jo", "email": "jo@x.fr"}]}));
        assert!(changes(&same_row, &current).is_empty());
        let changed = record(
            json!({"name": "B", "zipCode": "01000", "contacts": [{"name": "Jo", "email": "new@x.fr"}]}),
        );
        let fields: Vec<_> = changes(&changed, &current)
            .into_iter()
            .map(|c| c.0)
            .collect();
        assert_eq!(fields, ["name", "zipCode", "contacts"]);
    }

    /// Regression: an API that returns numbers and booleans as strings (`--string-types`) made
    /// every re-import an update and every undo a conflict.
    #[test]
    fn a_value_returned_as_text_is_the_same_value() {
        assert!(same(&json!("1000"), &json!(1000)));
        assert!(same(&json!(1000), &json!("1000")));
        assert!(same(&json!("true"), &json!(true)));
        assert!(same(&json!("0"), &json!(0)));
        assert!(!same(&json!("false"), &json!(true)));
        assert!(
            !same(&json!("01000"), &json!(1000)),
            "a lost zero is a change"
        );
        assert!(!same(&json!("1 000"), &json!(1000)));
        assert!(!same(&json!("1000"), &json!(1001)));
        assert!(!same(&json!("yes"), &json!(true)));
    }
}
