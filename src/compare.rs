//! When two customer records are the same, and what differs: the one comparison that import
//! (is a row unchanged?), undo (was it edited since?), the ambiguous-POST rule (is this the
//! customer we sent?) and restore all use.
//!
//! Values compare as the importer reads them: blank forms (`null`, `""`, `[]`, missing) are
//! equal, numbers by value, and objects on the keys the wanted side gives, so sub-document ids
//! or keys the server adds to contacts do not count as a change.

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
/// missing) are equal; contacts compare on the keys the sheet gives, so sub-document ids or
/// extra keys the server adds do not count as a change.
pub fn same(stored: &Value, wanted: &Value) -> bool {
    match (stored, wanted) {
        (a, b) if is_blank(a) && is_blank(b) => true,
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Object(a), Value::Object(b)) => b
            .iter()
            .all(|(k, v)| same(a.get(k).unwrap_or(&Value::Null), v)),
        (a, b) => a == b,
    }
}

fn is_blank(value: &Value) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Record {
        value.as_object().unwrap().clone()
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
}
